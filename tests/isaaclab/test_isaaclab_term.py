"""The ADR curriculum term on Isaac Lab's real Cartpole (Newton / MuJoCo Warp, CPU).

One env for the module: 16 envs whose episodes last 6 steps (a time-out, so
every finished episode scores 1 with ``Survived``), ADR queues of 2 results.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import torch
from isaaclab.envs import mdp
from isaaclab.managers import CurriculumTermCfg, SceneEntityCfg

from adr_domain import WorkerType, adr_log_keys
from adr_lab import Survived
from adr_lab.isaaclab import AdrCurriculumTerm, AdrSpec, EventBinding, adr_term, adr_value
from adr_lab.isaaclab.bindings import BoundEvent
from app_helpers import trees_equal
from isaaclab_env import (
    BINDINGS,
    CART_DAMPING,
    HINGE_FRICTION,
    OPERATION,
    POLE_MASS,
    SMALL_ADR,
    built,
    cartpole_cfg,
    event,
    expected_field,
    play,
    readbacks,
    with_adr,
)
from newton_model import mjw_field

NUM_ENVS = 16
ADR = {
    **SMALL_ADR,
    "params": {
        **SMALL_ADR["params"],
        "action_noise": {"init_range": [0.0, 0.0], "limits": [0.0, 0.5], "delta": 0.05},
    },
}


def _params(**changes: Any) -> dict[str, Any]:
    return {"adr": ADR, "objective": Survived(), "bindings": BINDINGS, "seed": 3, **changes}


@pytest.fixture(scope="module")
def env() -> Iterator[Any]:
    env_cfg = with_adr(cartpole_cfg(NUM_ENVS), **_params())
    env_cfg.episode_length_s = 0.1
    with built(env_cfg) as env:
        yield env


def _assert_fields_follow_the_engine(env: Any) -> None:
    engine = adr_term(env).engine
    for name, field in readbacks(env).items():
        expected = expected_field(name, engine.get(name))
        torch.testing.assert_close(field, expected, rtol=1e-6, atol=1e-6, msg=name)


def test_every_env_holds_its_engine_values_once_the_env_is_built(env: Any) -> None:
    """Before any step, each env's pole mass, hinge friction and cart damping are the engine's."""
    _assert_fields_follow_the_engine(env)


def test_after_resets_boundary_workers_hold_their_bound_and_the_others_lie_in_range(
    env: Any,
) -> None:
    """Episodes end every 6 steps; once bounds moved, every field still follows its worker."""
    play(env, 6 * 8)
    engine = adr_term(env).engine
    assert (engine.bounds != engine.params.init).any(), "no bound moved"
    _assert_fields_follow_the_engine(env)
    pinned = 0
    for n, name in enumerate(("pole_mass", "hinge_friction", "cart_damping")):
        values = engine.get(name)
        lo, hi = engine.bounds[n].tolist()
        for env_id in range(env.num_envs):
            kind, mode = int(engine.worker_types[env_id]), int(engine.adr_modes[env_id])
            if kind == WorkerType.BOUNDARY and mode // 2 == n:
                assert float(values[env_id]) == pytest.approx(engine.bounds[n, mode % 2].item())
                pinned += 1
            else:
                assert lo - 1e-6 <= float(values[env_id]) <= hi + 1e-6
    assert pinned > 0


def test_a_full_queue_of_good_results_widens_the_bound_and_the_next_reset_follows_it(
    env: Any,
) -> None:
    """Survived episodes fill a queue, its bound widens by delta, the next episodes play it."""
    engine = adr_term(env).engine
    before = engine.bounds.clone()
    play(env, 6 * 4)
    moved = engine.bounds != before
    assert moved.any(), "no bound moved"
    widened = (engine.bounds - before).abs()[moved]
    assert bool((widened > 0).all())
    _assert_fields_follow_the_engine(env)


def test_adr_keys_reach_the_log_isaac_lab_rebuilds_at_every_reset(env: Any) -> None:
    """After a step with resets, extras['log'] holds the adr/... keys of the engine."""
    play(env, 6)
    engine = adr_term(env).engine
    log = env.extras["log"]
    assert set(adr_log_keys(engine.param_names)) <= set(log)
    assert float(log["adr/params/pole_mass/upper"]) == float(engine.bounds[0, 1])


def test_user_terms_read_tensor_parameters_with_adr_value(env: Any) -> None:
    """adr_value is the engine's live per-env tensor (e.g. an action-noise scale)."""
    engine = adr_term(env).engine
    assert adr_value(env, "action_noise").shape == (NUM_ENVS,)
    assert torch.equal(adr_value(env, "action_noise"), engine.get("action_noise"))
    ids = torch.tensor([1, 3])
    assert torch.equal(adr_value(env, "pole_mass", ids), engine.get("pole_mass", ids))
    with pytest.raises(ValueError, match="wind"):
        adr_value(env, "wind")


def test_a_loaded_state_is_the_saved_one_and_every_env_plays_it_again(env: Any) -> None:
    """state_dict, more play, load_state_dict: the engine and the fields are as saved."""
    term = adr_term(env)
    state = term.state_dict()
    saved_values = {name: term.engine.get(name).clone() for name in OPERATION}
    play(env, 6 * 2)
    term.load_state_dict(state)
    assert trees_equal(term.state_dict(), state) == []
    for name, values in saved_values.items():
        torch.testing.assert_close(term.engine.get(name), values)
    _assert_fields_follow_the_engine(env)


def _build_term(env: Any, **changes: Any) -> AdrCurriculumTerm:
    """What the curriculum manager does while the env is built: AdrCurriculumTerm(cfg, env)."""
    cfg = CurriculumTermCfg(func=AdrCurriculumTerm, params={"spec": AdrSpec(**_params(**changes))})
    return AdrCurriculumTerm(cfg, env)


def _mass_binding(param: str = "pole_mass", asset: str = "robot", **names: Any) -> EventBinding:
    term = event(
        mdp.randomize_rigid_body_mass,
        SceneEntityCfg(asset, **(names or {"body_names": ["pole"]})),
        mass_distribution_params=(1.0, 1.0),
        operation="scale",
    )
    return EventBinding(param, term, "mass_distribution_params")


def _friction_binding(joint: str = "cart_to_pole", operation: str = "abs") -> EventBinding:
    """hinge_friction through the friction coefficient of ``joint`` (the hinge's default: 0)."""
    term = event(
        mdp.randomize_joint_parameters,
        SceneEntityCfg("robot", joint_names=[joint]),
        friction_distribution_params=(0.0, 0.0),
        operation=operation,
    )
    return EventBinding("hinge_friction", term, "friction_distribution_params")


def _gaussian(binding: EventBinding) -> EventBinding:
    """``binding`` with its term drawing from a gaussian (which would not write v exactly)."""
    term = copy.deepcopy(binding.term)
    term.params = {**term.params, "distribution": "gaussian"}
    return attrs.evolve(binding, term=term)


@pytest.mark.parametrize(
    ("binding", "named"),
    [
        (_mass_binding(param="wind"), "wind"),
        (_mass_binding(asset="crane"), "crane"),
        (_mass_binding(body_names=["boom"]), "boom"),
        (attrs.evolve(HINGE_FRICTION, range_arg="friction_range"), "friction_range"),
        (_friction_binding(joint="elbow"), "elbow"),
        (_gaussian(_mass_binding()), "'gaussian' distribution"),
    ],
    ids=[
        "unknown-parameter",
        "unknown-asset",
        "unknown-body",
        "unknown-argument",
        "unknown-joint",
        "not-uniform",
    ],
)
def test_a_binding_to_something_missing_stops_the_build_naming_it(
    env: Any, binding: EventBinding, named: str
) -> None:
    """The term refuses, while it is built, a binding whose parameter or target is missing."""
    with pytest.raises(ValueError, match=named):
        _build_term(env, bindings=(binding,))


@pytest.mark.parametrize(
    ("objective", "problem"),
    [
        (lambda env, ids: torch.zeros(3), r"returned \(3,\) for 16 envs"),
        (lambda env, ids: torch.full((ids.numel(),), float("nan")), "non-finite"),
    ],
    ids=["wrong-shape", "non-finite"],
)
def test_an_objective_of_the_wrong_shape_or_non_finite_stops_the_build(
    env: Any, objective: Any, problem: str
) -> None:
    """The objective is probed on every env while the term is built."""
    with pytest.raises(ValueError, match=problem):
        _build_term(env, objective=objective)


def test_values_reach_the_mujoco_warp_model_of_every_world_at_the_next_step(env: Any) -> None:
    """After a step, MuJoCo Warp's per-world body mass of the pole is the engine's value."""
    play(env, 1)
    masses = mjw_field(env, "body_mass", "pole")
    torch.testing.assert_close(masses, adr_term(env).engine.get("pole_mass"))


def _adr_with(param: str, **spec: Any) -> dict[str, Any]:
    params = {**ADR["params"], param: {**ADR["params"][param], **spec}}
    return {**ADR, "params": params}


@pytest.mark.parametrize(
    ("param", "spec", "binding", "named"),
    [
        (
            "pole_mass",
            {"init_range": [-1.0, -1.0], "limits": [-1.0, 3.0]},
            POLE_MASS,
            (
                "its init_range lower bound -1 would make body_mass of body 'pole' of 'robot' -",
                "operation scale); body_mass must be > 0",
            ),
        ),
        (
            "hinge_friction",
            {"limits": [-0.1, 0.1]},
            _friction_binding(operation="add"),
            (
                "its limits lower bound -0.1 would make joint_friction_coeff of joint "
                "'cart_to_pole' of 'robot' -",
                "operation add); joint_friction_coeff must be >= 0",
            ),
        ),
        (
            "cart_damping",
            {"limits": [-1.0, 2.0]},
            CART_DAMPING,
            (
                "its limits lower bound -1 would make joint_damping of joint 'slider_to_cart' "
                "of 'robot' -",
                "operation scale); joint_damping must be >= 0",
            ),
        ),
        (
            "cart_damping",
            {"limits": [-1000.0, 2.0]},
            EventBinding(
                "cart_damping",
                event(
                    mdp.randomize_rigid_body_inertia, SceneEntityCfg("robot", body_names=["pole"])
                ),
                "inertia_distribution_params",
            ),
            (
                "its limits lower bound -1000 would make body_inertia of body 'pole' of "
                "'robot' (axis 0) -",
                "operation add); body_inertia must be > 0",
            ),
        ),
    ],
    ids=["negative-mass-init", "negative-friction-limit", "negative-gain-limit", "inertia"],
)
def test_a_range_that_could_leave_the_fields_valid_domain_stops_the_build_naming_it(
    env: Any, param: str, spec: dict[str, Any], binding: EventBinding, named: tuple[str, str]
) -> None:
    """Init ranges or limits that could make a written field invalid are refused by name.

    The defaults are what the event term would read now (the module's env
    already plays ADR values), so the message is matched around them.
    """
    adr = _adr_with(param, **spec)
    with pytest.raises(ValueError, match=re.escape(named[0])) as info:
        _build_term(env, adr=adr, bindings=(binding,))
    message = str(info.value)
    assert message.startswith(f"ADR binding of parameter {param!r} to {binding.range_arg!r}: ")
    assert message.endswith(named[1])


def test_a_range_that_stays_in_the_valid_domain_builds(env: Any) -> None:
    """Friction added from 0 with limits [0, 0.1] never goes below 0: the event term builds."""
    bound = BoundEvent(_friction_binding(operation="add"), env, adr_term(env).engine)
    assert bound.params["operation"] == "add"
