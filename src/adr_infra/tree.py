"""State trees: the nested values a checkpoint holds, normalized, hashed and measured.

A *state tree* is what ``torch.load(weights_only=True)`` accepts and what maps
one-to-one onto HDF5:

* ``dict`` with ``str`` or ``int`` keys (torch optimizer states use int keys),
* ``list`` and ``tuple``,
* CPU ``torch.Tensor`` (strided, any dtype, any shape including 0-d and empty),
* ``bool``, ``int`` (64-bit range), ``float`` (any, including inf and NaN),
  ``str`` (UTF-8 encodable) and ``None``.

:func:`normalize_tree` turns nearby values into that form (``OrderedDict`` into
``dict``, numpy scalars into Python numbers, numpy arrays and GPU tensors into
CPU tensors) and rejects everything else with a :class:`~adr_infra.errors.TreeError`
naming where the value sits. :func:`tree_digest` is the content checksum every
checkpoint file carries: it covers keys, types, dtypes, shapes, the raw bytes of
every tensor and every primitive value, independently of dict order and of
the store the tree came from.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

from adr_infra.errors import TreeError

__all__ = [
    "StateTree",
    "iter_tensors",
    "normalize_tree",
    "raw_bytes",
    "tensor_nbytes",
    "tree_digest",
]

StateTree = dict[str, Any]
"""A nested dict of state values (see the module docstring for what a value may be)."""

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def _child(where: str, key: object) -> str:
    if isinstance(key, str):
        return f"{where}.{key}" if where else key
    return f"{where}[{key!r}]"


def normalize_tree(value: Any, where: str = "") -> Any:
    """Return ``value`` as a state tree (no tensor data is copied when already on the CPU).

    Args:
        value: a nested structure of dicts, lists, tuples, tensors and primitives.
        where: the name of ``value`` used in error messages (e.g. ``"env_state"``).

    Returns:
        The same structure with ``Mapping`` as ``dict``, ``torch.Size`` and other
        tuple types as ``tuple``, numpy scalars as Python numbers, numpy arrays and
        non-CPU or grad-tracking tensors as detached CPU tensors.

    Raises:
        TreeError: naming the path of the first value that cannot be stored (an
            unsupported type, a non-str/int dict key, an int outside the 64-bit
            range, a string that is not UTF-8 encodable, a sparse tensor).
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, float):
        return float(value)  # np.float64 is a float subclass
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise TreeError(f"{where or 'value'}: int {value} is outside the 64-bit range")
        return int(value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise TreeError(f"{where or 'value'}: string is not UTF-8 encodable") from None
        return str(value)
    if isinstance(value, torch.Tensor):
        return _normalize_tensor(value, where)
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TreeError(
                    f"{where or 'value'}: dict key {key!r} is a {type(key).__name__}; "
                    "only str and int keys can be stored"
                )
            out[normalize_tree(key, where)] = normalize_tree(item, _child(where, key))
        return out
    if isinstance(value, list):
        return [normalize_tree(v, _child(where, i)) for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return tuple(normalize_tree(v, _child(where, i)) for i, v in enumerate(value))
    if isinstance(value, np.generic):
        return normalize_tree(value.item(), where)
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TreeError(f"{where or 'value'}: numpy arrays of Python objects cannot be stored")
        return torch.from_numpy(np.ascontiguousarray(value).copy())
    raise TreeError(
        f"{where or 'value'}: a {type(value).__module__}.{type(value).__qualname__} cannot be "
        "stored in a checkpoint (allowed: dict, list, tuple, tensor, bool, int, float, str, None)"
    )


def _normalize_tensor(value: torch.Tensor, where: str) -> torch.Tensor:
    if value.layout != torch.strided:
        raise TreeError(f"{where or 'value'}: {value.layout} tensors cannot be stored")
    if value.is_quantized:
        raise TreeError(f"{where or 'value'}: quantized tensors cannot be stored")
    out = value.detach()
    if out.device.type != "cpu":
        out = out.cpu()
    if out.is_conj():
        out = out.resolve_conj()
    if out.is_neg():
        out = out.resolve_neg()
    if type(out) is not torch.Tensor:  # e.g. nn.Parameter
        out = out.as_subclass(torch.Tensor)
    return out


def iter_tensors(tree: Any) -> Iterator[torch.Tensor]:
    """Every tensor of a state tree, depth first."""
    if isinstance(tree, torch.Tensor):
        yield tree
    elif isinstance(tree, dict):
        for item in tree.values():
            yield from iter_tensors(item)
    elif isinstance(tree, (list, tuple)):
        for item in tree:
            yield from iter_tensors(item)


def tensor_nbytes(tree: Any) -> int:
    """Total raw bytes of the tensors of a state tree (``numel * element_size``)."""
    return sum(t.numel() * t.element_size() for t in iter_tensors(tree))


def raw_bytes(tensor: torch.Tensor) -> np.ndarray:
    """The bytes of a CPU tensor in C order, as ``(nbytes,)`` uint8 (no copy if contiguous)."""
    if tensor.numel() == 0:
        return np.empty(0, dtype=np.uint8)
    flat = tensor.detach().contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy()


def tree_digest(tree: Any) -> str:
    """Content checksum of a normalized state tree: ``"sha256:<hex>"``.

    Two trees have the same digest when they hold the same keys, the same
    types, tensors of the same dtype, shape and bytes, and bit-identical
    primitives; dict order does not matter, list and tuple order does.

    Raises:
        TreeError: the tree holds a value :func:`normalize_tree` would reject.
    """
    h = hashlib.sha256()
    _feed(h, tree, "")
    return "sha256:" + h.hexdigest()


def _u64(n: int) -> bytes:
    return n.to_bytes(8, "little", signed=False)


def _str_bytes(s: str) -> bytes:
    data = s.encode("utf-8")
    return _u64(len(data)) + data


def _key_bytes(key: object, where: str) -> bytes:
    if isinstance(key, str) and not isinstance(key, bool):
        return b"s" + _str_bytes(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return b"i" + key.to_bytes(8, "little", signed=True)
    raise TreeError(f"{where or 'value'}: dict key {key!r} cannot be stored")


def _feed(h: Any, value: Any, where: str) -> None:
    if value is None:
        h.update(b"N")
    elif isinstance(value, bool):
        h.update(b"B1" if value else b"B0")
    elif isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise TreeError(f"{where or 'value'}: int {value} is outside the 64-bit range")
        h.update(b"I" + value.to_bytes(8, "little", signed=True))
    elif isinstance(value, float):
        h.update(b"F" + struct.pack("<d", value))
    elif isinstance(value, str):
        h.update(b"S" + _str_bytes(value))
    elif isinstance(value, torch.Tensor):
        if value.device.type != "cpu" or value.layout != torch.strided:
            raise TreeError(f"{where or 'value'}: only strided CPU tensors can be hashed")
        h.update(b"T" + _str_bytes(str(value.dtype)) + _u64(value.dim()))
        for size in value.shape:
            h.update(_u64(size))
        data = raw_bytes(value)
        h.update(_u64(data.nbytes))
        h.update(data.data)
    elif isinstance(value, dict):
        items = sorted(
            ((_key_bytes(k, where), k) for k in value),
            key=lambda pair: pair[0],
        )
        h.update(b"D" + _u64(len(items)))
        for encoded, key in items:
            h.update(encoded)
            _feed(h, value[key], _child(where, key))
    elif isinstance(value, (list, tuple)):
        h.update((b"L" if isinstance(value, list) else b"U") + _u64(len(value)))
        for i, item in enumerate(value):
            _feed(h, item, _child(where, i))
    else:
        raise TreeError(f"{where or 'value'}: a {type(value).__name__} cannot be hashed")


def tree_differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Paths (``.key`` / ``[i]``) where two state trees differ; empty when identical.

    Tensors must match in dtype, shape and every element (NaNs compare equal
    when both are NaN in the same places); other leaves compare with ``==``.
    """
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        same = (
            isinstance(a, torch.Tensor)
            and isinstance(b, torch.Tensor)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and _same_elements(a, b)
        )
        return [] if same else [path or "."]
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if a.keys() != b.keys():
            return [f"{path}.<keys {sorted(map(str, a.keys() ^ b.keys()))}>"]
        return [d for k in a for d in tree_differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{path}.<length {len(a)} != {len(b)}>"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in tree_differences(x, y, f"{path}[{i}]")
        ]
    return [] if type(a) is type(b) and a == b else [path or "."]


def _same_elements(a: torch.Tensor, b: torch.Tensor) -> bool:
    if torch.equal(a, b):
        return True
    if not a.is_floating_point():
        return False
    both_nan = a.isnan() & b.isnan()
    return bool(torch.equal(a.isnan(), b.isnan()) and torch.equal(a[~both_nan], b[~both_nan]))
