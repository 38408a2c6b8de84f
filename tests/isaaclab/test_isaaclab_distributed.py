"""Two gloo ranks under torchrun share one ADR curriculum over real Isaac Lab envs (Newton, CPU).

Isaac Lab's own multi-GPU training refuses the CPU (``isaaclab train
--distributed`` with ``--device cpu``, and rsl_rl's runner initializes NCCL
on ``cuda:<local_rank>``), so the ranks here step their envs themselves.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from paths import SUPPORT
from rank_checks import check_one_curriculum, run_two_ranks

pytestmark = pytest.mark.slow

STEPS = 30


def test_two_gloo_ranks_hold_identical_ranges_after_every_step(tmp_path: Path) -> None:
    """Ranks resetting on different steps update once per step and agree after every step."""
    ranks = run_two_ranks(SUPPORT / "isaaclab_rank_worker.py", tmp_path, STEPS)
    check_one_curriculum(ranks, STEPS)
    assert not all(ranks[0]["resets"]), "rank 0 reset on every step: the step sync was idle"
