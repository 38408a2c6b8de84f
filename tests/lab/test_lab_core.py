"""The engine glue both frameworks share (no simulator): value groups, scores, state."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from adr_domain import ADREngine, StateError, WorkerType
from adr_lab.core import AdrCore, finished_envs, resolve_env_ids
from app_helpers import trees_equal
from builders import small_cfg

N = 10


def _core(seed: int = 1, **cfg: object) -> AdrCore:
    return AdrCore(ADREngine(small_cfg(**cfg), N, seed=seed), seed=seed, objective_name="score")


def _played(core: AdrCore, rounds: int) -> AdrCore:
    """``rounds`` updates in which every env finishes with a high score."""
    for _ in range(rounds):
        core.record(torch.arange(N), torch.full((N,), 30.0))
    return core


@given(
    types=st.lists(st.sampled_from([0, 1, 2]), min_size=N, max_size=N),
    modes=st.lists(st.integers(0, 7), min_size=N, max_size=N),
    chosen=st.sets(st.integers(0, N - 1), min_size=1),
    extended=st.booleans(),
    param=st.sampled_from(["mass", "gain", "latency"]),
)
def test_value_groups_partition_the_envs_and_pin_boundary_workers_to_their_bound(
    types: list[int], modes: list[int], chosen: set[int], extended: bool, param: str
) -> None:
    """Each chosen env is in one group: at its bound if it evaluates param's, else in range."""
    core = _played(_core(adr_extended_boundary_sample=extended), 3)
    engine = core.engine
    engine.worker_types.copy_(torch.tensor(types))
    engine.adr_modes.copy_(torch.tensor(modes))
    ids = torch.tensor(sorted(chosen))
    groups = core.value_groups(ids, param)
    grouped = torch.cat([g for g, _ in groups]).tolist()
    assert sorted(grouped) == sorted(chosen)
    n = engine.params.index(param)
    pinned = engine.next_limits if extended else engine.bounds
    for group, (low, high) in groups:
        for env_id in group.tolist():
            if types[env_id] == WorkerType.BOUNDARY and modes[env_id] // 2 == n:
                value = float(pinned[n, modes[env_id] % 2])
                assert (low, high) == (value, value)
            else:
                assert (low, high) == tuple(engine.bounds[n].tolist())


def test_scores_of_the_wrong_shape_are_refused_naming_the_objective() -> None:
    """Three scores for two finished envs raise, naming the objective and both shapes."""
    core = _core()
    with pytest.raises(ValueError, match=r"score returned \(3,\) for 2 envs"):
        core.record(torch.tensor([0, 1]), torch.zeros(3))


def test_the_state_round_trips_and_a_bad_entry_changes_nothing() -> None:
    """A new core takes the saved state whole; a damaged noise stream is refused untouched."""
    saved = _played(_core(), 4).state_dict()
    other = _core(seed=9)
    before = other.state_dict()
    broken = {**saved, "adr_lab": {**saved["adr_lab"], "noise_rng": torch.zeros(3)}}
    with pytest.raises(StateError, match="noise_rng"):
        other.load_state_dict(broken)
    assert trees_equal(other.state_dict(), before) == []
    other.load_state_dict(saved)
    assert trees_equal(other.state_dict(), saved) == []


def test_finished_envs_are_the_reset_envs_that_played_a_step() -> None:
    """Of a reset's envs (None, a slice or a list), only those with a running episode count."""
    lengths = torch.tensor([0, 3, 0, 1, 5])

    def finished(env_ids: object) -> list[int]:
        ids = resolve_env_ids(env_ids, 5, torch.device("cpu"))  # type: ignore[arg-type]
        return list(finished_envs(ids, lengths).tolist())

    assert finished(None) == [1, 3, 4]
    assert finished(slice(0, 2)) == [1]
    assert finished([2, 4]) == [4]
