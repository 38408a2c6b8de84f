"""The Isaac Lab curriculum term, driven through a fake of Isaac Lab's manager surface."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import torch

import isaaclab_fake as fake
from adr_domain import WorkerType, adr_log_keys
from adr_lab import RewardSum
from app_helpers import trees_equal

ADR = {
    "adr_queue_threshold_length": 2,
    "adr_objective_threshold_low": 0.2,
    "adr_objective_threshold_high": 0.5,
    "worker_adr_boundary_fraction": 0.6,
    "params": {
        "leg_mass": {"init_range": [0.9, 1.1], "limits": [0.5, 2.0], "delta": 0.1},
        "gain": {"init_range": [1.0, 1.0], "limits": [0.5, 1.5], "delta": 0.1},
    },
}


@pytest.fixture
def lab() -> Iterator[ModuleType]:
    """adr_lab.isaaclab imported against the fake Isaac Lab."""
    with fake.installed():
        import adr_lab.isaaclab as module

        yield module


def _env(lab: ModuleType, num_envs: int = 8, **params: Any) -> fake.ManagerBasedRLEnv:
    binding = lab.IsaacLabBinding(
        "leg_mass",
        fake.randomize_rigid_body_mass,
        "mass_distribution_params",
        fake.SceneEntityCfg("robot", body_names=("leg",)),
        {"operation": "scale"},
    )
    term_params = {
        "adr": ADR,
        "objective": RewardSum("alive", per_second=True),
        "bindings": [binding],
        **params,
    }
    cfg = fake.CurriculumTermCfg(func=lab.AdrCurriculumTerm, params=term_params)
    return fake.ManagerBasedRLEnv({"adr": cfg}, num_envs)


def _term(env: fake.ManagerBasedRLEnv) -> Any:
    return env.curriculum_manager.terms["adr"].func


def _episodes(env: fake.ManagerBasedRLEnv, rounds: int, score: float = 1.0) -> None:
    """End every env's episode ``rounds`` times, alternating halves of the envs."""
    for r in range(rounds):
        env.play(3, score)
        env._reset_idx(torch.arange(r % 2, env.num_envs, 2))


def test_the_term_passes_isaac_labs_check_of_term_arguments(lab: ModuleType) -> None:
    """Built by the fake manager, whose signature check is Isaac Lab's (it would raise)."""
    env = _env(lab, seed=7)
    assert isinstance(_term(env), lab.AdrCurriculumTerm)


def test_boundary_workers_get_their_bound_and_the_others_the_range_from_isaac_labs_function(
    lab: ModuleType,
) -> None:
    """After resets, the leg mass of each boundary worker is default x bound, others in range."""
    env = _env(lab, num_envs=16)
    _episodes(env, 6)
    engine = _term(env).core.engine
    n = engine.params.index("leg_mass")
    lo, hi = engine.bounds[n].tolist()
    assert (engine.bounds != engine.params.init).any(), "no bound moved"
    scale = env.scene["robot"].mass[:, 1] / env.scene["robot"].default_mass[:, 1]
    pinned = 0
    for env_id in range(env.num_envs):
        kind, mode = int(engine.worker_types[env_id]), int(engine.adr_modes[env_id])
        if kind == WorkerType.BOUNDARY and mode // 2 == n:
            assert float(scale[env_id]) == pytest.approx(float(engine.bounds[n, mode % 2]))
            pinned += 1
        else:
            assert lo - 1e-6 <= float(scale[env_id]) <= hi + 1e-6
    assert torch.equal(env.scene["robot"].mass[:, 0], env.scene["robot"].default_mass[:, 0])
    assert pinned > 0


def test_adr_keys_reach_the_extras_log_isaac_lab_rebuilds_in_every_reset(lab: ModuleType) -> None:
    """The term publishes in reset(), after _reset_idx replaced extras['log']."""
    env = _env(lab)
    _episodes(env, 2)
    engine = _term(env).core.engine
    log = env.extras["log"]
    assert set(adr_log_keys(engine.param_names)) <= set(log)
    assert float(log["adr/params/leg_mass/upper"]) == float(engine.bounds[0, 1])


def test_the_state_round_trips_into_a_new_env_and_its_values_are_reapplied(
    lab: ModuleType,
) -> None:
    """A new env loading the state holds the same engine state and plays its boundary bounds."""
    env = _env(lab)
    _episodes(env, 6)
    state = _term(env).state_dict()
    other = _env(lab)
    _term(other).load_state_dict(state)
    assert trees_equal(_term(other).state_dict(), state) == []
    engine = _term(other).core.engine
    boundary = (engine.worker_types == WorkerType.BOUNDARY) & (engine.adr_modes // 2 == 0)
    scale = other.scene["robot"].mass[:, 1] / other.scene["robot"].default_mass[:, 1]
    expected = engine.bounds[0][engine.adr_modes % 2].float()
    torch.testing.assert_close(scale[boundary], expected[boundary])


@pytest.mark.parametrize(
    ("change", "named"),
    [({"param": "arm_mass"}, "arm_mass"), ({"asset": "arm"}, "arm"), ({"body": "hand"}, "hand")],
    ids=["unknown-parameter", "unknown-asset", "unknown-body"],
)
def test_a_binding_to_something_missing_is_refused_by_name(
    lab: ModuleType, change: dict[str, str], named: str
) -> None:
    """Unknown parameter, asset or body stops the build with an error that names it."""
    binding = lab.IsaacLabBinding(
        change.get("param", "leg_mass"),
        fake.randomize_rigid_body_mass,
        "mass_distribution_params",
        fake.SceneEntityCfg(change.get("asset", "robot"), body_names=(change.get("body", "leg"),)),
        {"operation": "scale"},
    )
    with pytest.raises(ValueError, match=named):
        _env(lab, bindings=[binding])
