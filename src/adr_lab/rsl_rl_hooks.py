"""The end of an rsl_rl training iteration, for any ``OnPolicyRunner`` subclass: ADR's
input check and preemption.

rsl_rl's ``OnPolicyRunner.learn`` calls ``self.logger.log(it=..., total_it=..., ...)``
once per iteration on every rank, right before its periodic save.
:class:`IterationEnd` replaces ``runner.logger`` with :class:`IterationLogger`, a
proxy that forwards everything and runs one step after each ``log``:

* the check of what ADR kept out of its state (``AdrCore.check``: one host read
  per iteration, never one per step);
* the stop: SIGTERM, SIGINT and SIGUSR1 (:data:`adr_infra.preemption.STOP_SIGNALS`)
  let the iteration in progress finish; then every rank agrees (one small
  collective per iteration, only in a distributed run), rank 0 writes
  ``model_<it>.pt`` in the run's log dir through ``runner.save`` (atomic in the
  ADR runners) and prints one line naming it and the command that resumes the
  run, and every rank exits with :data:`~adr_infra.preemption.EXIT_PREEMPTED`.
  A signal during the last iteration lets the run end as usual.

A runner composes it (see ``adr_lab.mjlab.runner.AdrOnPolicyRunner``)::

    self.iteration_end = IterationEnd(self, check=..., resume_args=..., program="mjlab train")

    def learn(self, num_learning_iterations, init_at_random_ep_len=False):
        self.iteration_end.learn(partial(super().learn, num_learning_iterations, ...))
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from adr_infra.preemption import (
    EXIT_PREEMPTED,
    StopRequest,
    agree_on_flags,
    launch_args,
    relaunch_program,
)

__all__ = [
    "IterationEnd",
    "IterationLogger",
    "IterationsStopped",
    "ResumeArgs",
    "drop_flags",
    "tell_stopped",
]

log = logging.getLogger(__name__)

ResumeArgs = Callable[[Sequence[str], str, int], list[str]]
"""``(args, saved, remaining) -> args``: this run's arguments as typed (``launch_args``) turned
into those that resume it from the checkpoint ``saved`` for ``remaining`` more
iterations (the framework's resume flags)."""


def drop_flags(
    args: Sequence[str], flags: Sequence[str], name: Callable[[str], str] = lambda f: f
) -> list[str]:
    """``args`` without the flags ``flags`` and their values (``--flag value`` or
    ``--flag=value``); ``name`` normalizes a flag before the comparison."""
    kept: list[str] = []
    skip_value = False
    for arg in args:
        if skip_value and not arg.startswith("--"):
            skip_value = False
            continue
        skip_value = False
        flag = name(arg.split("=", 1)[0]) if arg.startswith("--") else ""
        if flag in flags:
            skip_value = "=" not in arg
            continue
        kept.append(arg)
    return kept


class IterationLogger:
    """rsl_rl's logger with one more step after each ``log`` (the end of an iteration).

    Every other attribute is the wrapped logger's (read and written through).

    Args:
        logger: the runner's logger.
        after_log: called as ``after_log(it, total_it)`` after each ``log``.
    """

    def __init__(self, logger: Any, after_log: Callable[[int, int], None]) -> None:
        object.__setattr__(self, "_inner", logger)
        object.__setattr__(self, "_after_log", after_log)

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "_inner"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)

    def log(self, *, it: int, total_it: int, **kwargs: Any) -> None:
        """The wrapped ``log``, then the end-of-iteration step."""
        self._inner.log(it=it, total_it=total_it, **kwargs)
        self._after_log(it, total_it)


class IterationsStopped(Exception):
    """Leaves rsl_rl's loop once every rank agreed to stop (caught by :meth:`IterationEnd.learn`).

    Args:
        it: the last iteration trained.
        total_it: the iteration the run was to reach (exclusive).
        saved: the checkpoint written for ``it`` (None on ranks that save nothing).
    """

    def __init__(self, it: int, total_it: int, saved: str | None) -> None:
        super().__init__(f"stopped after iteration {it}")
        self.it = it
        self.total_it = total_it
        self.saved = saved


class IterationEnd:
    """What an ADR runner does at the end of every training iteration (module doc).

    Args:
        runner: an rsl_rl ``OnPolicyRunner`` (its ``logger`` is wrapped now).
        check: raises what ADR kept out of its state (``AdrCore.check``).
        resume_args: the framework's resume flags (:data:`ResumeArgs`).
        program: how the run names itself in its messages; a rank other than 0 of a
            distributed run adds ``rank <r>`` (``runner.gpu_global_rank``).

    Attributes:
        stop: the stop request the signal handlers fill during :meth:`learn`.
    """

    def __init__(
        self, runner: Any, *, check: Callable[[], None], resume_args: ResumeArgs, program: str
    ) -> None:
        self.runner = runner
        self.check = check
        self.resume_args = resume_args
        rank = runner.gpu_global_rank
        label = program if rank == 0 else f"{program} rank {rank}"
        self.stop = StopRequest(label, unit="iteration")
        runner.logger = IterationLogger(runner.logger, self.after_log)

    def learn(self, learn: Callable[[], None]) -> None:
        """Run rsl_rl's loop with the stop signals handled.

        Raises:
            SystemExit: :data:`EXIT_PREEMPTED`, after a stop (rank 0 saved and said so).
        """
        stopped: IterationsStopped | None = None
        self.stop.install()
        try:
            learn()
        except IterationsStopped as exc:
            stopped = exc
        finally:
            self.stop.uninstall()
        if stopped is not None:
            self._leave(stopped)

    def after_log(self, it: int, total_it: int) -> None:
        """Check ADR's inputs; stop after ``it`` when some rank was asked to.

        Raises:
            ValueError: this rank's check failed (naming the objective).
            RuntimeError: another rank's check failed.
            IterationsStopped: every rank stops now (after rank 0 saved).
        """
        error: ValueError | None = None
        try:
            self.check()
        except ValueError as exc:
            error = exc
        flags = [self.stop.requested, error is not None]
        stop, failed = agree_on_flags(flags, self.runner.device)
        if error is not None:
            raise error
        if failed:
            raise RuntimeError(f"the ADR check of another rank failed after iteration {it}")
        if stop and it + 1 < total_it:
            raise IterationsStopped(it, total_it, self._save(it))

    def _save(self, it: int) -> str | None:
        """``model_<it>.pt`` in the log dir, written where rsl_rl writes (rank 0, with a writer)."""
        logger = self.runner.logger
        if logger.writer is None or logger.log_dir is None:
            return None
        path = os.path.join(logger.log_dir, f"model_{it}.pt")
        self.runner.save(path)
        return path

    def _leave(self, stopped: IterationsStopped) -> NoReturn:
        """Close the writer, say what was saved and how to resume, exit 75."""
        logger = self.runner.logger
        if logger.writer is not None:
            logger.stop_logging_writer()
            close = getattr(logger.writer, "close", None)
            if callable(close):
                close()
        if stopped.saved is not None:
            tell_stopped(self._stop_line(stopped, stopped.saved))
        self.stop.ignore_from_now()
        raise SystemExit(EXIT_PREEMPTED)

    def _stop_line(self, stopped: IterationsStopped, saved: str) -> str:
        remaining = stopped.total_it - stopped.it - 1
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        program = relaunch_program(sys.orig_argv, sys.argv, world_size)
        args = self.resume_args(launch_args(sys.orig_argv, sys.argv), saved, remaining)
        command = shlex.join([*program, *args])
        return (
            f"{self.stop.label}: stopped by {self.stop.signal_name} after iteration "
            f"{stopped.it}: saved {saved}; resume with: {command}"
        )


def tell_stopped(line: str) -> None:
    """The one line a stopped run leaves: to logging's handlers if any, else to stderr."""
    if log.hasHandlers():
        log.warning("%s", line)
    else:
        print(line, file=sys.stderr, flush=True)  # noqa: T201 (the line a CLI user needs)
