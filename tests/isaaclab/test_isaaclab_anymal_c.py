"""Isaac-Velocity-Flat-Anymal-C-Adr's configs, resolved as ``isaaclab train`` resolves them.

The Anymal-C USD and actuator network come from NVIDIA's asset CDN, so the
env is not built here: these tests check what the configs say against Isaac
Lab 3.0's own stock task, its event terms and its reward terms.
"""

from __future__ import annotations

import importlib.metadata
import inspect
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import pytest
from isaaclab.envs import mdp
from isaaclab.managers import SceneEntityCfg
from isaaclab_newton.physics import MJWarpSolverCfg, NewtonCfg
from isaaclab_tasks.utils import resolve_task_config

from adr_domain import ADRConfig
from adr_lab.isaaclab import AdrSpec
from adr_lab.isaaclab.consumers import adr_push
from adr_lab.isaaclab.rsl_rl import ADR_PPO
from adr_lab.isaaclab.tasks import anymal_c
from adr_lab.isaaclab.tasks.anymal_c import TASK_ID

STOCK_TASK_ID = "IsaacContrib-Velocity-Flat-AnymalC"
NEWTON = ("physics=newton_mjwarp",)
STOCK_RANDOMIZATIONS = (
    mdp.randomize_rigid_body_mass,
    mdp.randomize_rigid_body_com,
    mdp.push_by_setting_velocity,
)
"""The stock task's randomizing event terms that ADR replaces."""


def _resolved(task: str, play_mode: bool = False, overrides: tuple[str, ...] = NEWTON) -> Any:
    return resolve_task_config(
        task, "rsl_rl_cfg_entry_point", play_mode=play_mode, overrides=overrides
    )


@pytest.fixture(scope="module")
def configs() -> tuple[Any, Any]:
    """(env config, agent config) of the ADR task on Newton / MuJoCo Warp."""
    return _resolved(TASK_ID)


@pytest.fixture(scope="module")
def stock() -> Any:
    """The stock task's env config on Newton / MuJoCo Warp."""
    return _resolved(STOCK_TASK_ID)[0]


def _terms(group: Any) -> dict[str, Any]:
    """A manager's term configs by name (a config object or a dict), Nones left out."""
    items = group.items() if isinstance(group, dict) else vars(group).items()
    return {name: term for name, term in items if term is not None}


def _adr_specs(env_cfg: Any) -> list[AdrSpec]:
    terms = _terms(env_cfg.curriculum).values()
    return [t.params["spec"] for t in terms if isinstance(t.params.get("spec"), AdrSpec)]


def _entities(cfg: Any) -> Iterator[SceneEntityCfg]:
    """Every scene entity of the term configs of ``cfg``'s events, rewards and terminations."""
    for group in (cfg.events, cfg.rewards, cfg.terminations):
        for term in _terms(group).values():
            yield from (v for v in term.params.values() if isinstance(v, SceneEntityCfg))


def test_the_entry_point_registers_the_task_for_isaaclab_train() -> None:
    from isaaclab.cli import load_external_tasks

    load_external_tasks()
    ours = [
        e for e in importlib.metadata.entry_points(group="isaaclab.tasks") if e.name == "adr_lab"
    ]
    assert len(ours) == 1
    assert TASK_ID in ours[0].load().TASK_IDS
    assert gym.spec(TASK_ID).kwargs["default_agent"] == "rsl_rl"


@pytest.mark.parametrize("overrides", [(), NEWTON], ids=["default", "newton_mjwarp"])
def test_the_task_resolves_on_newton_mujoco_warp(overrides: tuple[str, ...]) -> None:
    env_cfg, _ = _resolved(TASK_ID, overrides=overrides)
    assert isinstance(env_cfg, anymal_c.AnymalCFlatAdrEnvCfg)
    assert isinstance(env_cfg.sim.physics, NewtonCfg)
    assert isinstance(env_cfg.sim.physics.solver_cfg, MJWarpSolverCfg)


def test_one_adr_term_holds_a_valid_block_and_every_parameter_is_used(
    configs: tuple[Any, Any],
) -> None:
    specs = _adr_specs(configs[0])
    assert len(specs) == 1
    (spec,) = specs
    assert isinstance(spec.adr, ADRConfig)
    assert spec.adr.update_adr_ranges
    bound = {b.param for b in spec.bindings}
    assert len(bound) == len(spec.bindings)
    assert set(spec.adr.params) == bound | {"push_velocity"}


def test_every_binding_names_a_parameter_and_an_event_term_with_its_range_argument(
    configs: tuple[Any, Any],
) -> None:
    (spec,) = _adr_specs(configs[0])
    for binding in spec.bindings:
        assert binding.param in spec.adr.params, binding.param
        func = binding.term.func
        call = func.__call__ if inspect.isclass(func) else func
        arguments = inspect.signature(call).parameters
        assert binding.range_arg in arguments, (binding.param, binding.range_arg)
        assert binding.range_arg in binding.term.params
        unknown = set(binding.term.params) - set(arguments)
        assert not unknown, (binding.param, unknown)


def test_bindings_select_only_bodies_the_stock_task_selects(
    configs: tuple[Any, Any], stock: Any
) -> None:
    """Body names are checked against the robot when the env is built; without the
    robot's USD, each must be one the stock task's own terms already select."""
    stock_bodies = {str(e.body_names) for e in _entities(stock) if e.name == "robot"}
    stock_bodies |= {str(e.body_names) for e in _entities(stock) if e.name == "contact_forces"}
    (spec,) = _adr_specs(configs[0])
    for binding in spec.bindings:
        entity = binding.term.params["asset_cfg"]
        assert entity.name == "robot"
        assert entity.joint_names is None
        assert str(entity.body_names) in stock_bodies, (binding.param, entity.body_names)


def test_the_stock_randomization_is_replaced_not_doubled(
    configs: tuple[Any, Any], stock: Any
) -> None:
    stock_funcs = {t.func for t in _terms(stock.events).values()}
    assert set(STOCK_RANDOMIZATIONS) <= stock_funcs, "the stock task changed: revisit the list"
    events = _terms(configs[0].events)
    assert not {t.func for t in events.values()} & set(STOCK_RANDOMIZATIONS)
    push = events["push_robot"]
    assert push.func is adr_push
    assert push.interval_range_s == stock.events.push_robot.interval_range_s
    (spec,) = _adr_specs(configs[0])
    assert push.params["param"] in spec.adr.params
    assert push.params["param"] not in {b.param for b in spec.bindings}
    kept = set(_terms(stock.events)) - set(anymal_c.REPLACED_EVENTS)
    assert kept <= set(events)


def test_every_foot_friction_reaches_the_contacts(configs: tuple[Any, Any]) -> None:
    """MuJoCo Warp takes the larger friction of two shapes: the ground's must not hide ADR's."""
    env_cfg, _ = configs
    (spec,) = _adr_specs(env_cfg)
    lowest = spec.adr.params["foot_friction"].limits[0]
    for material in (env_cfg.scene.terrain.physics_material, env_cfg.sim.physics_material):
        assert material.dynamic_friction <= lowest
        assert material.static_friction <= lowest


def test_the_objective_reads_a_weighted_reward_term_within_reach(
    configs: tuple[Any, Any],
) -> None:
    env_cfg, _ = configs
    (spec,) = _adr_specs(env_cfg)
    reward = _terms(env_cfg.rewards)[spec.objective.term]
    best = reward.weight * env_cfg.episode_length_s  # every step's reward at most 1
    assert reward.weight > 0
    assert 0 < spec.adr.adr_objective_threshold_low < spec.adr.adr_objective_threshold_high < best


def test_the_agent_trains_with_adr_ppo_under_its_own_name(configs: tuple[Any, Any]) -> None:
    _, agent_cfg = configs
    _, stock_agent = _resolved(STOCK_TASK_ID)
    assert agent_cfg.algorithm.class_name == ADR_PPO
    assert agent_cfg.experiment_name not in {stock_agent.experiment_name, ""}
    assert agent_cfg.actor.hidden_dims == stock_agent.actor.hidden_dims


def test_play_mode_freezes_adr_and_stops_the_pushes() -> None:
    env_cfg, _ = _resolved(TASK_ID, play_mode=True)
    (spec,) = _adr_specs(env_cfg)
    assert not spec.adr.update_adr_ranges
    assert env_cfg.events.push_robot is None
