"""Running adr-train in real subprocesses with tiny, fast configs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adr_infra import tree_differences

# Small enough to train an epoch in a fraction of a second on one core; ADR
# thresholds below any possible mean so every full queue widens its bound.
TINY = [
    "num_envs=64",
    "train.params.config.horizon_length=8",
    "train.params.config.minibatch_size=512",
    "train.params.config.mini_epochs=2",
    "train.params.config.save_frequency=1",
    "train.params.config.save_best_after=1",
    "task.task.adr.adr_queue_threshold_length=2",
    "task.task.adr.adr_objective_threshold_low=-2",
    "task.task.adr.adr_objective_threshold_high=-1",
    "task.env.maxStepsWithoutSuccess=6",
]


QUIET_ENV = {"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
"""One thread per process, no warnings: what every app subprocess of the tests runs with."""


def run_app(
    command: list[str],
    cwd: Path,
    timeout: float = 300,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in ``cwd`` (its runs/ go there), capturing text output."""
    env = {**os.environ, **QUIET_ENV, **(extra_env or {})}
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def adr_train(
    cwd: Path,
    *overrides: str,
    timeout: float = 300,
    module: str = "adr_app.train",
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m adr_app.train`` in ``cwd``."""
    return run_app([sys.executable, "-m", module, *overrides], cwd, timeout, extra_env)


def checkpoints(run_dir: Path) -> list[Path]:
    return sorted(p for p in (run_dir / "nn").iterdir() if p.suffix in (".pth", ".h5"))


def epoch_of(path: Path) -> int:
    name = path.name
    return int(name.split("_ep_")[1].split("_")[0])


def trees_equal(a: Any, b: Any, path: str = "") -> list[str]:
    """Paths where two state trees differ (empty: bit-identical)."""
    return tree_differences(a, b, path)
