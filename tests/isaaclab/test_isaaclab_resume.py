"""Resume and preemption through Isaac Lab's own ``isaaclab train`` (rsl_rl), across processes.

Isaac-Cartpole-Adr's agent config names ``AdrPPO``, so rsl_rl's stock runner
saves the ADR state in every ``model_<it>.pt`` and stops on SIGTERM. A run
of ``ITERATIONS`` iterations gets SIGTERM at a random moment of its training:
it finishes the iteration in progress, saves it, prints the command that
resumes it and exits 75; that command trains the remaining iterations, and the
ADR state of its final checkpoint is bit-identical to that of a run of
``ITERATIONS`` straight, though the policy's weights are not (see the last test).

Episodes last 1 step: every env times out at every step (so every finished
episode scores 1 with ``Survived`` whatever the physics does) and ADR moves
bounds within a few iterations of 16 envs. rsl_rl's ``init_at_random_ep_len``
is off: it draws the episode lengths from torch's global generator at every
``learn`` (so again on resume), and Isaac Lab checkpoints no episode lengths.
"""

from __future__ import annotations

import os
import random
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from adr_domain import ENGINE_STATE_KEY
from adr_infra import ENV_STATE_KEY, is_temp_file, load_checkpoint
from adr_lab.rsl_rl_checkpoint import STEP_COUNTER_KEY
from app_helpers import trees_equal
from isaaclab_cli import RUNS, saved_dict, start_train, train_command, train_env

EXIT_PREEMPTED = 75
ITERATIONS = 16
STOP_BY = ITERATIONS // 2
"""The signal comes once a random iteration below this one printed (then within 50 ms),
so that it lands in the training whatever the machine's speed."""
STEPS_PER_ITERATION = 8
SETTINGS = (
    "--seed",
    "5",
    f"agent.num_steps_per_env={STEPS_PER_ITERATION}",
    "agent.init_at_random_ep_len=false",
    "env.episode_length_s=0.016",  # ceil(0.016 / (1/60)) = 1 step
)
STOPPED = re.compile(
    r"^isaaclab train: stopped by (SIG\w+) after iteration (\d+): saved (\S+); "
    r"resume with: (.+)$",
    re.M,
)


def _start(cwd: Path, run_name: str) -> subprocess.Popen[bytes]:
    """``isaaclab train`` in ``cwd``, started, its output into ``<run_name>.log``."""
    command = train_command(16, ITERATIONS, *SETTINGS, "--run_name", run_name)
    return start_train(cwd, run_name, command)


def _output(cwd: Path, run_name: str) -> str:
    return (cwd / f"{run_name}.log").read_text(errors="replace")


def _iterations(output: str) -> list[int]:
    return [int(m) for m in re.findall(r"Learning iteration (\d+)/", output)]


def _wait_for_iteration(cwd: Path, process: subprocess.Popen[bytes], after: int) -> None:
    """Until the run printed iteration ``after``."""
    deadline = time.monotonic() + 300
    while len(_iterations(_output(cwd, "stopped"))) <= after:
        assert process.poll() is None, _output(cwd, "stopped")[-3000:]
        assert time.monotonic() < deadline, "no iteration within 300 s"
        time.sleep(0.05)


def _runs(cwd: Path, run_name: str) -> list[Path]:
    """The run directories of ``run_name``, oldest first (named by their start time)."""
    return sorted((cwd / RUNS).glob(f"*_{run_name}"))


def _final(run: Path) -> Path:
    return max(run.glob("model_*.pt"), key=lambda p: int(p.stem.split("_")[1]))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A straight run, and one stopped by SIGTERM at a random moment then resumed."""
    cwd = tmp_path_factory.mktemp("isaaclab-resume")
    seed = int.from_bytes(os.urandom(4), "little")
    straight = _start(cwd, "straight")  # beside the other one
    try:
        stopped = _start(cwd, "stopped")
        rng = random.Random(seed)
        _wait_for_iteration(cwd, stopped, rng.randrange(STOP_BY))
        time.sleep(rng.uniform(0.0, 0.05))
        stopped.send_signal(signal.SIGTERM)
        code = stopped.wait(timeout=300)
        output = _output(cwd, "stopped")
        assert code == EXIT_PREEMPTED, (seed, output[-3000:])
        line = STOPPED.search(output)
        assert line is not None, (seed, output[-3000:])
        resumed = subprocess.run(
            shlex.split(line.group(4)), cwd=cwd, env=train_env(), capture_output=True, check=False
        )
        assert resumed.returncode == 0, (seed, resumed.stdout[-3000:], resumed.stderr[-3000:])
        assert straight.wait(timeout=300) == 0, _output(cwd, "straight")[-3000:]
    finally:
        if straight.poll() is None:
            straight.kill()
            straight.wait()
    (straight_run,) = _runs(cwd, "straight")
    stopped_run, resumed_run = _runs(cwd, "stopped")
    return {
        "seed": seed,
        "signal": line.group(1),
        "reached": int(line.group(2)),
        "printed": _iterations(output),
        "resumed_printed": _iterations(resumed.stdout.decode(errors="replace")),
        "saved": Path(line.group(3)),
        "stopped_run": stopped_run,
        "at_stop": saved_dict(Path(line.group(3))),
        "resumed": saved_dict(_final(resumed_run)),
        "straight": saved_dict(_final(straight_run)),
        "stopped_0": saved_dict(stopped_run / "model_0.pt"),
        "straight_0": saved_dict(straight_run / "model_0.pt"),
    }


@pytest.mark.slow
def test_sigterm_saves_the_iteration_reached_and_says_how_to_resume(runs: dict[str, Any]) -> None:
    """The line names the signal and the last iteration trained; the newest checkpoint is
    that iteration's, complete (checksum verified) and alone (no temp file left)."""
    seed, reached = runs["seed"], runs["reached"]
    assert runs["signal"] == "SIGTERM"
    assert reached == runs["printed"][-1], seed
    assert reached < ITERATIONS - 1, (seed, "stopped in the last iteration: widen ITERATIONS")
    newest = _final(runs["stopped_run"])
    assert runs["saved"] == newest == runs["stopped_run"] / f"model_{reached}.pt"
    assert load_checkpoint(runs["saved"]).epoch == reached
    assert not [p for p in runs["stopped_run"].iterdir() if is_temp_file(p)]
    # rsl_rl resumes at the saved iteration's number: iterations reached .. ITERATIONS - 2.
    assert runs["resumed_printed"] == list(range(reached, ITERATIONS - 1)), seed


@pytest.mark.slow
def test_every_checkpoint_carries_the_adr_state_and_its_checksum(runs: dict[str, Any]) -> None:
    for name in ("at_stop", "resumed", "straight", "stopped_0", "straight_0"):
        saved = runs[name]
        assert ENGINE_STATE_KEY in saved[ENV_STATE_KEY], name
        assert str(saved["adr_kit"]["checksum"]).startswith("sha256:"), name
        assert {"actor_state_dict", "critic_state_dict", "optimizer_state_dict"} <= set(saved)


@pytest.mark.slow
def test_resumed_adr_state_is_that_of_the_straight_run(runs: dict[str, Any]) -> None:
    """Stopped, then resumed by the printed command: a straight run's ADR state, bit for bit."""
    resumed, straight = runs["resumed"][ENV_STATE_KEY], runs["straight"][ENV_STATE_KEY]
    assert trees_equal(resumed, straight) == [], runs["seed"]
    assert resumed[STEP_COUNTER_KEY] == ITERATIONS * STEPS_PER_ITERATION


@pytest.mark.slow
def test_the_resumed_iterations_moved_the_adr_state(runs: dict[str, Any]) -> None:
    """Not vacuous: ADR widened ranges before the stop, and the resumed run changed them further."""
    at_stop = runs["at_stop"][ENV_STATE_KEY][ENGINE_STATE_KEY]
    resumed = runs["resumed"][ENV_STATE_KEY][ENGINE_STATE_KEY]
    init = runs["stopped_0"][ENV_STATE_KEY][ENGINE_STATE_KEY]["bounds"]
    assert not torch.equal(resumed["bounds"], init)
    assert not torch.equal(resumed["bounds"], at_stop["bounds"])
    left = ITERATIONS - 1 - runs["reached"]
    assert resumed["step"] == at_stop["step"] + left * STEPS_PER_ITERATION


@pytest.mark.slow
def test_isaaclab_train_is_deterministic_within_a_process_history(runs: dict[str, Any]) -> None:
    """Two processes of the same seed write the same ``model_0.pt`` (policy, optimizer, ADR).

    So where a resumed run's policy differs from the straight run's, that is
    what a resume does not restore: torch's global generator (action sampling,
    minibatches), the physics state and the episode buffers, which Isaac Lab's
    checkpoints do not hold (the envs continue from a fresh reset).
    """
    first, straight = runs["stopped_0"], runs["straight_0"]
    for key in ("actor_state_dict", "critic_state_dict", "optimizer_state_dict", ENV_STATE_KEY):
        assert trees_equal(first[key], straight[key]) == [], key


@pytest.mark.slow
def test_adr_ckpt_inspect_reads_the_run(runs: dict[str, Any]) -> None:
    """The run's checkpoints are sim2real-adr checkpoints: ``adr-ckpt`` verifies and shows them."""
    shown = subprocess.run(
        [sys.executable, "-m", "adr_app.cli.ckpt", "inspect", str(runs["stopped_run"])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert f"model_{runs['reached']}.pt" in shown.stdout
    assert "sim2real-adr checkpoint" in shown.stdout
    assert "pole_mass" in shown.stdout
