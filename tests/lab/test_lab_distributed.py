"""Two gloo ranks under torchrun share one ADR curriculum over real mjlab envs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from adr_infra import load_checkpoint
from adr_lab.tasks.cartpole import TASK_ID
from app_helpers import run_app
from paths import SUPPORT

pytestmark = pytest.mark.slow

WORKER = SUPPORT / "lab_rank_worker.py"
STEPS = 40


def test_two_gloo_ranks_hold_identical_ranges_after_every_update(tmp_path: Path) -> None:
    """Ranks resetting on different steps update once per step and agree after every update."""
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
    result = run_app(command, SUPPORT, timeout=300, extra_env={"PYTHONPATH": str(SUPPORT)})
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-4000:])
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    for seen in ranks:
        assert seen["mismatches"] == []
        assert seen["updates_per_step"] == [1] * STEPS
    one_sided = [a != b for a, b in zip(ranks[0]["resets"], ranks[1]["resets"], strict=True)]
    assert any(one_sided), "the ranks always reset together: the step sync was not exercised"
    assert torch.equal(ranks[0]["bounds"], ranks[1]["bounds"])
    assert (ranks[0]["bounds"] != ranks[0]["init"]).any(), "no bound moved"
    # One seed for the curriculum, but every rank draws its own noise.
    assert not torch.equal(ranks[0]["seed_draw"], ranks[1]["seed_draw"])


def test_mjlab_train_under_torchrun_trains_on_two_cpu_ranks_with_the_adr_runner(
    tmp_path: Path,
) -> None:
    """rsl_rl's multi-process training runs on gloo CPU ranks; rank 0 saves the ADR state."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "mjlab.scripts.train",
        TASK_ID,
        *("--env.scene.num-envs", "8", "--agent.max-iterations", "2"),
        *("--agent.num-steps-per-env", "8", "--agent.save-interval", "1"),
        *("--agent.logger", "tensorboard"),
    ]
    result = run_app(command, tmp_path, timeout=400, extra_env={"CUDA_VISIBLE_DEVICES": ""})
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-4000:])
    assert "Synchronizing parameters for rank 1" in result.stdout
    (saved,) = tmp_path.glob("logs/rsl_rl/cartpole_adr/*/model_1.pt")
    checkpoint = load_checkpoint(saved)
    assert checkpoint.engine_state is not None
    assert checkpoint.engine_state["num_envs"] == 8
