"""Preemption, for real: a signal sent with os.kill to a running adr-train at a random
moment saves the epoch reached, prints the file and the resume command, exits 75, and the
resumed run is the uninterrupted run bit for bit."""

from __future__ import annotations

import os
import random
import shlex
import signal
import time
from pathlib import Path

import pytest

from adr_app.cli.plot import read_adr_scalars
from adr_infra import RunLayout, is_temp_file, load_checkpoint
from app_helpers import (
    ADR_TRAIN,
    STOPPED,
    TINY,
    Running,
    adr_train,
    assert_same_training_state,
    epochs_printed,
    run_app,
    stop_at_a_random_moment,
    with_overrides,
)

pytestmark = pytest.mark.slow

EXIT_PREEMPTED = 75
# Exact-resume settings; no periodic saves, as with the default save frequency mid-way.
EXACT = [*TINY, "train.params.config.save_frequency=1000", "torch_deterministic=True", "seed=7"]


@pytest.mark.parametrize(
    ("sig", "selector"),
    [(signal.SIGTERM, "latest"), (signal.SIGUSR1, "auto")],
    ids=["SIGTERM-latest", "SIGUSR1-auto"],
)
def test_a_signal_at_a_random_moment_saves_the_epoch_reached_and_the_run_resumes_exactly(
    tmp_path: Path, sig: signal.Signals, selector: str
) -> None:
    """Stopped at a random epoch: exit 75, the newest checkpoint is that epoch, the printed
    command (with checkpoint=latest, or auto) continues from the next epoch exactly as an
    uninterrupted run."""
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    first = [*EXACT, "experiment=pre", "max_iterations=100000"]
    if selector == "auto":
        first.append("checkpoint=auto")  # a requeued job's command: fresh the first time
    run = Running([*ADR_TRAIN, *first], tmp_path, "first")
    stop_at_a_random_moment(run, sig, rng)
    assert run.wait() == EXIT_PREEMPTED, (seed, run.stderr[-3000:])
    reached = epochs_printed(run.stdout)[-1]
    match = STOPPED.search(run.stderr)
    assert match is not None, (seed, run.stderr[-3000:])
    assert match.group(1) == sig.name and int(match.group(2)) == reached, seed
    saved = tmp_path / match.group(3)
    layout = RunLayout("pre", tmp_path / "runs")
    assert layout.latest() == saved and load_checkpoint(saved).epoch == reached, seed
    assert not [p for p in layout.nn_dir.iterdir() if is_temp_file(p)]

    command = shlex.split(match.group(4))
    assert command[-1] == "checkpoint=latest"
    resume = with_overrides(command, max_iterations=str(reached + 2), checkpoint=selector)
    resumed = run_app(resume, tmp_path)
    assert resumed.returncode == 0, (seed, resumed.stderr[-3000:])
    assert epochs_printed(resumed.stdout) == [reached + 1, reached + 2], seed

    straight = adr_train(tmp_path, *EXACT, "experiment=straight", f"max_iterations={reached + 2}")
    assert straight.returncode == 0, straight.stderr[-3000:]
    ends = [RunLayout(name, tmp_path / "runs").latest() for name in ("pre", "straight")]
    assert ends[0] is not None and ends[1] is not None
    assert load_checkpoint(ends[0]).epoch == reached + 2
    assert_same_training_state(ends[0], ends[1])
    assert read_adr_scalars(layout.summaries_dir) == read_adr_scalars(
        tmp_path / "runs" / "straight" / "summaries"
    )


def test_more_signals_while_stopping_tear_nothing(tmp_path: Path) -> None:
    """SIGINT (Ctrl-C), then SIGTERM and SIGINT every few milliseconds until the process ends:
    still one clean stop, a complete checkpoint of the epoch reached, no temp file."""
    run = Running([*ADR_TRAIN, *EXACT, "experiment=burst"], tmp_path, "burst")
    run.wait_until(lambda r: len(epochs_printed(r.stdout)) >= 2)
    sent = 0
    while run.proc.poll() is None and sent < 20_000:
        os.kill(run.pid, (signal.SIGINT, signal.SIGTERM)[sent % 2])
        sent += 1
        time.sleep(0.003)
    assert run.wait() == EXIT_PREEMPTED, run.stderr[-3000:]
    assert run.stderr.count("stopping after the epoch in progress") == 1
    assert "stopped by SIGINT after epoch" in run.stderr
    assert "already stopping" in run.stderr and "Traceback" not in run.stderr
    layout = RunLayout("burst", tmp_path / "runs")
    latest = layout.latest()
    assert latest is not None and load_checkpoint(latest).epoch == epochs_printed(run.stdout)[-1]
    assert not [p for p in layout.nn_dir.iterdir() if is_temp_file(p)]
