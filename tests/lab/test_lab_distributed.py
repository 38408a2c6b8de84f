"""Two gloo ranks under torchrun share one ADR curriculum over real mjlab envs."""

from __future__ import annotations

from pathlib import Path

import pytest

from paths import SUPPORT
from rank_checks import check_one_curriculum, run_two_ranks

pytestmark = pytest.mark.slow

STEPS = 40


def test_two_gloo_ranks_hold_identical_ranges_after_every_update(tmp_path: Path) -> None:
    """Ranks resetting on different steps update once per step and agree after every update."""
    check_one_curriculum(run_two_ranks(SUPPORT / "lab_rank_worker.py", tmp_path, STEPS), STEPS)
