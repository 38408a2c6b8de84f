"""Preemption: SIGTERM, SIGINT and SIGUSR1 ask a training run to stop after the epoch
in progress, save a checkpoint of the epoch reached and exit with :data:`EXIT_PREEMPTED`.

Clusters preempt jobs with SIGTERM (Slurm, Kubernetes; ``timeout`` too), then
SIGKILL after a grace period; Slurm's ``--signal`` sends SIGUSR1 ahead of the
time limit; a user presses Ctrl-C (SIGINT). The handler only records the
request (it never raises, so a signal cannot tear a save in progress; a second
signal changes nothing); the agent checks it once per epoch, all ranks agree,
rank 0 saves through the normal atomic path, and ``adr-train`` prints one line
with the file and the command that resumes the run.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any

import attrs

__all__ = [
    "EXIT_PREEMPTED",
    "STOP_SIGNALS",
    "StopRequest",
    "TrainingStopped",
    "resume_command",
]

EXIT_PREEMPTED = 75
"""Exit status of a run stopped by a signal after saving (``EX_TEMPFAIL``: run it again)."""

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)
"""The signals that stop a training run at the end of the epoch in progress."""


class TrainingStopped(Exception):
    """Raised inside rl_games' training loop once every rank agreed to stop (caught by the agent).

    Args:
        epoch: the last epoch trained.
        saved: the checkpoint written for it, or None when this process trained no epoch.
    """

    def __init__(self, epoch: int, saved: str | None) -> None:
        super().__init__(f"stopped after epoch {epoch}")
        self.epoch = epoch
        self.saved = saved


@attrs.define
class StopRequest:
    """Whether a stop signal arrived; installs and removes the signal handlers.

    Attributes:
        signum: the first stop signal received, or None.
        label: how this process names itself in the messages (``"adr-train"``,
            ``"adr-train rank 1"``).
    """

    label: str = "adr-train"
    signum: int | None = None
    _previous: dict[int, Any] = attrs.field(factory=dict, repr=False)

    @property
    def requested(self) -> bool:
        """True once a stop signal arrived."""
        return self.signum is not None

    @property
    def signal_name(self) -> str:
        """The first signal's name (``"SIGTERM"``), or ``""``."""
        return "" if self.signum is None else signal.Signals(self.signum).name

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = self.signum is None
        if first:
            self.signum = signum
            text = (
                f"{self.label}: {signal.Signals(signum).name} received: stopping after the "
                "epoch in progress and saving a checkpoint (SIGKILL stops at once)\n"
            )
        else:
            text = f"{self.label}: {signal.Signals(signum).name} received: already stopping\n"
        # os.write, not print: a handler may run while the main thread is inside
        # a print to the same stream, and buffered streams refuse re-entry.
        with contextlib.suppress(OSError, ValueError):
            os.write(sys.stderr.fileno(), text.encode())

    def install(self) -> StopRequest:
        """Handle :data:`STOP_SIGNALS` (in the main thread); returns self."""
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def ignore_from_now(self) -> None:
        """Ignore the stop signals until the process ends.

        For the way out: Python resets its own handlers to the default action
        while it finalizes, so a late signal would kill the process and
        replace its exit status; ignored signals stay ignored.
        """
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)

    def uninstall(self) -> None:
        """Restore the handlers that were there before :meth:`install`."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


def _launcher(argv0: str, environ: Mapping[str, str], world_size: int) -> list[str]:
    """The command that started this process: ``torchrun ...``, ``adr-train`` or ``python -m``."""
    if world_size > 1:
        per_node = int(environ.get("LOCAL_WORLD_SIZE", world_size))
        nodes = max(world_size // max(per_node, 1), 1)
        # One node: --standalone picks a free port; several: add your rendezvous options.
        where = [f"--nnodes={nodes}"] if nodes > 1 else ["--standalone"]
        return ["torchrun", *where, f"--nproc_per_node={per_node}", "-m", "adr_app.cli.train"]
    if os.path.basename(argv0) == "adr-train":
        return ["adr-train"]
    return [sys.executable, "-m", "adr_app.cli.train"]


def resume_command(
    argv: Sequence[str],
    world_size: int = 1,
    environ: Mapping[str, str] | None = None,
    *,
    drop: Sequence[str] = (),
    selector: str = "latest",
) -> str:
    """The shell command that resumes this run (from its latest checkpoint).

    The same overrides as ``argv[1:]`` but those of the keys in ``drop``, with
    ``checkpoint=<selector>`` instead of any ``checkpoint=...`` (and of
    ``start_over=...``, which a resume must not repeat).
    """
    keys_to_drop = ("checkpoint", "start_over", *drop)
    kept = [arg for arg in argv[1:] if arg.split("=", 1)[0].lstrip("+~") not in keys_to_drop]
    program = _launcher(
        argv[0] if argv else "", os.environ if environ is None else environ, world_size
    )
    return shlex.join([*program, *kept, f"checkpoint={selector}"])
