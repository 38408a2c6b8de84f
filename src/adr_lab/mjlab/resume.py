"""The resume flags of mjlab's train script, for the command a stopped run prints.

mjlab resumes with ``--agent.resume True``, picking the run directory
``--agent.load-run`` (a regex over ``<log_root>/<experiment>/``) and the file
``--agent.load-checkpoint`` (a regex) in it; ``--agent.max-iterations`` is the
number of iterations a launch trains. rsl_rl continues a loaded ``model_<it>.pt``
at iteration label ``it`` again, so a run stopped after ``it`` of ``total``
iterations has ``total - it - 1`` left.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

__all__ = ["RESUME_FLAGS", "mjlab_resume_args"]

RESUME_FLAGS = (
    "--agent.resume",
    "--agent.load-run",
    "--agent.load-checkpoint",
    "--agent.max-iterations",
    "--log-root",
)
"""The flags the resume command sets (any given before are replaced)."""


def _flag(arg: str) -> str:
    """``--agent.max_iterations=3`` -> ``--agent.max-iterations``."""
    return arg.split("=", 1)[0].replace("_", "-") if arg.startswith("--") else ""


def _without_resume_flags(args: Sequence[str]) -> list[str]:
    kept: list[str] = []
    skip_value = False
    for arg in args:
        if skip_value and not arg.startswith("--"):
            skip_value = False
            continue
        skip_value = False
        if _flag(arg) in RESUME_FLAGS:
            skip_value = "=" not in arg
            continue
        kept.append(arg)
    return kept


def _exactly(name: str) -> str:
    """A regex that ``re.match`` finds in ``name`` only."""
    return re.escape(name) + "$"


def mjlab_resume_args(args: Sequence[str], saved: str, remaining: int) -> list[str]:
    """``args`` (mjlab train's, task id first) resuming from ``saved`` for ``remaining``
    iterations; ``--log-root`` absolute, so the command works from any directory."""
    checkpoint = Path(saved).resolve()
    run_dir = checkpoint.parent
    return [
        *_without_resume_flags(args),
        *("--agent.resume", "True"),
        *("--agent.load-run", _exactly(run_dir.name)),
        *("--agent.load-checkpoint", _exactly(checkpoint.name)),
        *("--agent.max-iterations", str(remaining)),
        *("--log-root", str(run_dir.parent.parent)),
    ]
