"""The run record: the robust-best rule on a real engine, and which files a resumed run owns."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from adr_app.rlgames.run_record import RobustBest, RunRecord, robust_npd
from adr_domain import ADREngine
from adr_infra import RunLayout
from builders import small_cfg


def engine_after(objective: float, updates: int = 30) -> ADREngine:
    """An engine whose finishing envs all scored ``objective`` for ``updates`` updates."""
    engine = ADREngine(small_cfg(), 32, seed=1)
    ids = torch.arange(32)
    for _ in range(updates):
        engine.update(ids, torch.full((32,), objective))
    return engine


def test_an_epoch_counts_for_robust_best_only_when_rollouts_meet_the_high_threshold() -> None:
    """Rollout performance above adr_objective_threshold_high (20): its NPD; below: None."""
    good = engine_after(25.0)
    assert good.rollout_perf_valid and float(good.rollout_perf) >= 20
    assert robust_npd(good) == float(good.npd())
    poor = engine_after(3.0)
    assert poor.rollout_perf_valid and float(poor.rollout_perf) < 20
    assert robust_npd(poor) is None
    assert robust_npd(ADREngine(small_cfg(), 32, seed=1)) is None  # no rollout finished yet


def test_only_a_wider_mastered_range_is_a_new_robust_best() -> None:
    """Strictly higher NPD improves; equal NPD, lower NPD or no qualifying epoch do not."""
    best = RobustBest(npd=-1.5, epoch=7)
    assert best.improved_by(-1.0)
    assert not best.improved_by(-1.5) and not best.improved_by(-2.0)
    assert not best.improved_by(None)
    assert RobustBest().npd == -math.inf and RobustBest().improved_by(-100.0)


def test_a_resumed_run_owns_its_lineage_and_the_file_it_resumed_from(tmp_path: Path) -> None:
    """Recorded names and the resumed file count if they are periodic files of this experiment;
    other experiments' names, best files and files outside nn/ do not."""
    layout = RunLayout("K", tmp_path).create()
    resumed = layout.periodic_path(20, 1.0, final=True)
    tree = {
        "own_checkpoints": [
            "last_K_ep_10_rew_1.0.pth",
            "last_Other_ep_30_rew_1.0.pth",
            "K.pth",
            "K_robust.pth",
        ],
        "robust_npd": -0.5,
        "robust_epoch": 12,
    }
    record = RunRecord.resumed(tree, resumed, layout)
    assert record.own_checkpoints == ("last_K_ep_10_rew_1.0.pth", resumed.name)
    assert record.robust == RobustBest(-0.5, 12)
    elsewhere = RunRecord.resumed(None, tmp_path / resumed.name, layout)
    assert elsewhere == RunRecord()
    assert RunRecord.resumed(tree, resumed, layout).to_tree()["own_checkpoints"] == [
        "last_K_ep_10_rew_1.0.pth",
        resumed.name,
    ]
