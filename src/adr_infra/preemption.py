"""Preemption, shared by ``adr-train`` and the rsl_rl runners of :mod:`adr_lab`:
SIGTERM, SIGINT and SIGUSR1 ask a training run to stop after the epoch (iteration) in
progress, save a checkpoint of the one reached and exit with :data:`EXIT_PREEMPTED`.

Clusters preempt jobs with SIGTERM (Slurm, Kubernetes; ``timeout`` too), then
SIGKILL after a grace period; Slurm's ``--signal`` sends SIGUSR1 ahead of the
time limit; a user presses Ctrl-C (SIGINT). The handler only records the
request (it never raises, so a signal cannot tear a save in progress; a second
signal changes nothing); the training loop checks it once per epoch, all ranks
agree (:func:`agree_on_flags`), rank 0 saves through the normal atomic path and
prints one line with the file and the command that resumes the run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any

import attrs
import torch
import torch.distributed as dist

__all__ = [
    "EXIT_PREEMPTED",
    "STOP_SIGNALS",
    "StopRequest",
    "agree_on_flags",
    "launch_args",
    "relaunch_program",
    "torchrun_launcher",
]

EXIT_PREEMPTED = 75
"""Exit status of a run stopped by a signal after saving (``EX_TEMPFAIL``: run it again)."""

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)
"""The signals that stop a training run at the end of the epoch in progress."""


@attrs.define
class StopRequest:
    """Whether a stop signal arrived; installs and removes the signal handlers.

    Attributes:
        label: how this process names itself in the messages (``"adr-train"``,
            ``"adr-train rank 1"``).
        unit: what the run finishes before it stops (``"epoch"``, ``"iteration"``).
        signum: the first stop signal received, or None.
    """

    label: str = "adr-train"
    unit: str = "epoch"
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

    def receive(self, signum: int, frame: FrameType | None = None) -> None:
        """Take a stop signal (the handler; also for one noted before it was installed)."""
        first = self.signum is None
        if first:
            self.signum = signum
            text = (
                f"{self.label}: {signal.Signals(signum).name} received: stopping after the "
                f"{self.unit} in progress and saving a checkpoint (SIGKILL stops at once)\n"
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
            self._previous[sig] = signal.signal(sig, self.receive)
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


def agree_on_flags(flags: Sequence[bool], device: torch.device | str) -> list[bool]:
    """Every flag set on some rank (one ``all_reduce`` in a distributed run, else ``flags``)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return list(flags)
    mine = torch.tensor([int(f) for f in flags], dtype=torch.int64, device=device)
    dist.all_reduce(mine, op=dist.ReduceOp.MAX)
    return [bool(v) for v in mine.tolist()]


def torchrun_launcher(world_size: int, environ: Mapping[str, str]) -> list[str]:
    """``torchrun`` with the shape of this run (one node: ``--standalone`` picks a free port;
    several: add your rendezvous options)."""
    per_node = int(environ.get("LOCAL_WORLD_SIZE", world_size))
    nodes = max(world_size // max(per_node, 1), 1)
    where = [f"--nnodes={nodes}"] if nodes > 1 else ["--standalone"]
    return ["torchrun", *where, f"--nproc_per_node={per_node}"]


def _program_end(orig_argv: Sequence[str], argv: Sequence[str]) -> int:
    """Where the script's own arguments start in ``orig_argv``.

    After the script path ``argv[0]`` when ``orig_argv`` holds it (so arguments
    a program took out of ``sys.argv`` count, as typed); else ``orig_argv``
    ends with ``argv[1:]`` (``-m module``: ``argv[0]`` is the module's file).
    """
    if argv and argv[0] in orig_argv[1:]:
        return list(orig_argv).index(argv[0], 1) + 1
    return len(orig_argv) - (len(argv) - 1)


def launch_args(orig_argv: Sequence[str], argv: Sequence[str]) -> list[str]:
    """The arguments this process's script was started with, as typed (Python's
    ``sys.orig_argv`` and ``sys.argv``), even when the program rewrote ``sys.argv``."""
    return list(orig_argv[_program_end(orig_argv, argv) :])


def relaunch_program(
    orig_argv: Sequence[str],
    argv: Sequence[str],
    world_size: int = 1,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """The program part of the command that started this process, to start it again.

    What comes before the script's arguments (:func:`launch_args`) in
    ``orig_argv`` is the interpreter, its options and the script or ``-m
    module``. The interpreter becomes :data:`sys.executable`; a process of a
    ``torchrun`` run is restarted through ``torchrun``.
    """
    environ = os.environ if environ is None else environ
    program = list(orig_argv[: _program_end(orig_argv, argv)]) or [sys.executable]
    program[0] = sys.executable
    if world_size > 1 and "TORCHELASTIC_RUN_ID" in environ:
        target = program[-2:] if len(program) > 2 and program[-2] == "-m" else program[-1:]
        return [*torchrun_launcher(world_size, environ), *target]
    return program
