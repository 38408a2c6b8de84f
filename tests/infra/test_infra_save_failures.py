"""A save that cannot be written is one error naming the file and the cause: a real full
tmpfs, a real read-only directory, any OS error; nothing is left behind, nothing crashes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from adr_infra import (
    Checkpoint,
    CheckpointWriteError,
    is_temp_file,
    load_checkpoint,
    save_checkpoint,
)
from app_helpers import run_app
from infra_helpers import STORE_SUFFIXES
from mounts import fill, small_tmpfs, unprivileged_prefix


def big_checkpoint(megabytes: float, epoch: int = 2) -> Checkpoint:
    """A checkpoint holding about ``megabytes`` MB of tensors."""
    values = torch.arange(int(megabytes * 2**20 / 4), dtype=torch.float32)
    return Checkpoint.create({"epoch": epoch, "model": {"w": values}}, {"big": values + 1})


def leftovers(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if is_temp_file(p)]


@pytest.mark.parametrize("suffix", STORE_SUFFIXES)
def test_a_full_disk_is_one_error_naming_the_file_and_keeps_the_previous_one(
    tmp_path: Path, suffix: str
) -> None:
    """On a full tmpfs the save raises CheckpointWriteError naming the file and ENOSPC,
    leaves no temp file, and the earlier checkpoint still loads."""
    with small_tmpfs(tmp_path / "disk", "3m") as disk:
        earlier = disk / f"earlier{suffix}"
        save_checkpoint(earlier, big_checkpoint(0.2, epoch=1))
        fill(disk, leave_bytes=600_000)
        target = disk / f"next{suffix}"
        with pytest.raises(CheckpointWriteError) as info:
            save_checkpoint(target, big_checkpoint(1.5))
        message = str(info.value)
        assert str(target) in message and "No space left on device" in message
        assert "\n" not in message
        assert leftovers(disk) == [] and not target.exists()
        assert load_checkpoint(earlier).epoch == 1


def test_any_os_error_names_the_file_and_its_cause(tmp_path: Path) -> None:
    """A directory in the path that is a file: one error naming the target and the cause."""
    (tmp_path / "nn").write_bytes(b"not a directory")
    target = tmp_path / "nn" / "x.pth"
    with pytest.raises(CheckpointWriteError) as info:
        save_checkpoint(target, big_checkpoint(0.01))
    assert str(target) in str(info.value)
    assert "Not a directory" in str(info.value) or "File exists" in str(info.value)


def adr_ckpt(*args: str, prefix: list[str] | None = None) -> tuple[int, str]:
    result = run_app([*(prefix or []), sys.executable, "-m", "adr_app.cli.ckpt", *args], Path("."))
    return result.returncode, result.stderr


@pytest.mark.parametrize("suffix", STORE_SUFFIXES)
def test_converting_onto_a_full_disk_exits_1_with_one_line_and_no_crash(
    tmp_path: Path, suffix: str
) -> None:
    """adr-ckpt convert onto a full tmpfs: exit 1 (not a segfault), one line, no temp file."""
    source = tmp_path / "source.pth"
    save_checkpoint(source, big_checkpoint(1.5))
    with small_tmpfs(tmp_path / "disk", "3m") as disk:
        fill(disk, leave_bytes=300_000)
        code, err = adr_ckpt("convert", str(source), str(disk / f"copy{suffix}"))
        assert code == 1, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "No space left on device" in lines[0], err
        assert f"copy{suffix}" in lines[0] and "Traceback" not in err
        assert leftovers(disk) == []


@pytest.mark.parametrize("suffix", STORE_SUFFIXES)
def test_a_denied_permission_is_one_line_naming_the_file(tmp_path: Path, suffix: str) -> None:
    """Into a read-only directory (permission bits enforced even for root): exit 1, one line."""
    source = tmp_path / "source.pth"
    save_checkpoint(source, big_checkpoint(0.1))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, err = adr_ckpt(
            "convert", str(source), str(locked / f"copy{suffix}"), prefix=unprivileged_prefix()
        )
    finally:
        locked.chmod(0o755)
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Permission denied" in lines[0], err
    assert f"copy{suffix}" in lines[0]
    assert list(locked.iterdir()) == []
