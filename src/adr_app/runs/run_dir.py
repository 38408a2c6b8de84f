"""A training run owns its run directory.

* :class:`RunLock`: an exclusive ``flock`` on ``<train_dir>/<experiment>/.adr-run.lock``,
  held for the life of the process (the kernel drops it when the process dies,
  however it dies). A second live run on the experiment is refused; the lock of
  a dead run is taken over, with a warning naming the process that held it.
* :func:`settle_checkpoint`: a fresh run into an experiment that already has
  checkpoints is refused unless it resumes (``checkpoint=latest|auto|<path>``)
  or ``start_over=True`` moves the earlier run aside; ``checkpoint=auto``
  resumes the latest usable checkpoint, or starts fresh when there is none.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import logging
import os
import shlex
import socket
import sys
from pathlib import Path

import attrs

from adr_app.config.plan import TrainPlan
from adr_app.errors import UsageError
from adr_infra import RunLayout

__all__ = ["LOCK_NAME", "RunLock", "settle_checkpoint"]

log = logging.getLogger(__name__)

LOCK_NAME = ".adr-run.lock"
"""The lock file in ``<train_dir>/<experiment>/``."""


def _holder_text() -> str:
    return json.dumps(
        {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": shlex.join(sys.argv),
        }
    )


def _describe(text: str) -> str:
    """``process 123 on host h (started ..., `command`)`` from a lock file's content."""
    try:
        holder = json.loads(text)
        return (
            f"process {holder['pid']} on host {holder['host']} (started {holder['started']}: "
            f"{holder['command']})"
        )
    except (ValueError, KeyError, TypeError):
        return "another process"


@attrs.define
class RunLock:
    """The held lock of a run directory (release it, or let the process end)."""

    path: Path
    _fd: int | None = attrs.field(default=None, repr=False)

    @classmethod
    def acquire(cls, layout: RunLayout) -> RunLock:
        """Take the run directory of ``layout`` for this process.

        Raises:
            UsageError: another live process holds it (the message names it).
        """
        layout.experiment_dir.mkdir(parents=True, exist_ok=True)
        path = layout.experiment_dir / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(_read(fd))
            os.close(fd)
            raise UsageError(
                f"{layout.experiment_dir} is in use by {holder}; two runs must not share a "
                f"run directory: wait for it to end, or train under another experiment=NAME"
            ) from None
        except OSError as exc:  # a file system without locks: say so, do not pretend
            os.close(fd)
            raise UsageError(f"{path}: cannot lock the run directory ({exc.strerror})") from None
        previous = _read(fd)
        if previous.strip():
            log.warning(
                "taking over the run directory %s from %s, which is no longer running",
                layout.experiment_dir,
                _describe(previous),
            )
        _write(fd, _holder_text())
        return cls(path, fd)

    def release(self) -> None:
        """Mark the directory free and drop the lock (no-op when released)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            _write(self._fd, "")
        os.close(self._fd)  # closing drops the flock
        self._fd = None


def _read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 65536).decode("utf-8", errors="replace")


def _write(fd: int, text: str) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode(), 0)
    os.fsync(fd)


def settle_checkpoint(plan: TrainPlan, *, owner: bool) -> TrainPlan:
    """Decide what a training run starts from.

    Args:
        plan: the validated plan.
        owner: this process holds the run directory's lock (rank 0): it
            applies the fresh-run rule and ``start_over``; other ranks only
            resolve ``checkpoint=auto`` the same way.

    Raises:
        UsageError: a fresh run into an experiment that has checkpoints.
    """
    layout, settings = plan.layout, plan.settings
    if settings.checkpoint == "auto":
        found = layout.find("latest")
        if owner:
            if found is None:
                log.info(
                    "checkpoint=auto: no checkpoint of %s yet; starting fresh", layout.experiment
                )
            else:
                log.info("checkpoint=auto: resuming from %s", found)
        return attrs.evolve(plan, checkpoint=found)
    if settings.checkpoint or not owner:
        return plan
    existing = layout.checkpoints()
    if existing and settings.start_over:
        moved = layout.archive()
        log.warning("start_over=True: moved the earlier run of %s to %s", layout.experiment, moved)
    elif existing:
        raise UsageError(
            f"experiment {layout.experiment!r} already has {len(existing)} checkpoint(s) in "
            f"{layout.nn_dir} (newest {existing[-1].path.name}): resume with checkpoint=latest "
            "(or checkpoint=auto), or pass start_over=True to move them aside and start again"
        )
    return plan
