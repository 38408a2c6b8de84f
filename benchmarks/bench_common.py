"""What the benchmarks share: the shipped configs and one timing loop."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CFG = ROOT / "cfg"


def load_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping from a file."""
    with path.open() as f:
        data: dict[str, Any] = yaml.safe_load(f)
    return data


def dextreme_cfg(**overrides: Any) -> dict[str, Any]:
    """The shipped 27-parameter DeXtreme ADR block (``cfg/adr/dextreme.yaml``), with overrides."""
    return {**load_yaml(CFG / "adr" / "dextreme.yaml"), **overrides}


def median_us(
    step: Callable[[int], object],
    iters: int,
    repeats: int,
    before: Callable[[], object] | None = None,
) -> float:
    """Median over ``repeats`` runs of microseconds per call of ``step(i)``, ``i < iters``.

    ``before`` runs ahead of each timed run (e.g. a barrier so ranks start together).
    """
    samples = []
    for _ in range(repeats):
        if before is not None:
            before()
        start = time.perf_counter()
        for i in range(iters):
            step(i)
        samples.append((time.perf_counter() - start) / iters * 1e6)
    return statistics.median(samples)


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median over ``repeats`` calls of the seconds one call of ``fn()`` takes."""
    return median_us(lambda _: fn(), 1, repeats) / 1e6
