"""Two gloo ranks under torchrun share one ADR curriculum over real Isaac Lab envs (Newton, CPU).

Isaac Lab's own multi-GPU training refuses the CPU (``isaaclab train
--distributed`` with ``--device cpu``, and rsl_rl's runner initializes NCCL
on ``cuda:<local_rank>``), so the ranks here step their envs themselves.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from app_helpers import run_app
from paths import SUPPORT, support_pythonpath

pytestmark = pytest.mark.slow

WORKER = SUPPORT / "isaaclab_rank_worker.py"
STEPS = 30


def test_two_gloo_ranks_hold_identical_ranges_after_every_step(tmp_path: Path) -> None:
    """Ranks resetting on different steps update once per step and agree after every step."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(WORKER),
        str(tmp_path),
        str(STEPS),
    ]
    result = run_app(command, SUPPORT, timeout=300, extra_env={"PYTHONPATH": support_pythonpath()})
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-4000:])
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    for seen in ranks:
        assert seen["mismatches"] == []
        assert seen["updates_per_step"] == [1] * STEPS
    one_sided = [a != b for a, b in zip(ranks[0]["resets"], ranks[1]["resets"], strict=True)]
    assert any(one_sided), "the ranks always reset together: the step sync was not exercised"
    assert not all(ranks[0]["resets"]), "rank 0 reset on every step: the step sync was idle"
    assert torch.equal(ranks[0]["bounds"], ranks[1]["bounds"])
    assert (ranks[0]["bounds"] != ranks[0]["init"]).any(), "no bound moved"
    # One seed for the curriculum, but every rank draws its own noise.
    assert not torch.equal(ranks[0]["seed_draw"], ranks[1]["seed_draw"])
