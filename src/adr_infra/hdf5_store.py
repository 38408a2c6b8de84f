"""The HDF5 store: the checkpoint payload as groups and datasets, no pickle anywhere.

The file's root group is the payload dict (see :mod:`adr_infra.checkpoint`).
Every value is an HDF5 object whose ``adr_type`` attribute says what it was:

========== ======== =======================================================
adr_type   object   content
========== ======== =======================================================
``dict``   group    one member per key, in insertion order
``list``   group    members ``0``, ``1``, ... (mixed or nested items), or
``tuple``  dataset  a 1-D array when every item is a ``str``/``int``/
                    ``float``/``bool`` (attribute ``adr_elem`` names which)
``tensor`` dataset  the tensor's values and shape; ``adr_dtype`` is the torch
                    dtype (``bfloat16`` and ``float8`` types are stored as
                    same-width integers and viewed back)
``int``    dataset  scalar int64
``float``  dataset  scalar float64
``bool``   dataset  scalar bool
``str``    dataset  scalar fixed-length UTF-8 string (strings holding NUL:
                    uint8 bytes, attribute ``adr_encoding = "utf-8 bytes"``)
``none``   dataset  empty (null dataspace)
========== ======== =======================================================

Member names are the keys, percent-encoded where HDF5 needs it (``/``, ``%``,
a leading ``.``; ``""`` is ``%``); integer keys (torch optimizer states) are
``%i<n>``. ``h5dump`` shows everything; plain ``h5py`` reads it back.

Strings (values and attributes) are fixed-length, never variable-length: a
damaged variable-length string length in the global heap can make the HDF5
library loop forever, where fixed-length data is just wrong bytes (which the
checksum reports).

h5py is imported when a file is first written or read, not before.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import numpy as np
import torch

from adr_infra.atomic import atomic_write
from adr_infra.checkpoint import Checkpoint, checkpoint_file, decode_payload, encode_payload
from adr_infra.errors import (
    CheckpointError,
    CorruptCheckpointError,
    TreeError,
)

__all__ = ["Hdf5Store", "decode_key", "encode_key"]

PathLike = str | os.PathLike[str]

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


def _fixed_str(h5py: Any, values: list[bytes] | bytes) -> np.ndarray:
    """Fixed-length UTF-8 string data (scalar for ``bytes``, 1-D for a list)."""
    items = [values] if isinstance(values, bytes) else values
    width = max([len(v) for v in items] + [1])
    return np.array(values, dtype=h5py.string_dtype("utf-8", width))


def _set_attr(obj: Any, name: str, value: str) -> None:
    data = value.encode("utf-8")
    obj.attrs.create(name, np.array(data, dtype=_h5py().string_dtype("utf-8", max(len(data), 1))))


def _homogeneous(items: list[Any] | tuple[Any, ...]) -> str | None:
    """The element kind of a non-empty list of same-typed primitives, else None."""
    if not items:
        return None
    first = type(items[0])
    if first not in (bool, int, float, str) or any(type(v) is not first for v in items):
        return None
    if first is str and any("\x00" in v for v in items):
        return None
    return first.__name__


def _write(group: Any, name: str, value: Any) -> None:
    h5py = _h5py()
    if isinstance(value, dict):
        sub = group.create_group(name, track_order=True)
        _set_attr(sub, TYPE_ATTR, "dict")
        for key, item in value.items():
            _write(sub, encode_key(key), item)
    elif isinstance(value, (list, tuple)):
        kind = "tuple" if isinstance(value, tuple) else "list"
        elem = _homogeneous(value)
        if elem is None:
            sub = group.create_group(name, track_order=True)
            _set_attr(sub, TYPE_ATTR, kind)
            for i, item in enumerate(value):
                _write(sub, str(i), item)
        else:
            if elem == "str":
                encoded = [v.encode("utf-8") for v in value]
                ds = group.create_dataset(name, data=_fixed_str(h5py, encoded))
            else:
                dtype = {"bool": np.bool_, "int": np.int64, "float": np.float64}[elem]
                ds = group.create_dataset(name, data=np.asarray(value, dtype=dtype))
            _set_attr(ds, TYPE_ATTR, kind)
            _set_attr(ds, ELEM_ATTR, elem)
    elif isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        stored = tensor.view(_VIEW_AS[tensor.dtype]) if tensor.dtype in _VIEW_AS else tensor
        try:
            data = stored.numpy()
        except (RuntimeError, TypeError):
            raise TreeError(
                f"{group.name}/{name}: {tensor.dtype} tensors cannot be stored in HDF5"
            ) from None
        ds = group.create_dataset(name, data=data)
        _set_attr(ds, TYPE_ATTR, "tensor")
        _set_attr(ds, DTYPE_ATTR, str(tensor.dtype).removeprefix("torch."))
    elif value is None:
        ds = group.create_dataset(name, data=h5py.Empty("i1"))
        _set_attr(ds, TYPE_ATTR, "none")
    elif isinstance(value, bool):
        ds = group.create_dataset(name, data=np.bool_(value))
        _set_attr(ds, TYPE_ATTR, "bool")
    elif isinstance(value, int):
        ds = group.create_dataset(name, data=np.int64(value))
        _set_attr(ds, TYPE_ATTR, "int")
    elif isinstance(value, float):
        ds = group.create_dataset(name, data=np.float64(value))
        _set_attr(ds, TYPE_ATTR, "float")
    elif isinstance(value, str):
        if "\x00" in value:
            data = np.frombuffer(value.encode("utf-8"), dtype=np.uint8)
            ds = group.create_dataset(name, data=data)
            _set_attr(ds, ENCODING_ATTR, _NUL_ENCODING)
        else:
            ds = group.create_dataset(name, data=_fixed_str(h5py, value.encode("utf-8")))
        _set_attr(ds, TYPE_ATTR, "str")
    else:
        raise TypeError(f"cannot store a {type(value).__name__} in HDF5")


def _write_root(file: Any, payload: dict[str, Any]) -> None:
    _set_attr(file, TYPE_ATTR, "dict")
    for key, item in payload.items():
        _write(file, encode_key(key), item)


class _Bad(Exception):
    """Raised while decoding when the file's structure is not what adr-kit writes."""


def _attr(obj: Any, name: str) -> str:
    value = obj.attrs.get(name)
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if not isinstance(value, str):
        raise _Bad(f"{obj.name}: missing or invalid '{name}' attribute")
    return value


def _array(ds: Any) -> np.ndarray:
    data = ds[()]
    if isinstance(data, np.ndarray) and data.flags.writeable:
        return data
    return np.array(data)


def _read(obj: Any) -> Any:
    h5py = _h5py()
    kind = _attr(obj, TYPE_ATTR)
    if isinstance(obj, h5py.Group):
        if kind == "dict":
            return {decode_key(name): _read(obj[name]) for name in obj}
        if kind in ("list", "tuple"):
            names = list(obj)
            if sorted(names, key=lambda n: int(n)) != [str(i) for i in range(len(names))]:
                raise _Bad(f"{obj.name}: list members are not 0..{len(names) - 1}")
            items = [_read(obj[str(i)]) for i in range(len(names))]
            return tuple(items) if kind == "tuple" else items
        raise _Bad(f"{obj.name}: group of unknown adr_type {kind!r}")
    if not isinstance(obj, h5py.Dataset):
        raise _Bad(f"{obj.name}: neither a group nor a dataset")
    if kind == "none":
        if obj.shape is not None:
            raise _Bad(f"{obj.name}: a None value must be an empty dataset")
        return None
    if kind == "tensor":
        dtype = _DTYPES.get(_attr(obj, DTYPE_ATTR))
        if dtype is None:
            raise _Bad(f"{obj.name}: unknown tensor dtype {obj.attrs.get(DTYPE_ATTR)!r}")
        data = _array(obj)
        tensor = torch.from_numpy(data)
        if tensor.numel() == 0:  # h5py gives empty arrays zero strides
            tensor = torch.empty(tensor.shape, dtype=tensor.dtype)
        expected = _VIEW_AS.get(dtype, dtype)
        if tensor.dtype != expected:
            raise _Bad(f"{obj.name}: data of type {tensor.dtype}, expected {expected}")
        return tensor.view(dtype) if dtype in _VIEW_AS else tensor
    if kind in ("list", "tuple"):
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
    if obj.shape != () and kind != "str":
        raise _Bad(f"{obj.name}: a {kind} must be a scalar dataset")
    if kind == "int":
        data = _array(obj)
        if data.dtype.kind != "i":
            raise _Bad(f"{obj.name}: int stored as {data.dtype}")
        return int(data)
    if kind == "float":
        data = _array(obj)
        if data.dtype.kind != "f":
            raise _Bad(f"{obj.name}: float stored as {data.dtype}")
        return float(data)
    if kind == "bool":
        data = _array(obj)
        if data.dtype.kind != "b":
            raise _Bad(f"{obj.name}: bool stored as {data.dtype}")
        return bool(data)
    if kind == "str":
        if obj.attrs.get(ENCODING_ATTR) is not None:
            if _attr(obj, ENCODING_ATTR) != _NUL_ENCODING or obj.ndim != 1:
                raise _Bad(f"{obj.name}: unknown string encoding")
            return _array(obj).astype(np.uint8).tobytes().decode("utf-8")
        if obj.shape != () or obj.dtype.kind != "S":
            raise _Bad(f"{obj.name}: a str must be a scalar fixed-length string dataset")
        return bytes(obj[()]).decode("utf-8")
    raise _Bad(f"{obj.name}: dataset of unknown adr_type {kind!r}")


class Hdf5Store:
    """Checkpoints as HDF5 files (h5py), written atomically, uncompressed."""

    suffixes = (".h5", ".hdf5")

    def save(self, path: PathLike, checkpoint: Checkpoint) -> None:
        """Write ``checkpoint`` (its payload with checksum) as an HDF5 file."""
        h5py = _h5py()
        payload = encode_payload(checkpoint)

        def write(temp: Path) -> None:
            with h5py.File(temp, "w", track_order=True, locking=False) as file:
                _write_root(file, payload)

        atomic_write(path, write)

    def load(self, path: PathLike) -> Checkpoint:
        """Read a checkpoint written by :meth:`save`.

        Raises:
            CheckpointNotFoundError: no such file.
            CorruptCheckpointError: empty, truncated, damaged (checksum), not
                HDF5, or an HDF5 file not written by adr-kit.
            UnsupportedVersionError: a newer format version.
        """
        file = checkpoint_file(path)
        h5py = _h5py()
        try:
            # No lock needed: files are replaced atomically, never written in place
            # (and locking fails on some network file systems).
            with h5py.File(file, "r", locking=False) as handle:
                if handle.attrs.get(TYPE_ATTR) is None:
                    raise _Bad("the root group has no adr_type attribute")
                payload = _read(handle)
        except CheckpointError:
            raise
        except _Bad as exc:
            raise CorruptCheckpointError(
                file, f"not a valid adr-kit HDF5 checkpoint: {exc} (damaged or foreign file)"
            ) from None
        except Exception as exc:  # h5py raises OSError, KeyError, ValueError, ... when damaged
            raise CorruptCheckpointError(
                file, f"not a readable HDF5 file ({type(exc).__name__}: {exc})"
            ) from None
        return decode_payload(payload, file, require_meta=True)

    def exists(self, path: PathLike) -> bool:
        """Whether ``path`` is a file."""
        return Path(path).is_file()
