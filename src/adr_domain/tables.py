"""Constant lookup tables that let the engine update without data-dependent ops.

Queue ``q = 2n + b`` is bound ``b`` (0 low, 1 high) of parameter ``n``; there
are ``Q = 2P`` queues. An env's *code* is ``mode + (Q + 1) * worker_type``;
an env's *pin code* is ``mode + 1`` for a boundary worker and 0 otherwise.
"""

from __future__ import annotations

import math

import attrs
import torch

from adr_domain.params import ParamTable
from adr_domain.types import WorkerType

__all__ = ["SamplingRows", "StepTable", "queue_of_code", "step_tables"]


@attrs.frozen(eq=False)
class StepTable:
    """One step of every queue's bound in one direction, per queue ``(Q,)`` float64.

    ``apply(x) = clamp((x * mu + add) / div, lo, hi)`` is exactly ``x + d``,
    ``x - d``, ``x * d`` or ``x / d`` (as the reference computes them, so
    results match it bit for bit), then clamped.
    """

    mu: torch.Tensor
    add: torch.Tensor
    div: torch.Tensor | None
    """None when no parameter is multiplicative (every divisor would be 1)."""
    lo: torch.Tensor
    hi: torch.Tensor

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """``(Q,)`` bounds ``x`` after one step."""
        moved = torch.addcmul(self.add, x, self.mu)
        if self.div is not None:
            moved = moved / self.div
        return torch.clamp(moved, self.lo, self.hi)


def step_tables(params: ParamTable) -> tuple[StepTable, StepTable]:
    """Steps ``(inward, outward)`` of every bound.

    Inwards a lower bound steps up (at most to init lo) and an upper bound
    down (at least to init hi); outwards a lower bound steps down (at least to
    limits lo) and an upper bound up (at most to limits hi). The outward step
    of the current bounds is their next limits.
    """
    delta = params.delta.repeat_interleave(2)
    mult = params.multiplicative.repeat_interleave(2)
    is_high = torch.arange(delta.numel(), device=delta.device) % 2 == 1
    one, zero = torch.ones_like(delta), torch.zeros_like(delta)
    inf = torch.full_like(delta, math.inf)
    # (mu, add, div) of a step up (x + d or x * d) and down (x - d or x / d).
    up = (torch.where(mult, delta, one), torch.where(mult, zero, delta), one)
    down = (one, torch.where(mult, zero, -delta), torch.where(mult, delta, one))
    any_mult = bool(params.multiplicative.any())

    def table(
        low_side: tuple[torch.Tensor, ...],
        high_side: tuple[torch.Tensor, ...],
        lo: torch.Tensor,
        hi: torch.Tensor,
    ) -> StepTable:
        mu, add, div = (
            torch.where(is_high, high, low) for low, high in zip(low_side, high_side, strict=True)
        )
        return StepTable(mu=mu, add=add, div=div if any_mult else None, lo=lo, hi=hi)

    init, limits = params.init.reshape(-1), params.limits.reshape(-1)
    inward = table(up, down, torch.where(is_high, init, -inf), torch.where(is_high, inf, init))
    outward = table(down, up, torch.where(is_high, -inf, limits), torch.where(is_high, limits, inf))
    return inward, outward


def queue_of_code(num_queues: int, device: torch.device) -> torch.Tensor:
    """``(3 (Q + 1),)`` int64: the group a finished env with a given code reports to.

    A boundary worker reports to its mode's queue (``0 .. Q-1``); a rollout
    worker to group ``Q`` (its result feeds the rollout EMA); a test worker,
    or a boundary worker with the out-of-range mode ``Q``, to group ``Q + 1``
    (ignored). Groups ``Q`` and ``Q + 1`` are trash rows of the queue table.
    """
    Q = num_queues
    codes = torch.arange(3 * (Q + 1), device=device)
    kind, mode = codes // (Q + 1), codes % (Q + 1)
    group = torch.where(kind == int(WorkerType.ROLLOUT), Q, Q + 1)
    return torch.where((kind == int(WorkerType.BOUNDARY)) & (mode < Q), mode, group)


@attrs.frozen(eq=False)
class SamplingRows:
    """Lookups for sampling a group of ``T`` tensor parameters, one row each.

    Attributes:
        index_ext: ``(T + 1,)`` parameter index of each row; the last row is a
            trash row (it reuses parameter 0).
        row_of_pin_code: ``(Q + 1,)`` the row a pin code pins: the row of the
            code's parameter, or ``T`` (trash) for pin code 0 (not a boundary
            worker) and for parameters outside the group.
    """

    index_ext: torch.Tensor
    row_of_pin_code: torch.Tensor

    @property
    def num_rows(self) -> int:
        """``T``, without the trash row."""
        return self.index_ext.numel() - 1

    @classmethod
    def build(cls, index: torch.Tensor, num_queues: int, device: torch.device) -> SamplingRows:
        """Rows for parameters ``index`` (``(T,)`` int64)."""
        T = index.numel()
        row_of_pin_code = torch.full((num_queues + 1,), T, dtype=torch.long, device=device)
        rows = torch.arange(T, device=device)
        row_of_pin_code[2 * index + 1] = rows
        row_of_pin_code[2 * index + 2] = rows
        index_ext = torch.cat([index, torch.zeros(1, dtype=torch.long, device=device)])
        return cls(index_ext=index_ext, row_of_pin_code=row_of_pin_code)
