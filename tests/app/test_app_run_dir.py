"""A run owns its run directory: real concurrent adr-train processes, a real SIGKILLed one,
fresh runs into used directories, and retention that only removes the run's own files."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from adr_infra import Checkpoint, RunLayout, load_checkpoint, save_checkpoint
from app_helpers import ADR_TRAIN, TINY, Running, adr_train, epochs_printed

pytestmark = pytest.mark.slow


def files_of(layout: RunLayout) -> dict[str, bytes]:
    return {f.path.name: f.path.read_bytes() for f in layout.checkpoints()}


def test_a_second_live_run_on_the_experiment_is_refused_and_the_first_loses_nothing(
    tmp_path: Path,
) -> None:
    """While one run trains (with retention), a second one with another seed and
    keep_checkpoints=1 is refused at once naming the first; the first run's files stay."""
    first = Running([*ADR_TRAIN, *TINY, "experiment=K", "max_iterations=100000"], tmp_path)
    first.wait_until(lambda r: len(epochs_printed(r.stdout)) >= 3)
    layout = RunLayout("K", tmp_path / "runs")
    before = {f.path.name for f in layout.checkpoints()}
    second = adr_train(
        tmp_path, *TINY, "experiment=K", "checkpoint=auto", "seed=7", "keep_checkpoints=1"
    )
    assert second.returncode == 2, second.stderr[-2000:]
    line = second.stderr.strip().splitlines()[-1]
    assert "is in use by process" in line and str(first.pid) in line
    assert "another experiment=" in line
    assert before <= {f.path.name for f in layout.checkpoints()}
    os.kill(first.pid, signal.SIGTERM)
    assert first.wait() == 75


def test_the_lock_of_a_killed_run_is_taken_over_with_a_message(tmp_path: Path) -> None:
    """A SIGKILLed run leaves its lock file; checkpoint=auto takes over, names the dead process
    and resumes where the killed run's last checkpoint stood."""
    killed = Running([*ADR_TRAIN, *TINY, "experiment=K", "max_iterations=100000"], tmp_path)
    killed.wait_until(lambda r: len(epochs_printed(r.stdout)) >= 3)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    layout = RunLayout("K", tmp_path / "runs")
    latest = layout.latest()
    assert latest is not None
    epoch = load_checkpoint(latest).epoch
    assert epoch is not None
    resumed = adr_train(
        tmp_path, *TINY, "experiment=K", "checkpoint=auto", f"max_iterations={epoch + 1}"
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"taking over the run directory runs/K from process {killed.pid}" in resumed.stderr
    assert "no longer running" in resumed.stderr
    assert epochs_printed(resumed.stdout) == [epoch + 1]


def test_a_fresh_run_into_an_experiment_with_checkpoints_is_refused_unless_told(
    tmp_path: Path,
) -> None:
    """No checkpoint= on a used experiment: exit 2 with the ways out; start_over=True moves the
    earlier run to previous/ and starts at epoch 1; checkpoint=auto on an empty one starts fresh."""
    fresh = adr_train(tmp_path, *TINY, "experiment=K", "checkpoint=auto", "max_iterations=1")
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert "starting fresh" in fresh.stderr and epochs_printed(fresh.stdout) == [1]
    layout = RunLayout("K", tmp_path / "runs")
    earlier = files_of(layout)
    refused = adr_train(tmp_path, *TINY, "experiment=K", "seed=7", "max_iterations=1")
    assert refused.returncode == 2
    assert "already has" in refused.stderr and "start_over=True" in refused.stderr
    assert files_of(layout) == earlier
    again = adr_train(tmp_path, *TINY, "experiment=K", "start_over=True", "max_iterations=1")
    assert again.returncode == 0, again.stderr[-3000:]
    assert epochs_printed(again.stdout) == [1]
    (moved,) = (layout.experiment_dir / "previous").iterdir()
    assert {p.name: p.read_bytes() for p in (moved / "nn").iterdir()} == earlier


def test_retention_removes_only_this_runs_files_and_keeps_its_newest(tmp_path: Path) -> None:
    """Resumed from epoch 2 of a 4-epoch run with keep_checkpoints=1: the files of the run's own
    lineage are pruned down to its newest; the later epochs of the other run, an imported file
    of another name and the best files stay."""
    first = adr_train(tmp_path, *TINY, "experiment=K", "max_iterations=4")
    assert first.returncode == 0, first.stderr[-3000:]
    layout = RunLayout("K", tmp_path / "runs")
    by_epoch = {f.name.epoch: f.path for f in layout.checkpoints() if f.name.epoch}
    imported = layout.nn_dir / "last_Imported_ep_999_rew_1.0.pth"
    save_checkpoint(imported, Checkpoint.create({"epoch": 999}, experiment="Imported"))
    second = adr_train(
        tmp_path,
        *TINY,
        "experiment=K",
        f"checkpoint={by_epoch[2]}",
        "keep_checkpoints=1",
        "max_iterations=3",
    )
    assert second.returncode == 0, second.stderr[-3000:]
    remaining = {f.path.name for f in layout.checkpoints()}
    own_newest = max(
        (f for f in layout.checkpoints() if f.name.epoch == 3), key=lambda f: f.mtime_ns
    )
    assert own_newest.path.name in remaining
    assert {by_epoch[4].name, imported.name, "K.pth", "K_robust.pth"} <= remaining
    assert by_epoch[1].name not in remaining and by_epoch[2].name not in remaining
    assert "removed old checkpoint" in second.stderr


def test_copying_a_run_directory_does_not_confuse_latest(tmp_path: Path) -> None:
    """A zero-byte epoch-999 file and another experiment's newer file are skipped by
    checkpoint=latest with a warning naming them; the run resumes from its own newest."""
    first = adr_train(tmp_path, *TINY, "experiment=K", "max_iterations=1")
    assert first.returncode == 0, first.stderr[-3000:]
    other = adr_train(tmp_path, *TINY, "experiment=Other", "max_iterations=2")
    assert other.returncode == 0, other.stderr[-3000:]
    nn = tmp_path / "runs" / "K" / "nn"
    (nn / "last_K_ep_999_rew_1.pth").write_bytes(b"")
    newest_other = max((tmp_path / "runs" / "Other" / "nn").glob("last_Other_ep_2_*"))
    shutil.copy(newest_other, nn / newest_other.name)
    resumed = adr_train(tmp_path, *TINY, "experiment=K", "checkpoint=latest", "max_iterations=2")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "last_K_ep_999_rew_1.pth: empty file" in resumed.stderr
    assert f"{newest_other.name}: a checkpoint of experiment 'Other'" in resumed.stderr
    assert epochs_printed(resumed.stdout) == [2]
