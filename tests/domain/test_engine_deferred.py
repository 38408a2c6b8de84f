"""Deferred input checks: bad entries never reach the state; the first is raised at check()."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from adr_domain import ADRConfig, ADREngine, ConfigError, InputChecks, InputError
from builders import small_cfg

N = 12


def engine_pair(**overrides: Any) -> tuple[ADREngine, ADREngine]:
    """Two engines of the same deferred-check config and seed."""
    cfg = small_cfg(input_checks="deferred", adr_queue_threshold_length=2, **overrides)
    return ADREngine(cfg, N, seed=5), ADREngine(cfg, N, seed=5)


def force_workers(engines: tuple[ADREngine, ...], types: list[int], modes: list[int]) -> None:
    for engine in engines:
        engine.worker_types.copy_(torch.tensor(types))
        engine.adr_modes.copy_(torch.tensor(modes))


def shared_view(engine: ADREngine) -> dict[str, Any]:
    """Everything an update decides deterministically from the recorded results."""
    return {
        "bounds": engine.bounds.tolist(),
        "next_limits": engine.next_limits.tolist(),
        "queues": [
            engine.queue_contents(n, b).tolist() for n in range(engine.num_params) for b in range(2)
        ],
        "rollout_perf": engine.rollout_perf.item(),
        "rollout_perf_valid": engine.rollout_perf_valid,
        "step": engine.step,
    }


@pytest.mark.parametrize(
    ("ids", "bad_at", "bad_value", "message"),
    [
        ([1, 99, 3], None, None, r"done_env_ids: env id 99 is out of range \[0, 12\)"),
        ([-4, 1], None, None, r"done_env_ids: env id -4 is out of range"),
        ([2, 5, 2], None, None, r"done_env_ids: env id 2 is repeated within one update"),
        ([1, 3], 3, math.nan, r"objective: non-finite value nan for finished env 3"),
        ([1, 3], 1, -math.inf, r"objective: non-finite value -inf for finished env 1"),
    ],
)
def test_a_bad_entry_is_raised_at_the_next_check_naming_argument_env_and_value(
    ids: list[int], bad_at: int | None, bad_value: float | None, message: str
) -> None:
    """update() goes on; check() raises the ValueError once, then the engine is clean again."""
    engine, _ = engine_pair()
    objective = torch.full((N,), 7.0)
    if bad_at is not None:
        objective[bad_at] = bad_value
    engine.update(ids, objective)
    with pytest.raises(InputError, match=message):  # a ValueError
        engine.check()
    engine.check()


def test_the_first_bad_entry_since_the_last_check_is_the_one_reported() -> None:
    """Later offences do not overwrite the first."""
    engine, _ = engine_pair()
    engine.update([50], torch.zeros(N))
    engine.update([4, 4], torch.zeros(N))
    with pytest.raises(ValueError, match="env id 50 is out of range"):
        engine.check()


def test_methods_that_read_to_the_host_raise_a_pending_bad_entry() -> None:
    """state_dict() is a host-visible point: it raises instead of saving silently."""
    engine, _ = engine_pair()
    engine.update([3], torch.full((N,), math.nan))
    with pytest.raises(ValueError, match="non-finite value nan for finished env 3"):
        engine.state_dict()
    engine.state_dict()


def test_a_frozen_engine_defers_bad_ids_too() -> None:
    """With update_adr_ranges false, bad ids are kept out and raised at check()."""
    engine = ADREngine(small_cfg(update_adr_ranges=False), N, seed=1)
    before = engine.get("mass").clone()
    engine.update([N + 3, 2], torch.zeros(N))
    assert torch.equal(engine.get("mass")[3:], before[3:])
    with pytest.raises(ValueError, match=r"env id 15 is out of range"):
        engine.check()


def test_validate_inputs_false_is_input_checks_off_and_conflicts_are_refused() -> None:
    """The older switch maps onto the new option; contradicting both is a config error."""
    assert ADRConfig.from_mapping(small_cfg()).input_checks is InputChecks.DEFERRED
    assert ADRConfig.from_mapping(small_cfg(validate_inputs=False)).input_checks is InputChecks.OFF
    assert ADRConfig.from_mapping(small_cfg(input_checks="off")).validate_inputs is False
    with pytest.raises(ConfigError, match="validate_inputs: false means input_checks: off"):
        ADRConfig.from_mapping(small_cfg(validate_inputs=False, input_checks="eager"))


BAD = st.sampled_from(["out_of_range", "repeat", "nan", "inf"])
STEP = st.tuples(
    st.lists(st.sampled_from([0, 1]), min_size=N, max_size=N),  # worker types
    st.lists(st.integers(0, 7), min_size=N, max_size=N),  # modes (4 params -> 8 queues)
    st.lists(st.integers(0, N - 1), unique=True, max_size=N),  # finished envs
    st.lists(st.integers(0, 30), min_size=N, max_size=N),  # objective
    st.lists(BAD, max_size=3),  # bad entries to add
)


def with_bad_entries(
    done: list[int], objective: list[float], bad: list[str]
) -> tuple[list[int], torch.Tensor, set[int], int]:
    """The dirty update's ids and objective, the envs that only bad entries name,
    and how many bad entries were added."""
    ids = list(done)
    obj = torch.tensor(objective, dtype=torch.float32)
    only_bad: set[int] = set()
    free = [i for i in range(N) if i not in done]
    added = 0
    for k, kind in enumerate(bad):
        if len(ids) == N:  # more ids than envs is refused at once, from the shape
            break
        if kind == "out_of_range":
            ids.insert(k, N + k)
        elif kind == "repeat" and done:
            ids.append(done[k % len(done)])
        elif kind in ("nan", "inf") and free:
            env = free.pop()
            obj[env] = math.nan if kind == "nan" else math.inf
            ids.insert(0, env)
            only_bad.add(env)
        else:
            continue
        added += 1
    return ids, obj, only_bad, added


@given(st.lists(STEP, min_size=1, max_size=6))
def test_a_run_with_bad_entries_decides_exactly_as_the_run_without_them(
    steps: list[tuple[list[int], list[int], list[int], list[int], list[str]]],
) -> None:
    """With the same forced workers, ranges, next limits, queues, rollout EMA and step
    equal those of the clean run after every update, stale conversions agree, and the
    envs named only by bad entries keep their workers and values."""
    dirty, clean = engine_pair()
    for types, modes, done, objective, bad in steps:
        force_workers((dirty, clean), types, modes)
        ids, obj, only_bad, added = with_bad_entries(done, [float(v) for v in objective], bad)
        kept = {name: dirty.get(name).clone() for name in dirty.tensor_param_names}
        dirty.update(ids, obj)
        clean_obj = obj.clone()
        clean_obj[list(only_bad)] = 0.0
        clean.update(done, clean_obj)
        if added:
            with pytest.raises(ValueError, match="kept out of the ADR state"):
                dirty.check()
        assert shared_view(dirty) == shared_view(clean)
        untouched = [i for i in range(N) if i not in done]
        assert dirty.worker_types[untouched].tolist() == clean.worker_types[untouched].tolist()
        for env in only_bad:
            for name, values in kept.items():
                assert dirty.get(name)[env] == values[env], (name, env)
