"""The engine glue both frameworks share (no simulator): value groups, scores, state."""

from __future__ import annotations

import pytest
import torch

from adr_domain import ADREngine, StateError
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
    assert finished(torch.tensor([4, 0, 1], dtype=torch.int32)) == [4, 1]
    assert finished(torch.tensor([[3], [2]])) == [3]


def test_int64_env_ids_on_the_device_pass_through_unchanged() -> None:
    """The ids mjlab passes at every reset are used as they are (no copy, no op)."""
    ids = torch.tensor([2, 0, 4])
    assert resolve_env_ids(ids, 5, torch.device("cpu")) is ids
