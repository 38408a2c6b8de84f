"""``isaaclab train`` finds Isaac-Cartpole-Adr through the entry point and trains with ADR."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adr_domain import adr_log_keys
from adr_lab.isaaclab.tasks.cartpole import CARTPOLE_ADR, TASK_ID

ISAACLAB = Path(sys.executable).with_name("isaaclab")


@pytest.mark.slow
def test_isaaclab_train_runs_the_adr_cartpole_from_the_entry_point(tmp_path: Path) -> None:
    """Two PPO iterations of 16 envs on Newton/CPU log every adr/... key and save a model."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command = [
        str(ISAACLAB),
        "train",
        "--task",
        TASK_ID,
        "--rl_library",
        "rsl_rl",
        "--num_envs",
        "16",
        "--device",
        "cpu",
        "presets=newton_mjwarp",
        "agent.device=cpu",
        "--max_iterations",
        "2",
    ]
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    for key in adr_log_keys(tuple(CARTPOLE_ADR["params"])):
        assert key in output, key
    assert list((tmp_path / "logs" / "rsl_rl" / "cartpole_adr").glob("*/model_*.pt"))
