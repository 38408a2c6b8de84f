"""DR sampling rules: schedules, draws from a DR entry, material buckets.

Pure functions of a DR entry, a frame count and a ``torch.Generator``; the
:class:`~adr_isaac.randomizer.PropertyRandomizer` applies their values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

__all__ = ["bucketize", "combine", "draw_samples", "schedule_scaling"]


def schedule_scaling(entry: Mapping[str, Any], step: int) -> float:
    """The schedule factor of an entry at frame ``step`` (1 without a schedule)."""
    schedule = entry.get("schedule")
    if schedule is None:
        return 1.0
    steps = int(entry["schedule_steps"])
    if schedule == "linear":
        return min(max(step, 0), steps) / steps
    return 0.0 if step < steps else 1.0


def draw_samples(
    entry: Mapping[str, Any], count: int, step: int, generator: torch.Generator
) -> torch.Tensor:
    """``(count,)`` float64 samples of one DR entry.

    ``uniform`` draws from ``[lo, hi]``; ``loguniform`` from ``[lo, hi]``
    uniformly in log space; ``gaussian`` reads ``range`` as ``[mean, std]``.
    A schedule scales the range towards 0 (``additive``) or 1 (``scaling``).
    A point range ``[v, v]`` gives exactly ``v`` (a boundary worker's bound).
    One call draws ``count`` numbers from ``generator`` whatever the range.

    Raises:
        ValueError: a loguniform range that is not positive.
    """
    lo, hi = (float(v) for v in entry["range"])
    scaling = schedule_scaling(entry, step)
    if entry["operation"] == "additive":
        lo, hi = lo * scaling, hi * scaling
    else:
        lo, hi = lo * scaling + (1.0 - scaling), hi * scaling + (1.0 - scaling)
    f64 = torch.float64
    if entry["distribution"] == "gaussian":
        return lo + hi * torch.randn(count, generator=generator, dtype=f64)
    u = torch.rand(count, generator=generator, dtype=f64)
    if lo == hi:
        return torch.full((count,), lo, dtype=f64)
    if entry["distribution"] == "loguniform":
        if lo <= 0.0:
            raise ValueError(f"loguniform DR entry needs a positive range, got [{lo}, {hi}]")
        log_lo, log_hi = math.log(lo), math.log(hi)
        return torch.exp(log_lo + (log_hi - log_lo) * u)
    return lo + (hi - lo) * u


def bucketize(values: torch.Tensor, entry: Mapping[str, Any] | None) -> torch.Tensor:
    """Snap values down to ``entry``'s ``num_buckets`` material buckets (if any).

    Buckets split the entry's range (``uniform``) or mean ± 2 sqrt(second
    value) (otherwise) into equal parts; a value below the first bucket goes
    to the first bucket (IsaacGymEnvs wraps it to the last one).
    """
    if entry is None:
        return values
    n = int(entry.get("num_buckets", 0))
    if n <= 0:
        return values
    a, b = (float(v) for v in entry["range"])
    if entry["distribution"] == "uniform":
        lo, hi = a, b
    else:
        lo, hi = a - 2.0 * math.sqrt(b), a + 2.0 * math.sqrt(b)
    edges = (hi - lo) * torch.arange(n, dtype=torch.float64) / n + lo
    index = (torch.searchsorted(edges, values, right=True) - 1).clamp(min=0)
    return edges[index]


def combine(original: torch.Tensor, samples: torch.Tensor, operation: str) -> torch.Tensor:
    """``original * samples`` (``scaling``) or ``original + samples`` (``additive``)."""
    return original * samples if operation == "scaling" else original + samples
