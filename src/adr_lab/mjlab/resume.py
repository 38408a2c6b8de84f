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

from adr_lab.rsl_rl_hooks import drop_flags

__all__ = ["RESUME_FLAGS", "mjlab_resume_args"]

RESUME_FLAGS = (
    "--agent.resume",
    "--agent.load-run",
    "--agent.load-checkpoint",
    "--agent.max-iterations",
    "--log-root",
)
"""The flags the resume command sets (any given before are replaced)."""


def _flag_name(flag: str) -> str:
    """``--agent.max_iterations`` -> ``--agent.max-iterations`` (tyro takes both)."""
    return flag.replace("_", "-")


def _exactly(name: str) -> str:
    """A regex that ``re.match`` finds in ``name`` only."""
    return re.escape(name) + "$"


def mjlab_resume_args(args: Sequence[str], saved: str, remaining: int) -> list[str]:
    """``args`` (mjlab train's, task id first) resuming from ``saved`` for ``remaining``
    iterations; ``--log-root`` absolute, so the command works from any directory."""
    checkpoint = Path(saved).resolve()
    run_dir = checkpoint.parent
    return [
        *drop_flags(args, RESUME_FLAGS, _flag_name),
        *("--agent.resume", "True"),
        *("--agent.load-run", _exactly(run_dir.name)),
        *("--agent.load-checkpoint", _exactly(checkpoint.name)),
        *("--agent.max-iterations", str(remaining)),
        *("--log-root", str(run_dir.parent.parent)),
    ]
