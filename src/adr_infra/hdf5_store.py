"""The HDF5 store: the checkpoint payload as groups and datasets, no pickle anywhere.

The file's root group is the payload dict (see :mod:`adr_infra.checkpoint`):

========== ======== =======================================================
adr_type   object   content
========== ======== =======================================================
(none)     dataset  a tensor: its values, shape and numpy dtype; attribute
                    ``adr_dtype`` only for ``bfloat16``/``float8`` types,
                    stored as same-width integers and viewed back
``packed`` dataset  a dict, list or tuple that holds no tensor, as one
                    fixed-length UTF-8 JSON text (:mod:`adr_infra.packed`)
``dict``   group    one member per key, in insertion order
``list``,  group    members ``0``, ``1``, ... (a container holding tensors)
``tuple``
``int``,   dataset  scalar int64, float64, bool
``float``,
``bool``
``str``    dataset  scalar fixed-length UTF-8 string (strings holding NUL:
                    uint8 bytes, attribute ``adr_encoding = "utf-8 bytes"``)
``none``   dataset  empty (null dataspace)
========== ======== =======================================================

Member names are the keys, percent-encoded where HDF5 needs it (``/``, ``%``,
a leading ``.``; ``""`` is ``%``); integer keys (torch optimizer states) are
``%i<n>``. ``h5dump`` shows everything; plain ``h5py`` reads it back.

Packing the tensor-free containers (metadata, ADR config, optimizer settings,
the Isaac adapter's ``adr_params``) makes a checkpoint a few dozen HDF5 objects
instead of hundreds: HDF5's time goes with the number of objects. Files written
before packing (every container a group, lists of primitives 1-D datasets with
``adr_elem``, tensors tagged ``adr_type = "tensor"``) are still read.

The file is built in memory (HDF5's ``core`` driver) and written with plain OS
calls: a full disk or a denied permission is an exception naming the file,
never a crash inside the HDF5 library while it closes a file. Strings are
fixed-length, never variable-length (a damaged variable-length string can
make the HDF5 library loop forever). h5py is imported on first use.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import numpy as np
import torch

from adr_infra.checkpoint import Checkpoint, encode_payload
from adr_infra.errors import (
    CheckpointError,
    CorruptCheckpointError,
    TreeError,
)
from adr_infra.packed import PackError, holds_tensor, pack, unpack
from adr_infra.paths import PathLike
from adr_infra.payload import checkpoint_file, decode_payload, write_checkpoint_file

__all__ = ["Hdf5Store", "decode_key", "encode_key"]


TYPE_ATTR = "adr_type"
ELEM_ATTR = "adr_elem"
DTYPE_ATTR = "adr_dtype"
ENCODING_ATTR = "adr_encoding"
_NUL_ENCODING = "utf-8 bytes"
_SAFE_CHARS = " !$&'()*+,:;=@[]^{|}<>#?`\""

_DTYPES = {
    str(dt).removeprefix("torch."): dt for dt in vars(torch).values() if isinstance(dt, torch.dtype)
}
# Torch dtypes numpy has no type for, stored as the integer dtype of the same width.
_VIEW_AS = {
    dtype: width
    for name, width in (
        ("bfloat16", torch.int16),
        ("complex32", torch.int32),
        ("float8_e4m3fn", torch.uint8),
        ("float8_e5m2", torch.uint8),
        ("float8_e4m3fnuz", torch.uint8),
        ("float8_e5m2fnuz", torch.uint8),
        ("float8_e8m0fnu", torch.uint8),
    )
    if isinstance(dtype := getattr(torch, name, None), torch.dtype)
}


def _h5py() -> Any:
    import h5py

    return h5py


def encode_key(key: str | int) -> str:
    """The HDF5 member name of a dict key."""
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise TypeError(f"dict keys must be str or int, got {key!r}")
    if isinstance(key, int):
        return f"%i{key}"
    if key == "":
        return "%"
    name = quote(key, safe=_SAFE_CHARS)
    if name.startswith("."):
        name = "%2E" + name[1:]
    return name


def decode_key(name: str) -> str | int:
    """The dict key of an HDF5 member name (inverse of :func:`encode_key`)."""
    if name == "%":
        return ""
    if name.startswith("%i"):
        return int(name[2:])
    return unquote(name, errors="strict")


def _fixed_str(h5py: Any, value: bytes) -> np.ndarray:
    """A scalar fixed-length UTF-8 string."""
    return np.array(value, dtype=h5py.string_dtype("utf-8", max(len(value), 1)))


def _set_attr(obj: Any, name: str, value: str) -> None:
    obj.attrs.create(name, _fixed_str(_h5py(), value.encode("utf-8")))


def _write_packed(group: Any, name: str, value: Any) -> None:
    ds = group.create_dataset(name, data=_fixed_str(_h5py(), pack(value)))
    _set_attr(ds, TYPE_ATTR, "packed")


def _write_container(
    group: Any, name: str, value: dict[Any, Any] | list[Any] | tuple[Any, ...]
) -> None:
    sub = group.create_group(name, track_order=True)
    if isinstance(value, dict):
        _set_attr(sub, TYPE_ATTR, "dict")
        for key, item in value.items():
            _write(sub, encode_key(key), item)
        return
    _set_attr(sub, TYPE_ATTR, "tuple" if isinstance(value, tuple) else "list")
    for i, item in enumerate(value):
        _write(sub, str(i), item)


def _write_tensor(group: Any, name: str, value: torch.Tensor) -> None:
    """A plain dataset; ``adr_dtype`` only where numpy has no type for the torch dtype."""
    tensor = value.detach().cpu().contiguous()
    viewed = tensor.dtype in _VIEW_AS
    try:
        data = (tensor.view(_VIEW_AS[tensor.dtype]) if viewed else tensor).numpy()
    except (RuntimeError, TypeError):
        raise TreeError(
            f"{group.name}/{name}: {tensor.dtype} tensors cannot be stored in HDF5"
        ) from None
    ds = group.create_dataset(name, data=data)
    if viewed:
        _set_attr(ds, DTYPE_ATTR, str(tensor.dtype).removeprefix("torch."))


def _write_scalar(group: Any, name: str, value: Any) -> None:
    h5py = _h5py()
    kind = "none" if value is None else type(value).__name__
    if value is None:
        ds = group.create_dataset(name, data=h5py.Empty("i1"))
    elif isinstance(value, str) and "\x00" in value:
        ds = group.create_dataset(name, data=np.frombuffer(value.encode("utf-8"), np.uint8))
        _set_attr(ds, ENCODING_ATTR, _NUL_ENCODING)
    elif isinstance(value, str):
        ds = group.create_dataset(name, data=_fixed_str(h5py, value.encode("utf-8")))
    else:
        scalar = {"bool": np.bool_, "int": np.int64, "float": np.float64}[kind]
        ds = group.create_dataset(name, data=scalar(value))
    _set_attr(ds, TYPE_ATTR, kind)


def _write(group: Any, name: str, value: Any) -> None:
    if isinstance(value, (dict, list, tuple)):
        if holds_tensor(value):
            _write_container(group, name, value)
        else:
            _write_packed(group, name, value)
    elif isinstance(value, torch.Tensor):
        _write_tensor(group, name, value)
    elif value is None or type(value) in (bool, int, float, str):
        _write_scalar(group, name, value)
    else:
        raise TypeError(f"cannot store a {type(value).__name__} in HDF5")


def _write_root(file: Any, payload: dict[str, Any]) -> None:
    _set_attr(file, TYPE_ATTR, "dict")
    for key, item in payload.items():
        _write(file, encode_key(key), item)


class _Bad(Exception):
    """Raised while decoding when the file's structure is not what sim2real-adr writes."""


def _attr_or_none(obj: Any, name: str) -> str | None:
    """A string attribute, None when absent (read with h5py's low-level calls: fast)."""
    key = name.encode()
    h5py = _h5py()
    if not h5py.h5a.exists(obj.id, key):
        return None
    attr = h5py.h5a.open(obj.id, key)
    if attr.dtype.kind != "S" or attr.shape != ():
        raise _Bad(f"{obj.name}: attribute '{name}' is not a string")
    buffer = np.empty((), dtype=attr.dtype)
    attr.read(buffer)
    try:
        return bytes(buffer[()]).decode("utf-8")
    except UnicodeDecodeError:
        raise _Bad(f"{obj.name}: attribute '{name}' is not UTF-8") from None


def _attr(obj: Any, name: str) -> str:
    value = _attr_or_none(obj, name)
    if value is None:
        raise _Bad(f"{obj.name}: missing '{name}' attribute")
    return value


def _array(ds: Any) -> np.ndarray:
    data = ds[()]
    if isinstance(data, np.ndarray) and data.flags.writeable:
        return data
    return np.array(data)


def _read_group(obj: Any, kind: str) -> Any:
    if kind == "dict":
        return {decode_key(name): _read(obj[name]) for name in obj}
    if kind in ("list", "tuple"):
        names = list(obj)
        if sorted(names, key=lambda n: int(n)) != [str(i) for i in range(len(names))]:
            raise _Bad(f"{obj.name}: list members are not 0..{len(names) - 1}")
        items = [_read(obj[str(i)]) for i in range(len(names))]
        return tuple(items) if kind == "tuple" else items
    raise _Bad(f"{obj.name}: group of unknown adr_type {kind!r}")


def _read_tensor(obj: Any) -> torch.Tensor:
    """A tensor dataset: the numpy dtype, or ``adr_dtype`` (views, and every tensor of
    files written before packing)."""
    named = _attr_or_none(obj, DTYPE_ATTR)
    dtype = None if named is None else _DTYPES.get(named)
    if named is not None and dtype is None:
        raise _Bad(f"{obj.name}: unknown tensor dtype {named!r}")
    tensor = torch.from_numpy(_array(obj))
    if tensor.numel() == 0:  # h5py gives empty arrays zero strides
        tensor = torch.empty(tensor.shape, dtype=tensor.dtype)
    if dtype is None:
        return tensor
    expected = _VIEW_AS.get(dtype, dtype)
    if tensor.dtype != expected:
        raise _Bad(f"{obj.name}: data of type {tensor.dtype}, expected {expected}")
    return tensor.view(dtype) if dtype in _VIEW_AS else tensor


def _read_packed(obj: Any) -> Any:
    if obj.shape != () or obj.dtype.kind != "S":
        raise _Bad(f"{obj.name}: packed data must be a scalar fixed-length string")
    try:
        return unpack(bytes(obj[()]))
    except PackError as exc:
        raise _Bad(f"{obj.name}: {exc}") from None


def _read_list_dataset(obj: Any, kind: str) -> list[Any] | tuple[Any, ...]:
    """A 1-D list of primitives (files written before packing)."""
    elem = _attr(obj, ELEM_ATTR)
    if obj.ndim != 1:
        raise _Bad(f"{obj.name}: a list dataset must be 1-D")
    values: list[Any]
    if elem == "str":
        if obj.dtype.kind != "S":
            raise _Bad(f"{obj.name}: a str list must be fixed-length strings")
        values = [bytes(v).decode("utf-8") for v in _array(obj)]
    elif elem in ("int", "float", "bool"):
        data = _array(obj)
        if data.dtype.kind != {"int": "i", "float": "f", "bool": "b"}[elem]:
            raise _Bad(f"{obj.name}: {elem} list stored as {data.dtype}")
        values = data.tolist()
    else:
        raise _Bad(f"{obj.name}: unknown list element kind {elem!r}")
    return tuple(values) if kind == "tuple" else values


def _read_str(obj: Any) -> str:
    encoding = _attr_or_none(obj, ENCODING_ATTR)
    if encoding is not None:
        if encoding != _NUL_ENCODING or obj.ndim != 1:
            raise _Bad(f"{obj.name}: unknown string encoding")
        return _array(obj).astype(np.uint8).tobytes().decode("utf-8")
    if obj.shape != () or obj.dtype.kind != "S":
        raise _Bad(f"{obj.name}: a str must be a scalar fixed-length string dataset")
    return bytes(obj[()]).decode("utf-8")


_NUMBER_KINDS = {"int": ("i", int), "float": ("f", float), "bool": ("b", bool)}


def _read_scalar(obj: Any, kind: str) -> Any:
    if kind == "none":
        if obj.shape is not None:
            raise _Bad(f"{obj.name}: a None value must be an empty dataset")
        return None
    if kind == "str":
        return _read_str(obj)
    if kind not in _NUMBER_KINDS:
        raise _Bad(f"{obj.name}: dataset of unknown adr_type {kind!r}")
    if obj.shape != ():
        raise _Bad(f"{obj.name}: a {kind} must be a scalar dataset")
    numpy_kind, convert = _NUMBER_KINDS[kind]
    data = _array(obj)
    if data.dtype.kind != numpy_kind:
        raise _Bad(f"{obj.name}: {kind} stored as {data.dtype}")
    return convert(data)


def _read(obj: Any) -> Any:
    h5py = _h5py()
    if isinstance(obj, h5py.Group):
        return _read_group(obj, _attr(obj, TYPE_ATTR))
    if not isinstance(obj, h5py.Dataset):
        raise _Bad(f"{obj.name}: neither a group nor a dataset")
    kind = _attr_or_none(obj, TYPE_ATTR) or "tensor"
    if kind == "tensor":
        return _read_tensor(obj)
    if kind == "packed":
        return _read_packed(obj)
    if kind in ("list", "tuple"):
        return _read_list_dataset(obj, kind)
    return _read_scalar(obj, kind)


def hdf5_image(payload: dict[str, Any]) -> bytes:
    """The bytes of an HDF5 file holding ``payload``, built in memory."""
    h5py = _h5py()
    # The name only identifies the in-memory file; nothing is written there.
    name = f"sim2real-adr-{os.getpid()}-{secrets.token_hex(6)}.h5"
    with h5py.File(name, "w", driver="core", backing_store=False, track_order=True) as file:
        _write_root(file, payload)
        file.flush()
        image: bytes = file.id.get_file_image()
    return image


class Hdf5Store:
    """Checkpoints as HDF5 files (h5py), written atomically, uncompressed."""

    suffixes = (".h5", ".hdf5")

    def save(self, path: PathLike, checkpoint: Checkpoint) -> None:
        """Write ``checkpoint`` (its payload with checksum) as an HDF5 file.

        Raises:
            CheckpointWriteError: the file could not be written (cause named).
        """
        write_checkpoint_file(path, hdf5_image(encode_payload(checkpoint)))

    def load(self, path: PathLike) -> Checkpoint:
        """Read a checkpoint written by :meth:`save`.

        Raises:
            CheckpointNotFoundError: no such file.
            CorruptCheckpointError: empty, truncated, damaged (checksum), not
                HDF5, or an HDF5 file not written by sim2real-adr.
            UnsupportedVersionError: a newer format version.
        """
        file = checkpoint_file(path)
        h5py = _h5py()
        try:
            # No lock needed: files are replaced atomically, never written in place
            # (and locking fails on some network file systems).
            with h5py.File(file, "r", locking=False) as handle:
                if _attr_or_none(handle, TYPE_ATTR) is None:
                    raise _Bad("the root group has no adr_type attribute")
                payload = _read(handle)
        except CheckpointError:
            raise
        except _Bad as exc:
            raise CorruptCheckpointError(
                file,
                f"not a valid HDF5 checkpoint of the adr-kit-checkpoint format: {exc} "
                "(damaged or foreign file)",
            ) from None
        except Exception as exc:  # h5py raises OSError, KeyError, ValueError, ... when damaged
            raise CorruptCheckpointError(
                file, f"not a readable HDF5 file ({type(exc).__name__}: {exc})"
            ) from None
        return decode_payload(payload, file, require_meta=True)

    def exists(self, path: PathLike) -> bool:
        """Whether ``path`` is a file."""
        return Path(path).is_file()
