"""Test sets from the command line or a YAML file (syntax in ``docs/evaluation.md``).

Parsing (:func:`parse_sweep`, :func:`parse_grid`, :func:`read_test_set_file`)
checks syntax only; :func:`build_cells` resolves the named range sets with a
policy's ADR config and checks every cell against the parameters' limits.
Each raises ``ValueError`` with one line naming the problem.

Range sets: ``nominal`` (every parameter pinned at the centre of its
``init_range``), ``init``, ``limits``, ``checkpoint`` (each policy's own
ranges), ``ranges-of:<checkpoint>`` (another run's ranges) and
``scaled:<f>[:<set>]`` (the ranges of ``<set>``, default ``init``, widened by
``f`` about their centres, clipped to the limits).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml

from adr_domain import ADRConfig, ParamType
from adr_domain.eval_cells import (
    OWN_RANGES,
    Cell,
    Range,
    check_cells,
    grid_cells,
    init_ranges,
    limit_ranges,
    linspace,
    range_cell,
    scaled_ranges,
    sweep_cells,
)

__all__ = [
    "NOMINAL",
    "Axis",
    "EvalSpec",
    "ExplicitCell",
    "build_cells",
    "parse_axis",
    "parse_grid",
    "parse_sweep",
    "read_test_set_file",
]

NOMINAL = "nominal"
RangesOf = Callable[[str], Mapping[str, Range]]
"""Reads the ranges of another checkpoint (``ranges-of:<path>``)."""


@attrs.frozen
class Axis:
    """``param=lo:hi:n``: ``n`` points from ``lo`` to ``hi``."""

    param: str
    lo: float
    hi: float
    n: int

    @property
    def points(self) -> list[float]:
        """The points (raises ``ValueError`` for a bad ``lo:hi:n``)."""
        return linspace(self.lo, self.hi, self.n)


@attrs.frozen
class ExplicitCell:
    """A cell of a test-set file: ``values`` pins (a number) or ranges (``[lo, hi]``)."""

    name: str
    values: dict[str, Range]
    others: str = NOMINAL


@attrs.frozen
class EvalSpec:
    """What to evaluate on, before it is resolved against a parameter set.

    Attributes:
        sets: range-set names, one cell each.
        sweeps: 1-D sweeps.
        grids: 2-D grids (pairs of axes).
        cells: explicit cells (test-set files).
        others: the setting of the parameters a sweep or grid does not pin.
    """

    sets: tuple[str, ...] = ()
    sweeps: tuple[Axis, ...] = ()
    grids: tuple[tuple[Axis, Axis], ...] = ()
    cells: tuple[ExplicitCell, ...] = ()
    others: str = NOMINAL

    def merged(self, other: EvalSpec) -> EvalSpec:
        """Both specs' entries (``others`` of ``self``)."""
        return EvalSpec(
            sets=self.sets + other.sets,
            sweeps=self.sweeps + other.sweeps,
            grids=self.grids + other.grids,
            cells=self.cells + other.cells,
            others=self.others,
        )


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{what}: {text!r} is not a finite number")
    return value


def parse_axis(text: str) -> Axis:
    """``param=lo:hi:n`` (``n`` points, both ends included)."""
    name, sep, rest = text.partition("=")
    parts = rest.split(":")
    if not sep or not name.strip() or len(parts) != 3:
        raise ValueError(f"{text!r}: expected PARAM=LO:HI:N")
    lo, hi = _number(parts[0], text), _number(parts[1], text)
    try:
        n = int(parts[2])
    except ValueError:
        raise ValueError(f"{text!r}: N must be an integer, got {parts[2]!r}") from None
    axis = Axis(name.strip(), lo, hi, n)
    try:
        axis.points  # noqa: B018 (checks lo:hi:n)
    except ValueError as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    return axis


def parse_sweep(text: str) -> Axis:
    """A ``--sweep`` argument: ``param=lo:hi:n``."""
    return parse_axis(text)


def parse_grid(text: str) -> tuple[Axis, Axis]:
    """A ``--grid`` argument: ``a=lo:hi:n,b=lo:hi:n``."""
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError(f"{text!r}: expected A=LO:HI:N,B=LO:HI:N")
    first, second = parse_axis(parts[0]), parse_axis(parts[1])
    if first.param == second.param:
        raise ValueError(f"{text!r}: the two parameters must differ")
    return first, second


def _cell_values(name: str, values: object) -> dict[str, Range]:
    if not isinstance(values, Mapping) or not values:
        raise ValueError(f"cell {name!r}: 'values' must be a non-empty mapping")
    out: dict[str, Range] = {}
    for param, value in values.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[str(param)] = (float(value), float(value))
        elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
            out[str(param)] = (_number(str(value[0]), name), _number(str(value[1]), name))
        else:
            raise ValueError(f"cell {name!r}: {param} must be a number or [lo, hi]")
    return out


def _strings(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"test-set file: {key!r} must be a list of strings")
    return value


def _explicit_cells(data: Mapping[str, Any], others: str) -> tuple[ExplicitCell, ...]:
    entries = data.get("cells", [])
    if not isinstance(entries, list):
        raise ValueError("test-set file: 'cells' must be a list")
    cells = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name", f"cell{i}"), str):
            raise ValueError(f"test-set file: cells[{i}] must be a mapping with a string name")
        name = entry.get("name", f"cell{i}")
        cell_others = entry.get("others", others)
        cells.append(ExplicitCell(name, _cell_values(name, entry.get("values")), str(cell_others)))
    return tuple(cells)


def read_test_set_file(path: str | Path) -> EvalSpec:
    """A YAML test-set file: ``others``, ``sets``, ``sweeps``, ``grids``, ``cells``."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the test-set file ({type(exc).__name__})") from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: a test-set file is a mapping")
    unknown = sorted(set(data) - {"others", "sets", "sweeps", "grids", "cells"})
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown}")
    others = str(data.get("others", NOMINAL))
    return EvalSpec(
        sets=tuple(_strings(data, "sets")),
        sweeps=tuple(parse_sweep(s) for s in _strings(data, "sweeps")),
        grids=tuple(parse_grid(s) for s in _strings(data, "grids")),
        cells=_explicit_cells(data, others),
        others=others,
    )


def _nominal(cfg: ADRConfig) -> dict[str, Range]:
    out = {}
    for name, p in cfg.params.items():
        centre = sum(p.init_range) / 2.0
        if p.type is ParamType.CATEGORICAL:
            centre = float(math.floor(centre))
        out[name] = (centre, centre)
    return out


def _fixed_ranges(name: str, cfg: ADRConfig, ranges_of: RangesOf) -> dict[str, Range]:
    if name == NOMINAL:
        return _nominal(cfg)
    if name == "init":
        return init_ranges(cfg)
    if name == "limits":
        return limit_ranges(cfg)
    if name.startswith("ranges-of:"):
        return dict(ranges_of(name.removeprefix("ranges-of:")))
    if name.startswith("scaled:"):
        factor, _, base = name.removeprefix("scaled:").partition(":")
        if base == OWN_RANGES:
            raise ValueError(f"{name}: scale a fixed range set, not {OWN_RANGES}")
        return scaled_ranges(
            _fixed_ranges(base or "init", cfg, ranges_of), _number(factor, name), cfg
        )
    raise ValueError(
        f"unknown range set {name!r} (nominal, init, checkpoint, limits, "
        "ranges-of:<checkpoint>, scaled:<f>[:<set>])"
    )


def range_set_cell(name: str, cfg: ADRConfig, ranges_of: RangesOf) -> Cell:
    """The one cell of a named range set."""
    if name == OWN_RANGES:
        return range_cell(name, None)
    return range_cell(name, _fixed_ranges(name, cfg, ranges_of))


def build_cells(spec: EvalSpec, cfg: ADRConfig, ranges_of: RangesOf) -> tuple[Cell, ...]:
    """Every cell of ``spec`` for the parameter set ``cfg``, checked.

    Raises:
        ValueError: one line: an unknown range set or parameter, a point outside
            its parameter's limits, an empty test set, ...
    """
    cells: list[Cell] = [range_set_cell(name, cfg, ranges_of) for name in spec.sets]
    others = range_set_cell(spec.others, cfg, ranges_of)
    for axis in spec.sweeps:
        cells.extend(sweep_cells(axis.param, axis.points, others))
    for a, b in spec.grids:
        cells.extend(grid_cells((a.param, a.points), (b.param, b.points), others))
    for explicit in spec.cells:
        base = range_set_cell(explicit.others, cfg, ranges_of)
        ranges = {**base.ranges, **explicit.values}
        cells.append(
            Cell(group=explicit.name, label=explicit.name, ranges=ranges, rest_own=base.rest_own)
        )
    check_cells(cells, cfg)
    return tuple(cells)
