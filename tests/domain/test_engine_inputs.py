"""Bad input gets a ValueError naming the argument, and the engine state stays untouched."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from adr_domain import ADREngine, WorkerType
from adr_domain.host_syncs import count_host_syncs
from builders import small_cfg

N = 16


def fresh(checks: str = "deferred") -> ADREngine:
    engine = ADREngine(small_cfg(input_checks=checks), N, seed=3)
    engine.update(torch.arange(N), torch.full((N,), 7.0))  # assign workers, fill some queues
    return engine


def assert_same_state(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
        elif isinstance(a[key], dict):
            assert_same_state(a[key], b[key])
        else:
            assert a[key] == b[key], key


def objective_with(value: float, at: int = 2) -> torch.Tensor:
    objective = torch.full((N,), 5.0)
    objective[at] = value
    return objective


@pytest.mark.parametrize(
    ("ids", "objective", "message"),
    [
        ([1, 2, 3], objective_with(float("nan")), r"objective: non-finite .*env 2: nan"),
        ([2], objective_with(float("inf")), r"objective: non-finite .*env 2: inf"),
        ([1, 2], torch.zeros(N - 1), r"objective: expected shape \(16,\)"),
        ([1, 2], torch.zeros(N, 1), r"objective: expected shape"),
        ([1, 2], torch.zeros(N, dtype=torch.bool), r"objective: expected a real-valued"),
        ([1, 2], [0.0] * N, r"objective: expected a \(16,\) tensor"),
        ([1, N], torch.zeros(N), r"done_env_ids: env ids must lie in \[0, 16\)"),
        ([-1, 3], torch.zeros(N), r"done_env_ids: env ids must lie in"),
        ([4, 2, 4], torch.zeros(N), r"done_env_ids: duplicated env ids \[4\]"),
        (torch.tensor([1.0, 2.0]), torch.zeros(N), r"done_env_ids: expected integer env ids"),
        (torch.tensor([[1, 2]]), torch.zeros(N), r"done_env_ids: expected a 1-D tensor"),
        (torch.ones(N, dtype=torch.bool), torch.zeros(N), r"done_env_ids: expected integer"),
        ("0,1", torch.zeros(N), r"done_env_ids: expected a 1-D integer tensor or a sequence"),
        ([0, 1.5], torch.zeros(N), r"done_env_ids: env ids must be ints"),
        (3, torch.zeros(N), r"done_env_ids: expected a 1-D integer tensor or a sequence"),
    ],
)
def test_bad_update_input_is_rejected_and_changes_nothing(
    ids: Any, objective: Any, message: str
) -> None:
    """With eager checks, update() raises a ValueError naming the argument and leaves
    every bit of state as it was."""
    engine = fresh("eager")
    before = engine.state_dict()
    with pytest.raises(ValueError, match=message):
        engine.update(ids, objective)
    assert_same_state(dict(before), dict(engine.state_dict()))


def test_a_nan_objective_of_an_env_that_did_not_finish_is_not_an_error() -> None:
    """Only finished envs' objectives are read."""
    engine = fresh()
    engine.update([0, 1], objective_with(float("nan"), at=9))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda e: e.sample("nope"), r"param_name: unknown ADR parameter 'nope'; known: mass"),
        (lambda e: e.get("nope"), r"param_name: unknown ADR parameter 'nope'"),
        (lambda e: e.sample("mass", [0, 99]), r"env_ids: env ids must lie in \[0, 16\)"),
        (lambda e: e.get("mass", [3, 3]), r"env_ids: duplicated env ids \[3\]"),
        (lambda e: e.recycle([16]), r"env_ids: env ids must lie in"),
        (lambda e: e.recycle(torch.tensor([0.5])), r"env_ids: expected integer env ids"),
    ],
)
def test_bad_sample_get_and_recycle_input_is_rejected(call: Any, message: str) -> None:
    """sample/get/recycle name the bad argument."""
    engine = fresh()
    before = engine.state_dict()
    with pytest.raises(ValueError, match=message):
        call(engine)
    assert_same_state(dict(before), dict(engine.state_dict()))


def test_unchecked_updates_ignore_invalid_entries_instead_of_failing() -> None:
    """With validate_inputs false, non-finite results and out-of-range ids are dropped silently."""
    engine = ADREngine(small_cfg(validate_inputs=False), N)
    engine.worker_types.fill_(int(WorkerType.BOUNDARY))
    engine.adr_modes.fill_(1)  # everyone evaluates mass/upper
    objective = torch.full((N,), 9.0)
    objective[3] = float("nan")
    engine.update(torch.tensor([3, 4, 99, -5]), objective)
    assert engine.queue_contents(0, 1).tolist() == [9.0]
    assert torch.isfinite(engine.rollout_perf)


@pytest.mark.parametrize(("checks", "expected"), [("eager", 1), ("deferred", 0), ("off", 0)])
def test_only_an_eager_check_synchronizes_an_update_with_the_host(
    checks: str, expected: int
) -> None:
    """The eager input check is the only device-to-host sync of update(); deferred
    checks and no checks have none."""
    engine = ADREngine(small_cfg(input_checks=checks), 64, seed=0)
    engine.recycle(torch.arange(64))
    objective = torch.rand(64) * 30
    with count_host_syncs() as syncs:
        for step in range(4):
            engine.update(torch.arange(step * 8, step * 8 + 8), objective)
    assert syncs.total == 4 * expected, dict(syncs.counts)


def test_clear_other_queues_updates_stay_sync_free() -> None:
    """The one-parameter-moves path uses no data-dependent ops either."""
    engine = ADREngine(small_cfg(validate_inputs=False, clear_other_queues=True), 64)
    engine.recycle(torch.arange(64))
    with count_host_syncs() as syncs:
        for step in range(8):
            engine.update(torch.arange(step * 8, step * 8 + 8), torch.full((64,), 30.0))
    assert syncs.total == 0, dict(syncs.counts)


def test_more_done_ids_than_envs_is_refused_even_unchecked() -> None:
    """K > N is caught from the shape alone, also with validate_inputs false."""
    for validate in (True, False):
        engine = ADREngine(small_cfg(validate_inputs=validate), N)
        with pytest.raises(ValueError, match=r"done_env_ids: 17 ids for 16 envs"):
            engine.update([*range(N), 0], torch.zeros(N))
