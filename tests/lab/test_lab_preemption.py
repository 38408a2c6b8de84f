"""Preemption of mjlab training, for real: SIGTERM at a random moment to mjlab's train script
finishes the iteration in progress, saves it, prints the file and the resume command, exits
75, and the printed command ends with the ADR state of the uninterrupted run."""

from __future__ import annotations

import os
import random
import re
import shlex
import signal
import sys
import time
from pathlib import Path

import pytest

from adr_infra import is_temp_file, load_checkpoint
from app_helpers import Running, run_app, trees_equal
from paths import SUPPORT, support_pythonpath

pytestmark = pytest.mark.slow

EXIT_PREEMPTED = 75
TRAIN = [sys.executable, str(SUPPORT / "lab_preempt_train.py"), "Test-Cartpole-Scheduled-Adr"]
ITERATIONS = 24
STOP_BY = ITERATIONS // 2
"""The signal comes once a random iteration below this one printed (then within 50 ms):
iterations take about 0.1 s here, so a wall-clock delay could miss the training."""
TINY = [
    *("--env.scene.num-envs", "8", "--agent.num-steps-per-env", "2"),
    *("--agent.save-interval", "1000", "--agent.logger", "tensorboard"),
    *("--agent.max-iterations", str(ITERATIONS), "--log-root", "logs"),
]
STOPPED = re.compile(
    r"^mjlab train: stopped by (SIG\w+) after iteration (\d+): saved (\S+); resume with: (.+)$",
    re.M,
)


def _iterations(stdout: str) -> list[int]:
    return [int(m) for m in re.findall(r"Learning iteration (\d+)/", stdout)]


def _run_dir(root: Path, experiment: str) -> list[Path]:
    return sorted((root / "logs" / experiment).iterdir())


def _final(run_dir: Path) -> Path:
    return max(run_dir.glob("model_*.pt"), key=lambda p: int(p.stem.split("_")[1]))


def test_sigterm_at_a_random_moment_saves_the_iteration_reached_and_resumes_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 75; the newest checkpoint is the iteration reached; the printed command trains
    the remaining iterations, ending with the ADR state and model fields of a straight run."""
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("PYTHONUNBUFFERED", "1")
    monkeypatch.setenv("PYTHONPATH", support_pythonpath())
    straight = Running([*TRAIN, *TINY, "--agent.experiment-name", "straight"], tmp_path, "s")
    first = Running([*TRAIN, *TINY, "--agent.experiment-name", "pre"], tmp_path, "first")
    after = rng.randrange(STOP_BY)
    first.wait_until(lambda r: len(_iterations(r.stdout)) > after, timeout=300)
    time.sleep(rng.uniform(0.0, 0.05))
    os.kill(first.pid, signal.SIGTERM)
    assert first.wait(timeout=300) == EXIT_PREEMPTED, (seed, first.stderr[-3000:])
    assert straight.wait(timeout=300) == 0, straight.stderr[-3000:]

    reached = _iterations(first.stdout)[-1]
    match = STOPPED.search(first.stderr)
    assert match is not None, (seed, first.stderr[-3000:])
    assert match.group(1) == "SIGTERM" and int(match.group(2)) == reached, seed
    assert reached < ITERATIONS - 1, (seed, "stopped in the last iteration: widen ITERATIONS")
    (stopped_dir,) = _run_dir(tmp_path, "pre")
    saved = Path(match.group(3))
    assert saved == _final(stopped_dir) == stopped_dir / f"model_{reached}.pt", seed
    assert load_checkpoint(saved).epoch == reached
    assert not [p for p in stopped_dir.iterdir() if is_temp_file(p)]

    resumed = run_app(shlex.split(match.group(4)), tmp_path, timeout=300)
    assert resumed.returncode == 0, (seed, resumed.stderr[-3000:])
    assert _iterations(resumed.stdout) == list(range(reached, ITERATIONS - 1)), seed
    ends = [_final(_run_dir(tmp_path, "pre")[-1]), _final(_run_dir(tmp_path, "straight")[0])]
    states = [load_checkpoint(end).env_state for end in ends]
    assert states[0] is not None and states[1] is not None
    assert trees_equal(states[0], states[1]) == [], seed
    at_stop = load_checkpoint(saved).env_state
    assert at_stop is not None
    assert (states[0]["adr"]["bounds"] != at_stop["adr"]["bounds"]).any(), "nothing moved"
