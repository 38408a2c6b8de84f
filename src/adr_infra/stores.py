"""The checkpoint store port, its registry, and the in-memory store.

A store saves and loads :class:`~adr_infra.checkpoint.Checkpoint` values at
locations. The backend is chosen from the location: a ``scheme://`` prefix
when there is one (``torch://``, ``hdf5://``, ``memory://``, ``file://``), else
the file suffix (``.pth``/``.pt``: :class:`~adr_infra.torch_store.TorchStore`,
``.h5``/``.hdf5``: :class:`~adr_infra.hdf5_store.Hdf5Store`). Third parties add
backends with :func:`register_store`. Stores are created on first use, so an
optional dependency (h5py) is imported only when its store is used.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch

from adr_infra.checkpoint import Checkpoint, encode_payload
from adr_infra.errors import CheckpointNotFoundError, UnknownFormatError
from adr_infra.paths import PathLike
from adr_infra.payload import decode_payload

__all__ = [
    "CheckpointStore",
    "MemoryStore",
    "StoreFactory",
    "checkpoint_suffixes",
    "known_schemes",
    "load_checkpoint",
    "register_store",
    "resolve_location",
    "save_checkpoint",
    "store_for",
    "unregister_store",
]


@runtime_checkable
class CheckpointStore(Protocol):
    """Where checkpoints are kept.

    Contract (checked for every backend by the same test suite):

    * ``load(path)`` after ``save(path, c)`` returns a checkpoint with the same
      content and metadata as ``c`` (bit for bit); saving again replaces it.
    * ``save`` is atomic: a reader, or a process killed during ``save``, sees
      the previous checkpoint or the new one, never a part of either.
    * ``load`` of a missing location raises
      :class:`~adr_infra.errors.CheckpointNotFoundError`; of damaged or foreign
      content, :class:`~adr_infra.errors.CorruptCheckpointError`; never a
      partially loaded checkpoint.
    * ``exists(path)`` is True exactly when something was saved there.
    """

    def save(self, path: PathLike, checkpoint: Checkpoint) -> None:
        """Write ``checkpoint`` at ``path``, replacing what was there."""
        ...

    def load(self, path: PathLike) -> Checkpoint:
        """Read the checkpoint at ``path``."""
        ...

    def exists(self, path: PathLike) -> bool:
        """Whether a checkpoint is stored at ``path``."""
        ...


StoreFactory = Callable[[], CheckpointStore]


class _Lazy:
    """A store built on first use."""

    def __init__(self, factory: StoreFactory) -> None:
        self._factory = factory
        self._store: CheckpointStore | None = None
        self._lock = threading.Lock()

    def get(self) -> CheckpointStore:
        with self._lock:
            if self._store is None:
                self._store = self._factory()
            return self._store


_SUFFIXES: dict[str, _Lazy] = {}
_SCHEMES: dict[str, _Lazy] = {}
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.DOTALL)
_FILE_SCHEME = "file"


def register_store(
    store: CheckpointStore | StoreFactory,
    *,
    suffixes: Iterable[str] = (),
    schemes: Iterable[str] = (),
    replace: bool = False,
) -> None:
    """Make a backend available for locations with these suffixes or schemes.

    Args:
        store: a store, or a class / zero-argument callable that builds one on
            first use (so its dependencies are imported only then).
        suffixes: file suffixes, with the dot (``".ckpt"``); case-insensitive.
        schemes: URI schemes without ``://`` (``"s3"``); ``file`` is reserved.
        replace: allow taking over a suffix or scheme that is already registered.

    Raises:
        ValueError: a malformed suffix or scheme, or one already registered
            (without ``replace``).
    """
    if isinstance(store, type) or not isinstance(store, CheckpointStore):
        if not callable(store):
            raise ValueError(f"store: expected a CheckpointStore or a factory, got {store!r}")
        lazy = _Lazy(store)
    else:
        instance = store
        lazy = _Lazy(lambda: instance)
    new_suffixes = [_check_suffix(s) for s in suffixes]
    new_schemes = [_check_scheme(s) for s in schemes]
    if not new_suffixes and not new_schemes:
        raise ValueError("register_store: give at least one suffix or scheme")
    if not replace:
        taken = [s for s in new_suffixes if s in _SUFFIXES]
        taken += [f"{s}://" for s in new_schemes if s in _SCHEMES]
        if taken:
            raise ValueError(
                f"register_store: already registered: {', '.join(taken)} (pass replace=True)"
            )
    for suffix in new_suffixes:
        _SUFFIXES[suffix] = lazy
    for scheme in new_schemes:
        _SCHEMES[scheme] = lazy


def unregister_store(*, suffixes: Iterable[str] = (), schemes: Iterable[str] = ()) -> None:
    """Forget the backends of these suffixes and schemes (unknown ones are ignored)."""
    for suffix in suffixes:
        _SUFFIXES.pop(suffix.lower(), None)
    for scheme in schemes:
        _SCHEMES.pop(scheme.lower(), None)


def _check_suffix(suffix: str) -> str:
    if not re.fullmatch(r"\.[A-Za-z0-9][A-Za-z0-9._-]*", suffix):
        raise ValueError(f"suffixes: expected something like '.pth', got {suffix!r}")
    return suffix.lower()


def _check_scheme(scheme: str) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        raise ValueError(f"schemes: expected something like 's3', got {scheme!r}")
    if scheme.lower() == _FILE_SCHEME:
        raise ValueError("schemes: 'file' is reserved (file:// picks the store by suffix)")
    return scheme.lower()


def checkpoint_suffixes() -> tuple[str, ...]:
    """Registered file suffixes, sorted (what run-directory discovery looks for)."""
    return tuple(sorted(_SUFFIXES))


def known_schemes() -> tuple[str, ...]:
    """Registered URI schemes (plus ``file``), sorted."""
    return tuple(sorted({*_SCHEMES, _FILE_SCHEME}))


def _known() -> str:
    return (
        f"known suffixes: {', '.join(checkpoint_suffixes()) or 'none'}; "
        f"known schemes: {', '.join(s + '://' for s in known_schemes())}"
    )


def resolve_location(path: PathLike) -> tuple[CheckpointStore, str]:
    """The store for ``path`` and the location to pass it (``scheme://`` removed).

    Raises:
        UnknownFormatError: no store handles the scheme or suffix (the message
            lists the known ones).
    """
    text = os.fspath(path)
    match = _SCHEME_RE.match(text)
    if match is not None:
        scheme, rest = match.group(1).lower(), match.group(2)
        if scheme != _FILE_SCHEME:
            lazy = _SCHEMES.get(scheme)
            if lazy is None:
                raise UnknownFormatError(text, f"unknown scheme '{scheme}://'; {_known()}")
            return lazy.get(), rest
        text = rest
    suffix = Path(text).suffix.lower()
    lazy = _SUFFIXES.get(suffix)
    if lazy is None:
        what = f"unknown checkpoint suffix {suffix!r}" if suffix else "no file suffix"
        raise UnknownFormatError(text, f"{what}; {_known()}")
    return lazy.get(), text


def store_for(path: PathLike) -> CheckpointStore:
    """The store that handles ``path`` (see :func:`resolve_location`)."""
    return resolve_location(path)[0]


def save_checkpoint(path: PathLike, checkpoint: Checkpoint) -> None:
    """Save with the store chosen from ``path`` (atomic; see :class:`CheckpointStore`)."""
    store, location = resolve_location(path)
    store.save(location, checkpoint)


def load_checkpoint(path: PathLike) -> Checkpoint:
    """Load with the store chosen from ``path``.

    Raises:
        CheckpointError: a subclass naming the file and the problem (missing,
            unknown format, corrupted, unsafe, unsupported version).
    """
    store, location = resolve_location(path)
    return store.load(location)


def _clone(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_clone(v) for v in value)
    return value


class MemoryStore:
    """Checkpoints kept in this process, for tests of the outer layers.

    It keeps the encoded payload (with its checksum) of each checkpoint, as a
    file store would, and copies tensors in and out, so later changes to a
    saved or loaded checkpoint do not leak. Locations are plain strings (a
    leading ``memory://`` is ignored).
    """

    def __init__(self) -> None:
        self._items: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(path: PathLike) -> str:
        text = os.fspath(path)
        return text[len("memory://") :] if text.startswith("memory://") else text

    def save(self, path: PathLike, checkpoint: Checkpoint) -> None:
        """Keep a copy of ``checkpoint`` under ``path``."""
        payload = _clone(encode_payload(checkpoint))
        with self._lock:
            self._items[self._key(path)] = payload

    def load(self, path: PathLike) -> Checkpoint:
        """A copy of the checkpoint saved under ``path``.

        Raises:
            CheckpointNotFoundError: nothing was saved there.
        """
        key = self._key(path)
        with self._lock:
            payload = self._items.get(key)
        if payload is None:
            raise CheckpointNotFoundError(f"memory://{key}", "no checkpoint saved at this location")
        return decode_payload(_clone(payload), f"memory://{key}", require_meta=True)

    def exists(self, path: PathLike) -> bool:
        """Whether a checkpoint was saved under ``path``."""
        with self._lock:
            return self._key(path) in self._items

    def delete(self, path: PathLike) -> None:
        """Forget the checkpoint under ``path`` (no error if there is none)."""
        with self._lock:
            self._items.pop(self._key(path), None)

    def locations(self) -> list[str]:
        """Every location holding a checkpoint, sorted."""
        with self._lock:
            return sorted(self._items)


def _torch_store() -> CheckpointStore:
    from adr_infra.torch_store import TorchStore

    return TorchStore()


def _hdf5_store() -> CheckpointStore:
    from adr_infra.hdf5_store import Hdf5Store

    return Hdf5Store()


register_store(_torch_store, suffixes=(".pth", ".pt"), schemes=("torch",))
register_store(_hdf5_store, suffixes=(".h5", ".hdf5"), schemes=("hdf5",))
register_store(MemoryStore, schemes=("memory",))
