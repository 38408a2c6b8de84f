"""Engine scenarios whose state digests pin the engine's behaviour across refactors.

``python tests/support/golden_scenarios.py OUT.json`` writes the digest of
the engine state after every update of every scenario, with whichever
``adr_domain`` is importable; ``tests/data/engine_v1_digests.json`` was
written by the engine before its split into rule modules (commit f469bdd),
and ``tests/domain/test_engine_golden.py`` requires the current engine to
reproduce it bit for bit. Only API common to both versions is used.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from typing import Any

import torch

from adr_domain import ADREngine
from adr_infra import tree_digest
from builders import dextreme_adr_cfg, small_cfg


def configs() -> Iterator[tuple[str, dict[str, Any]]]:
    yield "small", small_cfg()
    yield "small_q1", small_cfg(adr_queue_threshold_length=1)
    yield "clear_other_queues", small_cfg(clear_other_queues=True)
    yield "clear_on_decision", small_cfg(queue_policy="clear_on_decision")
    yield "extended", small_cfg(adr_extended_boundary_sample=True)
    yield "frozen", small_cfg(update_adr_ranges=False)
    yield "unchecked_bad_inputs", small_cfg(validate_inputs=False)
    dex = dextreme_adr_cfg()
    dex["adr_queue_threshold_length"] = 3
    yield "dextreme", dex
    yield "dextreme_clear", {**dex, "clear_other_queues": True}


def run(cfg: dict[str, Any], num_envs: int, seed: int, bad_inputs: bool) -> list[str]:
    """Digests (the last 16 hex digits) of the state after each of 40 updates (with
    recycles, samples and a save/load into a fresh engine on the way)."""
    rng = random.Random(seed)
    engine = ADREngine(cfg, num_envs, seed=seed)
    digests = []
    for step in range(40):
        ids = rng.sample(range(num_envs), rng.randrange(num_envs + 1))
        good = rng.random() < 0.55
        objective = torch.tensor(
            [
                float(rng.randrange(10, 31) if good else rng.randrange(0, 12))
                + (0.25 if rng.random() < 0.3 else 0.0)
                for _ in range(num_envs)
            ]
        )
        if bad_inputs and step % 3 == 0 and len(ids) < num_envs:
            ids.append(num_envs + 5)
            objective[rng.randrange(num_envs)] = float("nan")
        engine.update(torch.tensor(ids, dtype=torch.long), objective)
        if step % 11 == 5:
            engine.recycle(list(range(0, num_envs, 2)))
        if step % 13 == 7 and engine.tensor_param_names:
            engine.sample(engine.tensor_param_names[0], list(range(1, num_envs, 3)))
        if step % 17 == 9:
            fresh = ADREngine(cfg, num_envs, seed=seed + 1)
            fresh.load_state_dict(engine.state_dict(), restore_ranges=True)
            engine = fresh
        digests.append(tree_digest(dict(engine.state_dict()))[-16:])
    return digests


def all_digests() -> dict[str, list[str]]:
    """``{"<config>/<envs>/<seed>": [digest after each update]}``."""
    out = {}
    for name, cfg in configs():
        for num_envs in (1, 7, 40):
            for seed in (0, 1):
                key = f"{name}/{num_envs}/{seed}"
                out[key] = run(cfg, num_envs, seed, bad_inputs=name == "unchecked_bad_inputs")
    return out


if __name__ == "__main__":
    with open(sys.argv[1], "w") as f:
        json.dump(all_digests(), f, indent=0, sort_keys=True)
