"""Where the test suite finds the repository's files."""

from __future__ import annotations

from pathlib import Path

SUPPORT = Path(__file__).resolve().parent
"""``tests/support``: fakes, builders and subprocess workers."""
ROOT = SUPPORT.parents[1]
"""The repository root."""
CFG = ROOT / "cfg"
SRC = ROOT / "src"
