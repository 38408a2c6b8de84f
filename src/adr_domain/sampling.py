"""The sampling rule: fresh per-env values of the tensor parameters.

Every env draws from its parameter's current range (uniform: real values;
categorical: integers), then each boundary worker evaluating that parameter
gets its bound (its next limit with ``adr_extended_boundary_sample``) written
over its draw. Values live in ``(T + 1, N + 1)`` tables per group (uniform:
float32, categorical: int64), one row per parameter plus a trash row, one
column per env plus the trash column.
"""

from __future__ import annotations

import torch

from adr_domain.tables import SamplingPlan

__all__ = ["fresh_values", "resample"]


def fresh_values(
    u: torch.Tensor,
    pins: torch.Tensor,
    bounds: torch.Tensor,
    pinned_ext: torch.Tensor,
    plan: SamplingPlan,
    positions: torch.Tensor,
) -> torch.Tensor:
    """``(R, K)`` float64 values of every row of ``plan`` for ``K`` envs.

    Args:
        u: ``(R, K)`` float32 uniforms in ``[0, 1)``.
        pins: ``(K,)`` int64 pin codes of the envs.
        bounds: ``(P, 2)`` float64 ranges.
        pinned_ext: ``(Q + 1,)`` float64 what a boundary worker plays at: the
            ranges (or the next limits) in queue order behind one dummy entry.
        plan: the rows.
        positions: ``(>= K,)`` int64 ``arange``.
    """
    ranges = bounds.index_select(0, plan.index_ext)
    lo, width = ranges[:, :1], ranges.diff(dim=1)
    values = None
    if plan.uniform_rows:
        # u < 1 in float32, so lo + u * width stays below hi in float64.
        values = torch.addcmul(lo, u, width)
    if plan.has_categorical:
        integers = torch.minimum(lo + torch.floor(u * (width + 1.0)), lo + width)
        values = integers if values is None else torch.where(plan.categorical, integers, values)
    assert values is not None
    columns = positions[: pins.numel()]
    values.index_put_(
        (plan.row_of_pin_code.index_select(0, pins), columns), pinned_ext.index_select(0, pins)
    )
    return values


def resample(
    u: torch.Tensor,
    slots: torch.Tensor,
    pins: torch.Tensor,
    bounds: torch.Tensor,
    pinned_ext: torch.Tensor,
    plan: SamplingPlan,
    tables: tuple[torch.Tensor, torch.Tensor],
    positions: torch.Tensor,
) -> None:
    """Write fresh values of every tensor parameter for the envs at ``slots``.

    Args:
        u: ``(R, K)`` float32 uniforms.
        slots: ``(K,)`` int64 env slots (the trash slot allowed).
        pins: ``(K,)`` int64 their pin codes.
        bounds, pinned_ext: see :func:`fresh_values`.
        plan: the rows.
        tables: ``(Tu + 1, N + 1)`` float32 and ``(Tc + 1, N + 1)`` int64
            value tables (written).
        positions: ``(>= K,)`` int64 ``arange``.
    """
    values = fresh_values(u, pins, bounds, pinned_ext, plan, positions)
    uniform, categorical = tables
    split = plan.uniform_rows
    if split:
        uniform.index_copy_(1, slots, values[:split].to(uniform.dtype))
    if plan.has_categorical:
        categorical.index_copy_(1, slots, values[split:].to(categorical.dtype))
