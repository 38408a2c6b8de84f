"""Test sets of a robustness evaluation: cells of pinned values and ranges.

A **cell** is one setting of the ADR parameters: each parameter is pinned to a
value (a range ``(v, v)``) or to a range that each env draws its value in,
uniformly, as a rollout worker does. A cell may leave parameters to *each
policy's own ranges* (those of its checkpoint); then the policies' cells differ
in those parameters only, and each policy's values are drawn with the same
uniforms (common random numbers).

A **test set** is a tuple of cells; the builders here (range sets, scaled
ranges, 1-D sweeps, 2-D grids) make them, :func:`check_cells` checks them
against the parameters' limits, and :func:`draw_env_values` gives every env of
a rollout its values. Pure torch and the standard library; nothing here knows
a task.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs
import torch

from adr_domain.config import ADRConfig
from adr_domain.types import ParamType

__all__ = [
    "OWN_RANGES",
    "Cell",
    "Range",
    "RangeSet",
    "check_cells",
    "draw_env_values",
    "grid_cells",
    "init_ranges",
    "limit_ranges",
    "linspace",
    "range_cell",
    "scaled_ranges",
    "sweep_cells",
]

Range = tuple[float, float]
"""``(lo, hi)``; a pinned value is ``(v, v)``."""
RangeSet = Mapping[str, Range]
"""A range for each parameter, by name."""
OWN_RANGES = "checkpoint"
"""The name of the range set that is each policy's own (its checkpoint's ranges)."""


def _frozen_ranges(value: Mapping[str, Range]) -> dict[str, Range]:
    return {str(k): (float(v[0]), float(v[1])) for k, v in value.items()}


@attrs.frozen
class Cell:
    """One setting of a test set.

    Attributes:
        group: the test-set entry the cell belongs to (``"init"``,
            ``"sweep:object_mass"``, ``"grid:object_mass,actuator_effort"``).
        label: the cell within its group (``"object_mass=0.2"``; the group
            name for a range set).
        ranges: ``{name: (lo, hi)}`` of the parameters the cell sets.
        rest_own: parameters the cell does not set take each policy's own
            ranges; when False the cell must set every parameter.
        coords: ``{name: value}`` of the pinned sweep or grid coordinates.
    """

    group: str
    label: str
    ranges: dict[str, Range] = attrs.field(converter=_frozen_ranges)
    rest_own: bool = False
    coords: dict[str, float] = attrs.field(factory=dict)

    def resolve(self, own: RangeSet) -> dict[str, Range]:
        """Every parameter's range for a policy whose own ranges are ``own``."""
        if not self.rest_own:
            return dict(self.ranges)
        return {name: self.ranges.get(name, own[name]) for name in own}


def init_ranges(cfg: ADRConfig) -> dict[str, Range]:
    """The ``init`` range set: every parameter's ``init_range``."""
    return {name: p.init_range for name, p in cfg.params.items()}


def limit_ranges(cfg: ADRConfig) -> dict[str, Range]:
    """The ``limits`` range set.

    Raises:
        ValueError: a parameter's limits are unbounded on a side (name given).
    """
    out = {}
    for name, p in cfg.params.items():
        lo, hi = p.limits
        if lo is None or hi is None or math.isinf(lo) or math.isinf(hi):
            raise ValueError(f"limits: {name} is unbounded ({p.limits}); no range set of limits")
        out[name] = (lo, hi)
    return out


def scaled_ranges(ranges: RangeSet, factor: float, cfg: ADRConfig) -> dict[str, Range]:
    """Each range widened by ``factor`` about its centre, clipped to the limits
    (categorical parameters: rounded outwards to integers).

    Raises:
        ValueError: ``factor`` is not a positive finite number.
    """
    if not math.isfinite(factor) or factor <= 0:
        raise ValueError(f"scaled: the factor must be a positive number, got {factor}")
    out = {}
    for name, (lo, hi) in ranges.items():
        p = cfg.params[name]
        centre, half = (lo + hi) / 2.0, (hi - lo) / 2.0 * factor
        limit_lo, limit_hi = p.effective_limits
        new_lo, new_hi = max(centre - half, limit_lo), min(centre + half, limit_hi)
        if p.type is ParamType.CATEGORICAL:
            new_lo, new_hi = float(math.floor(new_lo)), float(math.ceil(new_hi))
        out[name] = (new_lo, new_hi)
    return out


def linspace(lo: float, hi: float, n: int) -> list[float]:
    """``n`` evenly spaced points from ``lo`` to ``hi`` (both included).

    Raises:
        ValueError: ``n < 1``, or ``n == 1`` with ``lo != hi``, or ``lo > hi``.
    """
    if n < 1 or lo > hi or (n == 1 and lo != hi):
        raise ValueError(f"points: need lo <= hi and n >= 2 (or lo == hi), got {lo}:{hi}:{n}")
    if n == 1:
        return [lo]
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def range_cell(name: str, ranges: RangeSet | None) -> Cell:
    """The one-cell test set of a range set (None: each policy's own ranges)."""
    if ranges is None:
        return Cell(group=name, label=name, ranges={}, rest_own=True)
    return Cell(group=name, label=name, ranges=ranges)


def _label(value: float) -> str:
    return f"{value:.6g}"


def sweep_cells(param: str, points: Sequence[float], others: Cell) -> tuple[Cell, ...]:
    """A 1-D sweep: ``param`` pinned at each point, the others as in ``others``."""
    return tuple(
        Cell(
            group=f"sweep:{param}",
            label=f"{param}={_label(v)}",
            ranges={**others.ranges, param: (v, v)},
            rest_own=others.rest_own,
            coords={param: v},
        )
        for v in points
    )


def grid_cells(
    first: tuple[str, Sequence[float]], second: tuple[str, Sequence[float]], others: Cell
) -> tuple[Cell, ...]:
    """A 2-D grid: two parameters pinned at every pair of points (first varies slowest)."""
    (a, xs), (b, ys) = first, second
    if a == b:
        raise ValueError(f"grid: the two parameters must differ, got {a} twice")
    return tuple(
        Cell(
            group=f"grid:{a},{b}",
            label=f"{a}={_label(x)},{b}={_label(y)}",
            ranges={**others.ranges, a: (x, x), b: (y, y)},
            rest_own=others.rest_own,
            coords={a: x, b: y},
        )
        for x in xs
        for y in ys
    )


def check_cells(cells: Sequence[Cell], cfg: ADRConfig) -> None:
    """Check a test set against the parameters of ``cfg``.

    Raises:
        ValueError: one line naming the problem: an empty test set, an unknown
            parameter, a cell that leaves a parameter unset, a reversed range,
            a value outside the parameter's limits, a non-integer value of a
            categorical parameter.
    """
    if not cells:
        raise ValueError("test set: it has no cells")
    for cell in cells:
        for name in cell.ranges:
            if name not in cfg.params:
                known = ", ".join(cfg.params)
                raise ValueError(f"{cell.label}: unknown parameter {name!r} (known: {known})")
        missing = [n for n in cfg.params if n not in cell.ranges]
        if missing and not cell.rest_own:
            raise ValueError(f"{cell.label}: sets no range for {', '.join(missing)}")
        for name, rng in cell.ranges.items():
            _check_range(cell.label, name, rng, cfg)


def _check_range(where: str, name: str, rng: Range, cfg: ADRConfig) -> None:
    p = cfg.params[name]
    lo, hi = rng
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(f"{where}: {name} range [{lo}, {hi}] is not an ordered finite range")
    limit_lo, limit_hi = p.effective_limits
    for value in (lo, hi):
        if not limit_lo <= value <= limit_hi:
            raise ValueError(
                f"{where}: {name}={_label(value)} is outside its limits {list(p.limits)}"
            )
        if p.type is ParamType.CATEGORICAL and value != math.floor(value):
            raise ValueError(f"{where}: {name}={_label(value)} must be an integer (categorical)")


def draw_env_values(
    cells: Sequence[Mapping[str, Range]],
    envs_per_cell: int,
    cfg: ADRConfig,
    generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    """Every env's value of every parameter: cell ``c`` holds envs
    ``[c * E, (c + 1) * E)`` and each draws uniformly in the cell's ranges.

    Uniform parameters take ``lo + u (hi - lo)``, categorical ones
    ``lo + floor(u (hi - lo + 1))`` (capped at ``hi``), as the engine samples.
    One uniform ``u`` per parameter and env, drawn from ``generator`` in a
    fixed order whatever the ranges: two policies' rollouts with the same
    generator state get the same quantiles (common random numbers).

    Args:
        cells: resolved cells (``{name: (lo, hi)}`` for every parameter of ``cfg``).
        envs_per_cell: ``E``.
        cfg: the parameters (names in config order, types).
        generator: the source of the uniforms (CPU).

    Returns:
        ``{name: (C * E,) float64}`` values in config order.
    """
    names = list(cfg.params)
    n = len(cells) * envs_per_cell
    u = torch.rand((len(names), n), generator=generator, dtype=torch.float64)
    bounds = torch.tensor([[c[name] for name in names] for c in cells], dtype=torch.float64)
    per_env = bounds.repeat_interleave(envs_per_cell, dim=0)  # (n, P, 2)
    lo, width = per_env[..., 0].T, (per_env[..., 1] - per_env[..., 0]).T
    out = {}
    for i, name in enumerate(names):
        if cfg.params[name].type is ParamType.CATEGORICAL:
            values = torch.minimum(lo[i] + torch.floor(u[i] * (width[i] + 1.0)), lo[i] + width[i])
        else:
            values = lo[i] + u[i] * width[i]
        out[name] = values
    return out
