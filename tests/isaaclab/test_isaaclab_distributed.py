"""Two gloo ranks under torchrun share one ADR curriculum over real Isaac Lab envs (Newton, CPU).

Isaac Lab's own multi-GPU training refuses the CPU (``isaaclab train
--distributed`` with ``--device cpu``, and rsl_rl's runner initializes NCCL
on ``cuda:<local_rank>``), so the ranks here step their envs themselves, in
that runner's order (the group made after the env) or with no trainer at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from paths import SUPPORT
from rank_checks import check_one_curriculum, run_two_ranks

pytestmark = pytest.mark.slow

STEPS = 30


@pytest.mark.parametrize("when", ["trainer", "first-step"])
def test_two_gloo_ranks_hold_identical_ranges_after_every_step(tmp_path: Path, when: str) -> None:
    """Ranks resetting on different steps update once per step and agree after every step.

    The process group does not exist when the envs are built. ``trainer``: it is
    made after the envs' first reset, then the term joins it (rsl_rl's runner and
    ``AdrPPO`` on GPUs). ``first-step``: the term makes and joins it after the first
    step (that step's update count is the join's, not one).
    """
    ranks = run_two_ranks(SUPPORT / "isaaclab_rank_worker.py", tmp_path, STEPS, when)
    check_one_curriculum(ranks, STEPS, first=0 if when == "trainer" else 1)
    assert not all(ranks[0]["resets"]), "rank 0 reset on every step: the step sync was idle"
