"""mjlab's own train script trains and resumes the ADR task; adr-plot draws its ranges."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from adr_app import plot
from adr_infra import load_checkpoint
from adr_lab.tasks.cartpole import TASK_ID
from app_helpers import run_app

pytestmark = pytest.mark.slow

CPU = {"CUDA_VISIBLE_DEVICES": "", "MJLAB_WARP_QUIET": "1"}
TINY = [
    "--env.scene.num-envs",
    "8",
    "--agent.num-steps-per-env",
    "16",
    "--agent.save-interval",
    "1",
    "--agent.logger",
    "tensorboard",
]


def _train(cwd: Path, *args: str) -> Path:
    """Run ``python -m mjlab.scripts.train`` on the ADR Cartpole; return the new run directory."""
    before = set((cwd / "logs/rsl_rl/cartpole_adr").glob("*")) if (cwd / "logs").exists() else set()
    command = [sys.executable, "-m", "mjlab.scripts.train", TASK_ID, *TINY, *args]
    result = run_app(command, cwd, timeout=300, extra_env=CPU)
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    (run,) = set((cwd / "logs/rsl_rl/cartpole_adr").glob("*")) - before
    return run


def test_mjlab_train_trains_the_registered_adr_task_and_resumes_its_curriculum(
    tmp_path: Path,
) -> None:
    """A fresh interpreter finds the task by its entry point, trains, saves ADR, and resumes it."""
    first = _train(tmp_path, "--agent.max-iterations", "2")
    saved = load_checkpoint(first / "model_1.pt")
    assert saved.engine_state is not None and saved.epoch == 1
    resumed_run = _train(
        tmp_path,
        "--agent.max-iterations",
        "1",
        "--agent.resume",
        "True",
        "--agent.load-run",
        first.name,
        "--agent.load-checkpoint",
        "model_1.pt",
    )
    # rsl_rl numbers a resumed run's checkpoints on from the loaded iteration.
    resumed = load_checkpoint(resumed_run / "model_1.pt")
    assert resumed.engine_state is not None
    assert resumed.engine_state["step"] > saved.engine_state["step"]
    assert resumed.env_state is not None and saved.env_state is not None
    assert resumed.env_state["common_step_counter"] > saved.env_state["common_step_counter"]

    png = tmp_path / "ranges.png"
    assert plot.main([str(first), "-o", str(png)]) == 0
    params, npd = plot.read_adr_scalars(first)
    assert set(params) == set(saved.engine_state["param_names"])
    assert npd and png.stat().st_size > 0
