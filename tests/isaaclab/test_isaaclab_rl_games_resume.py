"""Resume through Isaac Lab's own ``isaaclab train --rl_library rl_games``, across processes.

Isaac-Cartpole-Adr's rl_games agent config names the env ``rlgpu_adr``, so
rl_games saves the ADR state as every checkpoint's ``env_state``. N = 2
epochs, stop, resume with Isaac Lab's ``--checkpoint <file>`` up to epoch 3:
the ADR state of the final checkpoint is bit-identical to that of 3 straight
epochs (a damaged ADR state is refused: ``test_isaaclab_rl_games.py``).

Episodes last 1 step, so every finished episode scores 1 with ``Survived``
whatever the policy does, and ADR moves bounds within 3 epochs of 16 envs.
"""

from __future__ import annotations

import subprocess
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import torch

from adr_domain import ENGINE_STATE_KEY
from adr_infra import ENV_STATE_KEY
from adr_lab.isaaclab.env_state import ADR_CHECKSUM_KEY, STEP_COUNTER_KEY
from app_helpers import trees_equal
from isaaclab_cli import RL_GAMES_RUNS, run_resume_legs, saved_dict, start_train, train_command

HORIZON = 8
SETTINGS = (
    "--seed",
    "5",
    f"agent.params.config.horizon_length={HORIZON}",
    f"agent.params.config.minibatch_size={2 * HORIZON * 4}",
    "agent.params.config.mini_epochs=1",
    "agent.params.torch_threads=1",  # rl_games takes up to 4 cores by default
    "env.episode_length_s=0.016",  # ceil(0.016 / (1/60)) = 1 step
)


def _start(cwd: Path, name: str, epochs: int, *extra: str) -> subprocess.Popen[bytes]:
    """``isaaclab train`` of rl_games in ``cwd`` up to epoch ``epochs``, run ``name``, started."""
    command = train_command(
        16, epochs, *SETTINGS, "--run_timestamp", name, *extra, library="rl_games"
    )
    return start_train(cwd, name, command)


def _checkpoint(cwd: Path, name: str, epoch: int) -> Path:
    """The checkpoint run ``name`` wrote at its last epoch, ``epoch``."""
    (path,) = (cwd / RL_GAMES_RUNS / name / "nn").glob(f"last_cartpole_adr_ep_{epoch}_rew*.pth")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Epochs 1-2, epoch 3 resumed from the last checkpoint, and epochs 1-3 straight."""
    cwd = tmp_path_factory.mktemp("isaaclab-rl-games-resume")
    run_resume_legs(cwd, partial(_start, cwd), (2, 3, 3), lambda: _checkpoint(cwd, "first", 2))
    first = _checkpoint(cwd, "first", 2)
    return {
        "first": saved_dict(first),
        "resumed": saved_dict(_checkpoint(cwd, "resumed", 3)),
        "straight": saved_dict(_checkpoint(cwd, "straight", 3)),
    }


@pytest.mark.slow
def test_every_checkpoint_carries_the_adr_state_and_its_checksum(runs: dict[str, Any]) -> None:
    for name in ("first", "resumed", "straight"):
        env_state = runs[name][ENV_STATE_KEY]
        assert ENGINE_STATE_KEY in env_state, name
        assert str(env_state[ADR_CHECKSUM_KEY]).startswith("sha256:"), name
        assert {"model", "optimizer", "epoch"} <= set(runs[name]), name


@pytest.mark.slow
def test_resumed_adr_state_is_that_of_the_straight_run(runs: dict[str, Any]) -> None:
    """2 + 1 resumed epochs leave the ADR state of 3 straight ones, bit for bit."""
    resumed, straight = runs["resumed"][ENV_STATE_KEY], runs["straight"][ENV_STATE_KEY]
    assert trees_equal(resumed, straight) == []
    assert resumed[STEP_COUNTER_KEY] == 3 * HORIZON
    assert runs["resumed"]["epoch"] == runs["straight"]["epoch"] == 3


@pytest.mark.slow
def test_the_resumed_epoch_moved_the_adr_state(runs: dict[str, Any]) -> None:
    """Not vacuous: ADR widened ranges, and the resumed epoch updated ADR further."""
    first = runs["first"][ENV_STATE_KEY][ENGINE_STATE_KEY]
    resumed = runs["resumed"][ENV_STATE_KEY][ENGINE_STATE_KEY]
    init = torch.tensor([[1.0, 1.0], [0.0, 0.0], [1.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    assert not torch.equal(first["bounds"], init)
    assert trees_equal(first, resumed) != []
    assert resumed["step"] == first["step"] + HORIZON
