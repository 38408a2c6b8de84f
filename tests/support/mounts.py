"""Real failing file systems for tests: a tiny tmpfs that fills up, and a process
for which permission bits apply even when the tests run as root."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_tmpfs(directory: Path, size: str = "3m") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` on ``directory`` for the block; skip where mounting is
    not permitted (not root, no mount command, a container without the capability)."""
    directory.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a small tmpfs for the disk-full case")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {result.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], capture_output=True, check=False)


def fill(directory: Path, leave_bytes: int) -> None:
    """Fill the file system of ``directory`` so that about ``leave_bytes`` stay free."""
    stats = os.statvfs(directory)
    free = stats.f_bavail * stats.f_frsize
    with open(directory / "filler", "wb") as f:
        f.write(b"\0" * max(free - leave_bytes, 0))


def free_bytes(directory: Path) -> int:
    """Bytes still free on the file system of ``directory``."""
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize


def unprivileged_prefix() -> list[str]:
    """A command prefix that runs a command without the capabilities that let root ignore
    file permissions (so a read-only directory really is 'Permission denied')."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permission bits cannot be made to apply")
    drop = "-dac_override,-dac_read_search"
    return [setpriv, f"--bounding-set={drop}", f"--inh-caps={drop}"]
