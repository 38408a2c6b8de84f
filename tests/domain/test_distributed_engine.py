"""Engines of a distributed run share boundary results and stay identical."""

from __future__ import annotations

import random
from typing import Any

import pytest
import torch

from adr_domain import ADREngine, merge_engine_state, split_engine_state
from builders import small_cfg
from distributed_fakes import Hub, on_all_ranks

W, N = 2, 12


def ranks(
    cfg: dict[str, Any], seed: int = 0, *, blocking: bool = True
) -> tuple[Hub, list[ADREngine]]:
    hub = Hub(W, blocking=blocking)
    engines = on_all_ranks(
        [lambda ex=ex: ADREngine(cfg, N, seed=seed, exchange=ex) for ex in hub.exchanges()]
    )
    return hub, engines


@pytest.mark.parametrize("blocking", [True, False])
def test_two_ranks_evolve_exactly_like_one_engine_holding_all_envs(blocking: bool) -> None:
    """Rank r's env i is env r*N+i of a single engine: same ranges, next limits and queues,
    with the fixed-size exchange (NCCL) and the compact one (blocking backends)."""
    cfg = small_cfg(adr_queue_threshold_length=3)
    hub, engines = ranks(cfg, blocking=blocking)
    single = ADREngine(cfg, W * N)
    rng = random.Random(1)
    moved = 0
    for _ in range(120):
        types = [rng.choice([0, 1, 1, 2]) for _ in range(W * N)]
        modes = [rng.randrange(8) for _ in range(W * N)]
        single.worker_types.copy_(torch.tensor(types))
        single.adr_modes.copy_(torch.tensor(modes))
        for r, engine in enumerate(engines):
            engine.worker_types.copy_(torch.tensor(types[r * N : (r + 1) * N]))
            engine.adr_modes.copy_(torch.tensor(modes[r * N : (r + 1) * N]))
        done = sorted(rng.sample(range(W * N), rng.randrange(W * N + 1)))
        objective = torch.tensor([float(rng.randrange(0, 31)) for _ in range(W * N)])
        before = single.bounds.clone()
        single.update(torch.tensor(done, dtype=torch.long), objective)
        moved += int((single.bounds != before).sum())

        def finish_on(r: int, done: list[int] = done, objective: torch.Tensor = objective) -> Any:
            mine = [d - r * N for d in done if r * N <= d < (r + 1) * N]
            return engines[r].update(
                torch.tensor(mine, dtype=torch.long), objective[r * N : (r + 1) * N]
            )

        reports = on_all_ranks([lambda r=r: finish_on(r) for r in range(W)])
        for r, engine in enumerate(engines):
            assert torch.equal(engine.bounds, single.bounds), r
            assert torch.equal(engine.next_limits, single.next_limits), r
            assert torch.equal(engine.queue_lengths, single.queue_lengths), r
            for n in range(4):
                for b in range(2):
                    assert torch.equal(engine.queue_contents(n, b), single.queue_contents(n, b))
            not_done = [i for i in range(N) if r * N + i not in set(done)]
            assert (
                engine.worker_types[not_done].tolist()
                == single.worker_types[[r * N + i for i in not_done]].tolist()
            )
            assert reports[r].rollout_perf.item() == pytest.approx(single.rollout_perf.item())
    assert moved > 10
    # The set-up check, then per update one exchange (plus a count first if blocking).
    assert hub.calls == 1 + 120 * (2 if blocking else 1)


def test_clear_other_queues_picks_the_same_parameter_on_every_rank() -> None:
    """The shared decision stream makes every rank move the same bound."""
    cfg = small_cfg(clear_other_queues=True, adr_queue_threshold_length=2)
    _, engines = ranks(cfg, seed=4)
    objective = torch.full((N,), 30.0)
    for _ in range(30):
        for engine in engines:
            engine.recycle(torch.arange(N))
        on_all_ranks([lambda e=e: e.update(torch.arange(N), objective) for e in engines])
        assert torch.equal(engines[0].bounds, engines[1].bounds)
    assert (engines[0].bounds != engines[0].params.init).any()
    # Per-rank streams differ: the ranks' worker assignments are their own.
    assert not torch.equal(engines[0].worker_types, engines[1].worker_types)


def test_ranks_with_different_set_ups_refuse_to_start() -> None:
    """Every rank must have the same number of envs and parameter set."""
    hub = Hub(W)
    exchanges = hub.exchanges()
    with pytest.raises(ValueError, match=r"differ in num_envs \(rank 0: 12, rank 1: 13\)"):
        on_all_ranks(
            [
                lambda: ADREngine(small_cfg(), N, exchange=exchanges[0]),
                lambda: ADREngine(small_cfg(), N + 1, exchange=exchanges[1]),
            ]
        )


def test_a_state_splits_into_shared_and_per_rank_parts_and_merges_back() -> None:
    """split/merge is the identity, and shared parts of two ranks are equal."""
    _, engines = ranks(small_cfg())
    on_all_ranks([lambda e=e: e.update(torch.arange(N), torch.full((N,), 30.0)) for e in engines])
    states = [e.state_dict() for e in engines]
    shared0, local0 = split_engine_state(states[0])
    shared1, local1 = split_engine_state(states[1])
    assert torch.equal(shared0["bounds"], shared1["bounds"])
    assert torch.equal(shared0["rng"]["decide"], shared1["rng"]["decide"])
    assert not torch.equal(local0["rng"]["assign"], local1["rng"]["assign"])
    merged = merge_engine_state(shared0, local1)
    restored = ADREngine(small_cfg(), N)
    restored.load_state_dict(merged, restore_ranges=True)
    assert torch.equal(restored.worker_types, engines[1].worker_types)


def test_ranks_with_different_adr_options_refuse_to_start() -> None:
    """Thresholds, deltas or options that differ would make ranks diverge: refused up front."""
    hub = Hub(W)
    exchanges = hub.exchanges()
    with pytest.raises(ValueError, match=r"differ in ADR config"):
        on_all_ranks(
            [
                lambda: ADREngine(small_cfg(), N, exchange=exchanges[0]),
                lambda: ADREngine(
                    small_cfg(adr_objective_threshold_high=21), N, exchange=exchanges[1]
                ),
            ]
        )


def test_an_engine_that_joins_a_run_later_is_one_built_in_it() -> None:
    """``join`` after local updates: the engine of each rank equals one built with that
    exchange and seed, and both evolve alike from there (what came before is dropped)."""
    cfg = small_cfg()
    objective = torch.full((N,), 30.0)
    _, built_in = ranks(cfg, seed=7)
    late = [ADREngine(cfg, N, seed=rank) for rank in range(W)]  # each its own seed
    for engine in late:
        engine.update(torch.arange(N), objective)
    hub = Hub(W)
    joins = zip(late, hub.exchanges(), strict=True)
    on_all_ranks([lambda e=e, x=x: e.join(x, 7) for e, x in joins])
    for _ in range(3):
        for group in (built_in, late):
            on_all_ranks([lambda e=e: e.update(torch.arange(N), objective) for e in group])
    for joined, built in zip(late, built_in, strict=True):
        assert joined.rank == built.rank and joined.world_size == W
        assert _same(joined.state_dict(), built.state_dict())


def _same(a: Any, b: Any) -> bool:
    """Equal state trees: tensors equal (dtype, shape, values), the rest ``==``."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return bool(a == b)
