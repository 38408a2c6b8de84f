"""``isaaclab train`` finds Isaac-Cartpole-Adr through the entry point and trains with ADR."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from adr_domain import adr_log_keys
from adr_lab.isaaclab.tasks.cartpole import CARTPOLE_ADR
from isaaclab_cli import RUNS, train_command, train_env


@pytest.mark.slow
def test_isaaclab_train_runs_the_adr_cartpole_from_the_entry_point(tmp_path: Path) -> None:
    """Two PPO iterations of 16 envs on Newton/CPU log every adr/... key and save a model."""
    done = subprocess.run(
        train_command(16, 2),
        cwd=tmp_path,
        env=train_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    for key in adr_log_keys(tuple(CARTPOLE_ADR["params"])):
        assert key in output, key
    assert list((tmp_path / RUNS).glob("*/model_*.pt"))
