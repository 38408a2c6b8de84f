"""The app's side of preemption: the exception that leaves rl_games' loop and the
``adr-train`` command that resumes a stopped run.

The signals, the stop request and the exit status live in
:mod:`adr_infra.preemption` (shared with the rsl_rl runners of :mod:`adr_lab`):
SIGTERM, SIGINT and SIGUSR1 stop a run after the epoch in progress; the agent
checks the request once per epoch, all ranks agree, rank 0 saves through the
normal atomic path, and ``adr-train`` prints one line with the file and the
command that resumes the run.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping, Sequence

from adr_infra.preemption import torchrun_launcher

__all__ = ["TrainingStopped", "resume_command"]


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


def _launcher(argv0: str, environ: Mapping[str, str], world_size: int) -> list[str]:
    """The command that started this process: ``torchrun ...``, ``adr-train`` or ``python -m``."""
    if world_size > 1:
        return [*torchrun_launcher(world_size, environ), "-m", "adr_app.cli.train"]
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
