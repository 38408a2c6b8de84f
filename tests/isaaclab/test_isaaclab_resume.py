"""Resume through Isaac Lab's own ``isaaclab train`` (rsl_rl), across processes.

Isaac-Cartpole-Adr's agent config names ``AdrPPO``, so rsl_rl's stock runner
saves the ADR state in every ``model_<it>.pt``. N = 2 iterations, stop,
resume with Isaac Lab's ``--checkpoint <file>`` for M = 1 more: the ADR state
of the final checkpoint is bit-identical to that of N + M = 3 straight
iterations, though the policy's weights are not (see the last test).

Episodes last 1 step: every env times out at every step (so every finished
episode scores 1 with ``Survived`` whatever the physics does) and ADR moves
bounds within 3 iterations of 16 envs. rsl_rl's ``init_at_random_ep_len``
is off: it draws the episode lengths from torch's global generator at every
``learn`` (so again on resume), and Isaac Lab checkpoints no episode lengths.
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
from isaaclab_cli import RUNS, run_resume_legs, start_train, train_command

STEPS_PER_ITERATION = 8
SETTINGS = (
    "--seed",
    "5",
    f"agent.num_steps_per_env={STEPS_PER_ITERATION}",
    "agent.init_at_random_ep_len=false",
    "env.episode_length_s=0.016",  # ceil(0.016 / (1/60)) = 1 step
)


def _start(cwd: Path, run_name: str, iterations: int, *extra: str) -> subprocess.Popen[bytes]:
    """``isaaclab train`` in ``cwd``, started, its output into ``<run_name>.log``."""
    command = train_command(16, iterations, *SETTINGS, "--run_name", run_name, *extra)
    return start_train(cwd, run_name, command)


def _run(cwd: Path, run_name: str) -> Path:
    """The run directory of ``run_name``."""
    (run,) = (cwd / RUNS).glob(f"*_{run_name}")
    return run


def _saved(run: Path, iteration: int) -> dict[str, Any]:
    saved: dict[str, Any] = torch.load(run / f"model_{iteration}.pt", weights_only=False)
    return saved


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """N = 2 iterations, 1 more resumed from its last checkpoint, and 3 straight."""
    cwd = tmp_path_factory.mktemp("isaaclab-resume")
    run_resume_legs(cwd, partial(_start, cwd), (2, 1, 3), lambda: _run(cwd, "first") / "model_1.pt")
    first, resumed, straight = (_run(cwd, name) for name in ("first", "resumed", "straight"))
    # rsl_rl resumes at the saved iteration's number: the resumed run's one
    # iteration is numbered 1 again, and its final checkpoint is model_1.pt.
    return {
        "first": _saved(first, 1),
        "resumed": _saved(resumed, 1),
        "straight": _saved(straight, 2),
        "first_0": _saved(first, 0),
        "straight_0": _saved(straight, 0),
    }


@pytest.mark.slow
def test_every_checkpoint_carries_the_adr_state_and_its_checksum(runs: dict[str, Any]) -> None:
    for name, saved in runs.items():
        assert ENGINE_STATE_KEY in saved[ENV_STATE_KEY], name
        assert str(saved[ADR_CHECKSUM_KEY]).startswith("sha256:"), name
        assert {"actor_state_dict", "critic_state_dict", "optimizer_state_dict"} <= set(saved)


@pytest.mark.slow
def test_resumed_adr_state_is_that_of_the_straight_run(runs: dict[str, Any]) -> None:
    """2 + 1 resumed iterations leave the ADR state of 3 straight ones, bit for bit."""
    resumed, straight = runs["resumed"][ENV_STATE_KEY], runs["straight"][ENV_STATE_KEY]
    assert trees_equal(resumed, straight) == []
    assert runs["resumed"][ADR_CHECKSUM_KEY] == runs["straight"][ADR_CHECKSUM_KEY]
    assert resumed[STEP_COUNTER_KEY] == 3 * STEPS_PER_ITERATION


@pytest.mark.slow
def test_the_resumed_iteration_moved_the_adr_state(runs: dict[str, Any]) -> None:
    """Not vacuous: ADR widened ranges, and the resumed iteration changed them further."""
    first = runs["first"][ENV_STATE_KEY][ENGINE_STATE_KEY]
    resumed = runs["resumed"][ENV_STATE_KEY][ENGINE_STATE_KEY]
    init = torch.tensor([[1.0, 1.0], [0.0, 0.0], [1.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    assert not torch.equal(first["bounds"], init)
    assert not torch.equal(resumed["bounds"], first["bounds"])
    assert resumed["step"] == first["step"] + STEPS_PER_ITERATION


@pytest.mark.slow
def test_isaaclab_train_is_deterministic_within_a_process_history(runs: dict[str, Any]) -> None:
    """Two processes of the same seed write the same ``model_0.pt`` (policy, optimizer, ADR).

    So where a resumed run's policy differs from the straight run's (by up to
    about 0.05 in a weight after the one resumed iteration here), that is what
    a resume does not restore: torch's global generator (action sampling,
    minibatches), the physics state and the episode buffers, which Isaac Lab's
    checkpoints do not hold (the envs continue from a fresh reset).
    """
    first, straight = runs["first_0"], runs["straight_0"]
    for key in ("actor_state_dict", "critic_state_dict", "optimizer_state_dict", ENV_STATE_KEY):
        assert trees_equal(first[key], straight[key]) == [], key
