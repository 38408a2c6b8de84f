"""Where the test suite finds the repository's files."""

from __future__ import annotations

import os
from pathlib import Path

SUPPORT = Path(__file__).resolve().parent
"""``tests/support``: fakes, builders and subprocess workers."""
ROOT = SUPPORT.parents[1]
"""The repository root."""
CFG = ROOT / "cfg"
SRC = ROOT / "src"


def support_pythonpath() -> str:
    """``PYTHONPATH`` for a subprocess that imports from :data:`SUPPORT`: it first, then
    this process's own ``PYTHONPATH`` (so both import the same code)."""
    inherited = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join(p for p in (str(SUPPORT), inherited) if p)
