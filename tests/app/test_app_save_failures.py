"""A save that fails during training, for real (a full 3 MB tmpfs, a read-only directory
with permissions enforced): one line naming the file and the cause, exit 1, no temp file,
the earlier checkpoints intact; with two ranks, both report rank 0's real error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adr_infra import RunLayout, is_temp_file, load_checkpoint
from app_helpers import ADR_TRAIN, TINY, adr_train, run_app, torchrun_command
from mounts import small_tmpfs, unprivileged_prefix

pytestmark = pytest.mark.slow

ERROR = re.compile(r"^adr-train: error: (\S+): cannot save the checkpoint: (.+)$", re.M)


def assert_nothing_lost(layout: RunLayout) -> None:
    """No temp file is left, and every checkpoint listed loads completely."""
    assert not [p for p in layout.nn_dir.iterdir() if is_temp_file(p)]
    listed = layout.checkpoints()
    assert listed, "earlier checkpoints should exist"
    for file in listed:
        assert load_checkpoint(file.path).epoch is not None


@pytest.mark.parametrize("fmt", ["h5", "pth"])
def test_a_full_disk_stops_training_with_one_line_naming_the_file(tmp_path: Path, fmt: str) -> None:
    """train_dir on a 3 MB tmpfs, a save every epoch: exit 1 (no segfault), one error line with
    the file and 'No space left on device', no traceback, earlier checkpoints load."""
    with small_tmpfs(tmp_path / "disk", "3m") as disk:
        result = adr_train(
            tmp_path,
            *TINY,
            f"train_dir={disk / 'runs'}",
            f"checkpoint_format={fmt}",
            "experiment=full",
            "max_iterations=200",
        )
        assert result.returncode == 1, (result.returncode, result.stderr[-3000:])
        errors = [line for line in result.stderr.splitlines() if "error:" in line]
        assert len(errors) == 1, result.stderr[-3000:]
        match = ERROR.search(errors[0])
        assert match is not None and match.group(2) == "No space left on device", errors[0]
        assert match.group(1).endswith(f".{fmt}")
        assert "Traceback" not in result.stderr
        assert_nothing_lost(RunLayout("full", disk / "runs"))


def test_a_denied_permission_is_one_line_naming_the_file(tmp_path: Path) -> None:
    """nn/ read-only, permissions enforced (root's override dropped): exit 1, one line naming
    the checkpoint file and 'Permission denied', no traceback."""
    layout = RunLayout("locked", tmp_path / "runs").create()
    layout.nn_dir.chmod(0o555)
    try:
        command = [*unprivileged_prefix(), *ADR_TRAIN, *TINY, "experiment=locked"]
        result = run_app([*command, "max_iterations=2"], tmp_path)
    finally:
        layout.nn_dir.chmod(0o755)
    assert result.returncode == 1, result.stderr[-3000:]
    match = ERROR.search(result.stderr)
    assert match is not None, result.stderr[-3000:]
    assert match.group(2).startswith("Permission denied")
    assert match.group(1).startswith("runs/locked/nn/")
    assert "Traceback" not in result.stderr
    assert list(layout.nn_dir.iterdir()) == []


def test_with_two_ranks_every_rank_reports_rank_0s_real_save_error(tmp_path: Path) -> None:
    """Rank 0's save fails on a full tmpfs: both ranks print that error (not 'the processes
    lost each other'), nothing is left half-written."""
    with small_tmpfs(tmp_path / "disk", "3m") as disk:
        result = run_app(
            torchrun_command(
                *TINY,
                "multi_gpu=True",
                f"train_dir={disk / 'runs'}",
                "experiment=full",
                "max_iterations=200",
            ),
            tmp_path,
        )
        assert result.returncode != 0
        reports = ERROR.findall(result.stderr)
        assert len(reports) == 2, result.stderr[-4000:]
        assert reports[0] == reports[1] and reports[0][1] == "No space left on device"
        assert "lost each other" not in result.stderr
        assert_nothing_lost(RunLayout("full", disk / "runs"))
