"""mjlab's own train script trains the ADR task on two CPU ranks and resumes its curriculum."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from adr_app.cli import plot
from adr_infra import load_checkpoint
from adr_lab.tasks.cartpole import TASK_ID
from app_helpers import run_app

pytestmark = pytest.mark.slow

CPU = {"CUDA_VISIBLE_DEVICES": "", "MJLAB_WARP_QUIET": "1"}
TRAIN = ["-m", "mjlab.scripts.train", TASK_ID]
TINY = [
    *("--env.scene.num-envs", "8", "--agent.num-steps-per-env", "8"),
    *("--agent.save-interval", "1", "--agent.logger", "tensorboard"),
]
TORCHRUN = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]


def _train(cwd: Path, launcher: list[str], *args: str) -> tuple[Path, str]:
    """Run mjlab's train script on the ADR Cartpole; its new run directory and stdout."""
    runs = cwd / "logs/rsl_rl/cartpole_adr"
    before = set(runs.glob("*"))
    result = run_app([sys.executable, *launcher, *TRAIN, *TINY, *args], cwd, 400, CPU)
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    # Under torchrun on CPU every rank names a run directory from its own clock
    # (mjlab's train script); only rank 0's holds checkpoints.
    (run,) = [r for r in set(runs.glob("*")) - before if any(r.glob("model_*.pt"))]
    return run, result.stdout


def test_mjlab_train_trains_on_two_cpu_ranks_then_resumes_the_curriculum_in_one(
    tmp_path: Path,
) -> None:
    """Fresh interpreters find the task by its entry point; torchrun trains, one process resumes."""
    first, stdout = _train(tmp_path, TORCHRUN, "--agent.max-iterations", "2")
    assert "Synchronizing parameters for rank 1" in stdout
    saved = load_checkpoint(first / "model_1.pt")
    assert saved.engine_state is not None and saved.epoch == 1
    resume = ("--agent.resume", "True", "--agent.load-run", first.name)
    again, _ = _train(tmp_path, [], "--agent.max-iterations", "1", *resume)
    # rsl_rl numbers a resumed run's checkpoints on from the loaded iteration.
    resumed = load_checkpoint(again / "model_1.pt")
    assert resumed.engine_state is not None
    assert resumed.engine_state["step"] > saved.engine_state["step"]
    assert resumed.env_state is not None and saved.env_state is not None
    assert resumed.env_state["common_step_counter"] > saved.env_state["common_step_counter"]

    png = tmp_path / "ranges.png"
    assert plot.main([str(first), "-o", str(png)]) == 0
    params, npd = plot.read_adr_scalars(first)
    assert set(params) == set(saved.engine_state["param_names"])
    assert npd and png.stat().st_size > 0
