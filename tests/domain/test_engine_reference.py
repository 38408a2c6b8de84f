"""The engine agrees exactly with a loop-based model of the IsaacGymEnvs update."""

from __future__ import annotations

import random
from typing import Any

import pytest
import torch

from adr_domain import ADREngine
from builders import dextreme_adr_cfg, small_cfg
from reference_model import ReferenceADR


def _run_against_reference(cfg: dict[str, Any], num_envs: int, updates: int, seed: int) -> int:
    """Drive engine and model with the same forced workers and objectives;
    returns how many bounds moved in total (so callers can check the run was
    not trivial)."""
    rng = random.Random(seed)
    engine = ADREngine(cfg, num_envs, seed=seed)
    model = ReferenceADR(cfg, num_envs)
    num_queues = 2 * len(cfg["params"])
    moves = 0
    for _ in range(updates):
        types = [1 if rng.random() < 0.7 else 0 for _ in range(num_envs)]
        modes = [rng.randrange(num_queues) for _ in range(num_envs)]
        engine.worker_types.copy_(torch.tensor(types))
        engine.adr_modes.copy_(torch.tensor(modes))
        model.worker_types, model.modes = list(types), list(modes)

        done = sorted(rng.sample(range(num_envs), rng.randrange(num_envs + 1)))
        shuffled = list(done)
        rng.shuffle(shuffled)  # the engine must not depend on id order
        good = rng.random() < 0.5
        objective = [
            float(rng.randrange(10, 31) if good else rng.randrange(0, 12)) for _ in range(num_envs)
        ]

        before = engine.bounds.clone()
        engine.update(torch.tensor(shuffled, dtype=torch.long), torch.tensor(objective))
        model.update(done, objective)
        moves += int((engine.bounds != before).sum())

        for n, name in enumerate(model.names):
            assert engine.bounds[n].tolist() == model.specs[name]["range"], name
            assert engine.next_limits[n].tolist() == model.specs[name]["next_limits"], name
            for b in range(2):
                q = 2 * n + b
                assert engine.queue_contents(n, b).tolist() == list(model.queues[q]), (name, b)
        not_done = [i for i in range(num_envs) if i not in set(done)]
        assert [engine.worker_types[i].item() for i in not_done] == [
            model.worker_types[i] for i in not_done
        ]
    return moves


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_config_matches_the_reference_update_by_update(seed: int) -> None:
    """Ranges, next limits, queues and stale-worker conversion equal the model's each update."""
    moves = _run_against_reference(small_cfg(), num_envs=24, updates=150, seed=seed)
    assert moves > 10


def test_long_queues_that_overflow_keep_the_same_results_as_the_reference() -> None:
    """With more results than fit, both keep the last ones in ascending env id order."""
    moves = _run_against_reference(
        small_cfg(adr_queue_threshold_length=3), num_envs=40, updates=80, seed=7
    )
    assert moves > 5


def test_dextreme_config_matches_the_reference_update_by_update() -> None:
    """The 27-parameter DeXtreme block with short queues agrees with the model."""
    cfg = dextreme_adr_cfg()
    cfg["adr_queue_threshold_length"] = 2
    moves = _run_against_reference(cfg, num_envs=120, updates=60, seed=3)
    assert moves > 20
