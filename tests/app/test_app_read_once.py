"""A checkpoint chosen by selector is decoded once, from choosing it to restoring it
(real adr-train subprocesses whose ``.pth`` store writes down every file it decodes)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from adr_infra import RunLayout
from app_helpers import TINY, adr_train, trained_run
from counting_train import DECODE_LOG
from paths import support_pythonpath

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-epoch run of experiment 'once' (periodic, reward-best and robust-best files)."""
    return trained_run(tmp_path_factory.mktemp("once"), "once", 2)


def decoded_by(cwd: Path, *overrides: str) -> list[str]:
    """The names of the files an adr-train run decoded, in order."""
    log = cwd / "decoded.txt"
    log.unlink(missing_ok=True)
    result = adr_train(
        cwd,
        *TINY,
        "experiment=once",
        *overrides,
        module="counting_train",
        extra_env={DECODE_LOG: str(log), "PYTHONPATH": support_pythonpath()},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [Path(line).name for line in log.read_text(encoding="utf-8").splitlines()]


def test_resuming_latest_decodes_the_chosen_file_once(run: Path) -> None:
    """checkpoint=latest reads a damaged newer file (skipped) and the latest one, each once."""
    layout = RunLayout("once", run / "runs")
    latest = layout.latest()
    assert latest is not None
    damaged = layout.periodic_path(999, 1.0)
    damaged.write_bytes(b"")
    try:
        decoded = decoded_by(run, "checkpoint=latest", "max_iterations=3")
    finally:
        damaged.unlink()
    assert decoded == [damaged.name, latest.name]


def test_playing_best_decodes_the_robust_file_once(run: Path) -> None:
    """checkpoint=best test=True: the player plays the file that choosing it read."""
    robust = RunLayout("once", run / "runs").robust_path()
    assert robust.is_file()
    decoded = decoded_by(run, "checkpoint=best", "test=True", "test_games=4")
    assert decoded == [robust.name]


def test_a_path_outside_its_run_directory_is_decoded_once(run: Path, tmp_path: Path) -> None:
    """checkpoint=<file> with no run.yaml beside it: its recorded settings and its restore
    come from one decode."""
    latest = RunLayout("once", run / "runs").latest()
    assert latest is not None
    moved = tmp_path / "moved.pth"
    shutil.copyfile(latest, moved)
    decoded = decoded_by(run, f"checkpoint={moved}", "max_iterations=3")
    assert decoded == [moved.name]
