"""Counting operations that force a device-to-host synchronization.

On a CPU-only machine nothing actually waits for a device, so this counts the
operations that *would* block on a GPU: reading a value (``.item()``,
``bool(t)``, ``.tolist()``), data-dependent shapes (``nonzero``, boolean-mask
indexing, ``unique``, ...). It intercepts ATen calls with a
``TorchDispatchMode`` plus the few tensor methods that bypass the dispatcher.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["SyncCounter", "count_host_syncs"]

_SYNCING_OPS = {
    "aten::_local_scalar_dense",
    "aten::nonzero",
    "aten::nonzero_numpy",
    "aten::argwhere",
    "aten::masked_select",
    "aten::_unique",
    "aten::_unique2",
    "aten::unique_consecutive",
    "aten::unique_dim",
    "aten::bincount",
    "aten::equal",
    "aten::is_nonzero",
    "aten::allclose",
}
_BOOL_INDEXED_OPS = {"aten::index", "aten::index_put", "aten::index_put_", "aten::_index_put_impl_"}


class SyncCounter(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Dispatch mode recording host-synchronizing ops by name (see module doc)."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.counts: collections.Counter[str] = collections.Counter()

    @property
    def total(self) -> int:
        """Number of synchronizing operations seen."""
        return sum(self.counts.values())

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        name = func._schema.name
        if name in _SYNCING_OPS:
            self.counts[name] += 1
        elif name == "aten::repeat_interleave" and (kwargs or {}).get("output_size") is None:
            if any(isinstance(a, torch.Tensor) for a in args[1:2]):
                self.counts[name] += 1
        elif name in _BOOL_INDEXED_OPS and _has_bool_index(args):
            self.counts[f"{name} (bool mask)"] += 1
        return func(*args, **(kwargs or {}))


def _has_bool_index(args: tuple[Any, ...]) -> bool:
    indices = args[1] if len(args) > 1 else None
    if isinstance(indices, (list, tuple)):
        return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in indices)
    return False


@contextmanager
def count_host_syncs() -> Iterator[SyncCounter]:
    """Count host-synchronizing ops inside the ``with`` block.

    Also counts ``Tensor.tolist``, ``Tensor.numpy`` and ``Tensor.cpu`` calls,
    which read tensor memory without going through the dispatcher on CPU.
    Dispatch modes see nothing under ``torch.inference_mode``, so inside the
    block inference-mode regions run as plain regions (same results, slower).
    """
    counter = SyncCounter()
    patched: dict[str, Callable[..., Any]] = {}
    inference_mode = torch.autograd.grad_mode.inference_mode
    original_enter = inference_mode.__enter__

    def enter_without_inference(self: Any) -> None:
        requested, self.mode = self.mode, False
        try:
            original_enter(self)
        finally:
            self.mode = requested

    for method in ("tolist", "numpy", "cpu"):
        original = getattr(torch.Tensor, method)
        patched[method] = original

        def wrapper(
            self: torch.Tensor, *a: Any, _m: str = method, _o: Any = original, **k: Any
        ) -> Any:
            counter.counts[f"Tensor.{_m}"] += 1
            return _o(self, *a, **k)

        setattr(torch.Tensor, method, wrapper)
    inference_mode.__enter__ = enter_without_inference  # type: ignore[method-assign]
    try:
        with counter:
            yield counter
    finally:
        inference_mode.__enter__ = original_enter  # type: ignore[method-assign]
        for method, original in patched.items():
            setattr(torch.Tensor, method, original)
