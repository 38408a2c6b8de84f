"""One text value for a tensor-free part of a state tree (the HDF5 store's packing).

A checkpoint's metadata, ADR config, optimizer hyper-parameters and the Isaac
adapter's ``adr_params`` mirror are hundreds of small values; stored one HDF5
object each, they cost far more time than the tensors. :func:`pack` turns such
a subtree (dicts, lists, tuples and primitives, no tensor) into one JSON text
that keeps everything a state tree distinguishes:

======================= ==========================================
value                   JSON
======================= ==========================================
``None``, bool, int,    ``null``, ``true``/``false``, a number, a string
str
finite float            a number with a fraction or exponent (exact: ``repr``)
inf, -inf, nan          ``{"f": "<16 hex digits of the IEEE bits>"}``
list                    an array
tuple                   ``{"t": [...]}``
dict                    ``{"d": [[key, value], ...]}`` (str or int keys, in order)
======================= ==========================================

:func:`unpack` is its inverse; it raises :class:`PackError` for any text it
did not write.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import torch

__all__ = ["PackError", "holds_tensor", "pack", "unpack"]


class PackError(ValueError):
    """The text is not a packed state tree (damaged or foreign)."""


def holds_tensor(value: Any) -> bool:
    """Whether a state tree holds a tensor anywhere."""
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, dict):
        return any(holds_tensor(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(holds_tensor(v) for v in value)
    return False


def _float_bits(value: float) -> str:
    return struct.pack("<d", value).hex()


def _encode(value: Any) -> Any:
    if isinstance(value, dict):
        return {"d": [[key, _encode(item)] for key, item in value.items()]}
    if isinstance(value, tuple):
        return {"t": [_encode(item) for item in value]}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return {"f": _float_bits(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot pack a {type(value).__name__}")


def pack(value: Any) -> bytes:
    """The UTF-8 JSON text of a tensor-free state tree.

    Raises:
        TypeError: the tree holds a tensor or another unsupported value.
    """
    return json.dumps(_encode(value), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _decode_tagged(tag: str, body: Any) -> Any:
    if tag == "f" and isinstance(body, str) and len(body) == 16:
        (number,) = struct.unpack("<d", bytes.fromhex(body))
        return number
    if tag == "t" and isinstance(body, list):
        return tuple(_decode(item) for item in body)
    if tag == "d" and isinstance(body, list):
        out: dict[str | int, Any] = {}
        for pair in body:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise PackError("a dict entry is not a [key, value] pair")
            key, item = pair
            if isinstance(key, bool) or not isinstance(key, (str, int)) or key in out:
                raise PackError(f"invalid or repeated dict key {key!r}")
            out[key] = _decode(item)
        return out
    raise PackError(f"unknown tagged value {tag!r}")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if isinstance(value, dict):
        if len(value) != 1:
            raise PackError("a tagged value must have exactly one tag")
        ((tag, body),) = value.items()
        return _decode_tagged(tag, body)
    return value


def unpack(data: bytes) -> Any:
    """The state tree :func:`pack` wrote.

    Raises:
        PackError: not UTF-8 JSON of the packed form.
    """
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PackError(f"not packed JSON ({exc})") from None
    try:
        return _decode(parsed)
    except (ValueError, struct.error) as exc:
        raise PackError(str(exc)) from None
