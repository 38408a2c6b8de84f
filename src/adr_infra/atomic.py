"""Atomic file writes: a reader sees the old file or the complete new one, never a part.

:func:`atomic_write` writes to a uniquely named temp file in the target's
directory, flushes it to disk (``fsync``), renames it over the target
(``os.replace``, atomic on POSIX and Windows) and flushes the directory entry.
If the writer fails, the temp file is removed; if the process is killed, the
temp file stays behind under a name no loader or discovery ever picks up
(:func:`is_temp_file`) until :func:`remove_stale_temp_files` deletes it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from adr_infra.paths import PathLike

__all__ = [
    "TEMP_SUFFIX",
    "atomic_write",
    "atomic_write_bytes",
    "is_temp_file",
    "remove_stale_temp_files",
]

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".adr-tmp"
"""Suffix of in-progress files (they also start with a dot)."""


def _temp_path(target: Path) -> Path:
    token = secrets.token_hex(6)
    return target.with_name(f".{target.name}.{os.getpid()}.{token}{TEMP_SUFFIX}")


def is_temp_file(path: PathLike) -> bool:
    """True for the temp files :func:`atomic_write` creates (never a valid checkpoint)."""
    name = Path(path).name
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    if os.name == "nt":  # pragma: no cover - directories cannot be opened on Windows
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: PathLike, write: Callable[[Path], None]) -> None:
    """Create or replace ``path`` atomically with what ``write`` puts in a temp file.

    Args:
        path: the target file; its directory is created if missing.
        write: called with the temp file's path; must write the complete
            content there and close it.

    Raises:
        Whatever ``write`` raises (the temp file is removed and ``path`` is
        unchanged), or ``OSError`` from the file system.
    """
    target = Path(path)
    directory = target.parent
    directory.mkdir(parents=True, exist_ok=True)
    temp = _temp_path(target)
    try:
        write(temp)
        _fsync_file(temp)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    _fsync_dir(directory)


def atomic_write_bytes(path: PathLike, data: bytes | memoryview) -> None:
    """:func:`atomic_write` of a bytes object."""

    def write(temp: Path) -> None:
        with open(temp, "xb") as f:
            f.write(data)
            f.flush()

    atomic_write(path, write)


def remove_stale_temp_files(directory: PathLike, *, min_age_s: float = 600.0) -> list[Path]:
    """Delete temp files left in ``directory`` by writers that were killed.

    Args:
        directory: where to look (not recursive); a missing directory is fine.
        min_age_s: only files not modified for this long are removed, so that
            a save in progress in another process is left alone.

    Returns:
        The paths removed.
    """
    root = Path(directory)
    if not root.is_dir():
        return []
    now = time.time()
    removed: list[Path] = []
    for entry in root.iterdir():
        if not is_temp_file(entry) or not entry.is_file():
            continue
        try:
            if now - entry.stat().st_mtime < min_age_s:
                continue
            entry.unlink()
        except FileNotFoundError:
            continue
        removed.append(entry)
        log.info("removed stale temp file %s", entry)
    return removed
