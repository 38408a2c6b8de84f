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

__all__ = ["EngineTables", "SamplingPlan", "StepTable", "queue_of_code", "stacked", "step_tables"]


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

    init, limits = params.init.reshape(-1), params.effective_limits.reshape(-1)
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
class SamplingPlan:
    """Lookups for sampling tensor parameters: one row each, a trash row per group.

    Rows ``0 .. Tu`` are the ``Tu`` uniform parameters and their trash row
    (absent when ``Tu = 0``); the next ``Tc + 1`` rows the categorical ones
    and theirs (absent when ``Tc = 0``). ``R`` rows in all.

    Attributes:
        index_ext: ``(R,)`` int64 parameter index of each row (trash rows
            reuse parameter 0).
        row_of_pin_code: ``(Q + 1,)`` int64 the row a pin code pins: its
            parameter's row, or a trash row (pin code 0, parameters outside
            the plan).
        categorical: ``(R, 1)`` bool, the row's parameter is categorical.
        uniform_rows: ``Tu + 1`` (or 0): the first rows, the uniform group.
        has_categorical: ``Tc > 0``.
    """

    index_ext: torch.Tensor
    row_of_pin_code: torch.Tensor
    categorical: torch.Tensor
    uniform_rows: int
    has_categorical: bool

    @property
    def num_rows(self) -> int:
        """``R``; 0 when there is nothing to sample."""
        return self.index_ext.numel()

    @property
    def num_uniform(self) -> int:
        """``Tu``."""
        return max(self.uniform_rows - 1, 0)

    @property
    def num_categorical(self) -> int:
        """``Tc``."""
        return max(self.num_rows - self.uniform_rows - 1, 0)

    def rows_of(self, num_params: int) -> dict[int, tuple[bool, int]]:
        """``{param: (categorical, row within its group's value table)}``."""
        rows = {}
        for row, n in enumerate(self.index_ext.tolist()):
            categorical = row >= self.uniform_rows
            within = row - self.uniform_rows if categorical else row
            last = self.num_categorical if categorical else self.num_uniform
            if within < last and n < num_params:
                rows[n] = (categorical, within)
        return rows

    @classmethod
    def build(
        cls,
        uniform_index: torch.Tensor,
        categorical_index: torch.Tensor,
        num_queues: int,
        device: torch.device,
    ) -> SamplingPlan:
        """The plan for uniform parameters ``uniform_index`` and categorical ones
        ``categorical_index`` (``(Tu,)`` and ``(Tc,)`` int64)."""
        parts, kinds = [], []
        row_of_pin_code = torch.zeros(num_queues + 1, dtype=torch.long, device=device)
        start = 0
        for index, categorical in ((uniform_index, False), (categorical_index, True)):
            T = index.numel()
            if not T:
                continue
            rows = torch.arange(start, start + T, device=device)
            row_of_pin_code[2 * index + 1] = rows
            row_of_pin_code[2 * index + 2] = rows
            parts.append(torch.cat([index, torch.zeros(1, dtype=torch.long, device=device)]))
            kinds.append(torch.full((T + 1,), categorical, device=device))
            start += T + 1
        trash = torch.ones_like(row_of_pin_code, dtype=torch.bool)
        trash[2 * torch.cat([uniform_index, categorical_index]) + 1] = False
        trash[2 * torch.cat([uniform_index, categorical_index]) + 2] = False
        first_trash = uniform_index.numel() if uniform_index.numel() else categorical_index.numel()
        row_of_pin_code[trash] = first_trash
        empty = torch.zeros(0, dtype=torch.long, device=device)
        return cls(
            index_ext=torch.cat(parts) if parts else empty,
            row_of_pin_code=row_of_pin_code,
            categorical=(torch.cat(kinds) if kinds else empty.bool()).unsqueeze(1),
            uniform_rows=uniform_index.numel() + 1 if uniform_index.numel() else 0,
            has_categorical=bool(categorical_index.numel()),
        )


@attrs.frozen(eq=False)
class EngineTables:
    """Every constant an update reads, built once per engine.

    Attributes:
        inward, outward: one step of every bound (see :func:`step_tables`).
        steps: both at once, ``(2, Q)`` (row 0 inward, row 1 outward).
        queue_of_code: ``(3 (Q + 1),)`` see :func:`queue_of_code`.
        group_edges: ``(Q + 3,)`` int64 ``arange(Q + 3)``: group boundaries
            for ``searchsorted``.
        positions: ``(W N,)`` int64 ``arange``.
        sampling: the sampling lookups of every tensor parameter.
    """

    inward: StepTable
    outward: StepTable
    steps: StepTable
    queue_of_code: torch.Tensor
    group_edges: torch.Tensor
    positions: torch.Tensor
    sampling: SamplingPlan

    @classmethod
    def build(
        cls, params: ParamTable, num_envs: int, world_size: int, device: torch.device
    ) -> EngineTables:
        """The tables of ``params`` over ``num_envs`` envs per rank on ``device``."""
        Q = 2 * params.num_params
        inward, outward = step_tables(params)
        return cls(
            inward=inward,
            outward=outward,
            steps=stacked(inward, outward),
            queue_of_code=queue_of_code(Q, device),
            group_edges=torch.arange(Q + 3, device=device),
            positions=torch.arange(num_envs * world_size, device=device),
            sampling=SamplingPlan.build(params.uniform_index, params.categorical_index, Q, device),
        )


def stacked(first: StepTable, second: StepTable) -> StepTable:
    """Two step tables as one whose :meth:`~StepTable.apply` gives ``(2, Q)``."""
    div = None
    if first.div is not None and second.div is not None:
        div = torch.stack([first.div, second.div])
    return StepTable(
        mu=torch.stack([first.mu, second.mu]),
        add=torch.stack([first.add, second.add]),
        div=div,
        lo=torch.stack([first.lo, second.lo]),
        hi=torch.stack([first.hi, second.hi]),
    )
