"""COM, inertia, shape friction and gravity bound to ADR on Isaac Lab's Cartpole (Newton, CPU).

One env for the module: 8 envs whose episodes last 6 steps (time-outs, so
every finished episode scores 1 and the bounds widen), the pole's mass
(Isaac Lab's mass term, which rescales the inertia), the cart's inertia
(Isaac Lab's inertia term), and the per-env terms of
:mod:`adr_lab.isaaclab.terms`: the pole's COM along x and z (two bindings of
one body), the pole's friction and gravity. Each value is read back from the
articulation's data or Newton's model, and from MuJoCo Warp's per-world model
after a physics step.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import torch
from isaaclab.envs import mdp
from isaaclab.managers import CurriculumTermCfg, SceneEntityCfg

from adr_domain.host_syncs import count_host_syncs
from adr_lab import Survived
from adr_lab.isaaclab import AdrCurriculumTerm, AdrSpec, EventBinding, adr_term
from adr_lab.isaaclab.bindings import BoundEvent
from adr_lab.isaaclab.terms import randomize_com, randomize_friction, randomize_gravity
from isaaclab_env import POLE_MASS, SMALL_ADR, built, cartpole_cfg, event, play, with_adr
from newton_model import (
    mjw_field,
    mjw_friction,
    mjw_gravity,
    newton_friction,
    newton_gravity,
    physics_step,
)

NUM_ENVS = 8
GRAVITY = torch.tensor([0.0, 0.0, -9.81])
"""The gravity Isaac Lab's Cartpole is built with."""


def _param(init: float, low: float, high: float, delta: float) -> dict[str, Any]:
    return {"init_range": [init, init], "limits": [low, high], "delta": delta}


ADR = {
    **SMALL_ADR,
    "params": {
        "pole_mass": SMALL_ADR["params"]["pole_mass"],
        "cart_inertia": _param(1.0, 0.5, 2.0, 0.25),
        "pole_com_x": _param(0.0, -0.04, 0.04, 0.02),
        "pole_com_z": _param(0.0, -0.04, 0.04, 0.02),
        "pole_friction": _param(1.0, 0.5, 1.5, 0.25),
        "gravity_scale": _param(1.0, 0.5, 1.5, 0.25),
    },
}


def _com(param: str, axis: str) -> EventBinding:
    term = event(
        randomize_com,
        SceneEntityCfg("robot", body_names=["pole"]),
        com_distribution_params=(0.0, 0.0),
        axes=(axis,),
    )
    return EventBinding(param, term, "com_distribution_params")


def _friction(body: str = "pole", **params: Any) -> EventBinding:
    asset = SceneEntityCfg("robot", body_names=[body])
    term = event(randomize_friction, asset, friction_distribution_params=(1.0, 1.0), **params)
    return EventBinding("pole_friction", term, "friction_distribution_params")


def _gravity(**params: Any) -> EventBinding:
    term = event(randomize_gravity, SceneEntityCfg("robot"), **params)
    term.params.pop("asset_cfg")
    term.params.setdefault("gravity_distribution_params", (1.0, 1.0))
    return EventBinding("gravity_scale", term, "gravity_distribution_params")


CART_INERTIA = EventBinding(
    "cart_inertia",
    event(
        mdp.randomize_rigid_body_inertia,
        SceneEntityCfg("robot", body_names=["cart"]),
        inertia_distribution_params=(1.0, 1.0),
        operation="scale",
    ),
    "inertia_distribution_params",
)
BINDINGS = (
    POLE_MASS,
    CART_INERTIA,
    _com("pole_com_x", "x"),
    _com("pole_com_z", "z"),
    _friction(),
    _gravity(),
)


@pytest.fixture(scope="module")
def env() -> Iterator[Any]:
    spec = {"adr": ADR, "objective": Survived(), "bindings": BINDINGS, "seed": 5}
    env_cfg = with_adr(cartpole_cfg(NUM_ENVS), **spec)
    env_cfg.episode_length_s = 0.1
    with built(env_cfg) as env:
        yield env


def _values(env: Any) -> dict[str, torch.Tensor]:
    engine = adr_term(env).engine
    return {name: engine.get(name).clone() for name in ADR["params"]}


def _default_inertia(env: Any, binding: int, body: str) -> torch.Tensor:
    """``(N, 9)`` the inertia Isaac Lab's mass or inertia term read when first called."""
    asset = env.scene["robot"]
    term = adr_term(env).events[binding].func
    return term.default_inertia[:, asset.body_names.index(body)]


def _expected(env: Any) -> dict[str, torch.Tensor]:
    """What each bound field must hold for the engine's current values."""
    v = _values(env)
    diagonal = [0, 4, 8]
    pole_inertia = _default_inertia(env, 0, "pole") * v["pole_mass"][:, None]
    cart_inertia = _default_inertia(env, 1, "cart")[:, diagonal] * v["cart_inertia"][:, None]
    com = torch.stack([v["pole_com_x"], torch.zeros(NUM_ENVS), v["pole_com_z"]], dim=1)
    return {
        "pole_inertia": pole_inertia,
        "cart_inertia": cart_inertia,
        "pole_com": com,
        "pole_friction": v["pole_friction"],
        "gravity": GRAVITY * v["gravity_scale"][:, None],
    }


def _held(env: Any) -> dict[str, torch.Tensor]:
    """What the articulation's data and Newton's model hold."""
    asset = env.scene["robot"]
    pole, cart = asset.body_names.index("pole"), asset.body_names.index("cart")
    return {
        "pole_inertia": asset.data.body_inertia.torch[:, pole].clone(),
        "cart_inertia": asset.data.body_inertia.torch[:, cart][:, [0, 4, 8]].clone(),
        "pole_com": asset.data.body_com_pos_b.torch[:, pole].clone(),
        "pole_friction": newton_friction(env, "pole"),
        "gravity": newton_gravity(env),
    }


def _assert_fields_follow_the_engine(env: Any) -> None:
    expected = _expected(env)
    for name, held in _held(env).items():
        torch.testing.assert_close(held, expected[name], rtol=1e-5, atol=1e-7, msg=name)


def test_every_env_holds_its_engine_values_once_the_env_is_built(env: Any) -> None:
    """Before any step: inertias, COM, friction and gravity are the engine's init values."""
    _assert_fields_follow_the_engine(env)


def test_after_resets_with_moved_bounds_each_env_holds_its_own_engine_values(env: Any) -> None:
    """Bounds widened, boundary workers pinned: the articulation and Newton's model follow."""
    engine = adr_term(env).engine
    play(env, 6 * 8)
    moved = (engine.bounds != engine.params.init).any(dim=1)
    assert int(moved.sum()) >= 2, "too few bounds moved"
    _assert_fields_follow_the_engine(env)
    _assert_envs_differ(env)


def _assert_envs_differ(env: Any) -> None:
    spread = [name for name, v in _values(env).items() if v.unique().numel() > 1]
    assert len(spread) >= 2, "the envs should hold different values"


def test_mujoco_warp_holds_every_worlds_values_after_a_physics_step(env: Any) -> None:
    """After a physics step, MuJoCo Warp's per-world inertia, COM, friction and gravity follow.

    MuJoCo keeps principal inertias (sorted here: the order of the axes may differ).
    """
    play(env, 6 * 8)
    _assert_envs_differ(env)
    physics_step(env)
    expected = _expected(env)
    pole_principal = expected["pole_inertia"][:, [0, 4, 8]]
    inertias = [
        (mjw_field(env, "body_inertia", "pole"), pole_principal),
        (mjw_field(env, "body_inertia", "cart"), expected["cart_inertia"]),
    ]
    for held, want in inertias:
        torch.testing.assert_close(held.sort().values, want.sort().values, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(mjw_field(env, "body_ipos", "pole"), expected["pole_com"])
    torch.testing.assert_close(mjw_friction(env, "pole"), expected["pole_friction"])
    torch.testing.assert_close(mjw_gravity(env), expected["gravity"])


@pytest.mark.parametrize(
    ("binding", "named"),
    [
        (_friction(body="boom"), "boom"),
        (_com("pole_com_x", "w"), "axes must be some of x, y, z; got ['w']"),
        (_gravity(operation="power"), "operation must be one of scale, add, abs; got 'power'"),
        (
            EventBinding(
                "pole_friction",
                event(
                    mdp.randomize_rigid_body_material,
                    SceneEntityCfg("robot", body_names=["pole"]),
                    static_friction_range=(1.0, 1.0),
                    dynamic_friction_range=(1.0, 1.0),
                    restitution_range=(0.0, 0.0),
                    num_buckets=1,
                ),
                "static_friction_range",
            ),
            "bind adr_lab.isaaclab.terms.randomize_friction instead",
        ),
        (
            EventBinding(
                "gravity_scale",
                event(mdp.randomize_physics_scene_gravity, SceneEntityCfg("robot")),
                "gravity_distribution_params",
            ),
            "bind adr_lab.isaaclab.terms.randomize_gravity instead",
        ),
        (
            EventBinding(
                "pole_com_x",
                event(
                    mdp.randomize_rigid_body_com,
                    SceneEntityCfg("robot", body_names=["pole"]),
                    com_range={"x": (0.0, 0.0)},
                ),
                "com_range",
            ),
            "bind adr_lab.isaaclab.terms.randomize_com instead",
        ),
    ],
    ids=[
        "unknown-body",
        "unknown-axis",
        "unknown-operation",
        "isaac-lab-material",
        "isaac-lab-gravity",
        "isaac-lab-com",
    ],
)
def test_a_bad_binding_stops_the_build_naming_what_is_wrong(
    env: Any, binding: EventBinding, named: str
) -> None:
    """Unknown bodies, axes or operations, and Isaac Lab's fixed-range terms, are refused."""
    with pytest.raises(ValueError, match=re.escape(named)) as info:
        BoundEvent(binding, env, adr_term(env).engine)
    assert str(info.value).startswith(f"ADR binding of parameter {binding.param!r}")


def test_a_friction_range_that_could_go_negative_stops_the_build(env: Any) -> None:
    """Friction added to what the pole holds (0.5 to 1.5) with limits down to -1.5: refused."""
    params = {**ADR["params"], "pole_friction": _param(0.0, -1.5, 1.5, 0.25)}
    spec = AdrSpec(
        adr={**ADR, "params": params}, objective=Survived(), bindings=[_friction(operation="add")]
    )
    with pytest.raises(ValueError, match="pole_friction") as info:
        AdrCurriculumTerm(CurriculumTermCfg(func=AdrCurriculumTerm, params={"spec": spec}), env)
    message = str(info.value)
    named = "limits lower bound -1.5 would make shape_material_mu of body 'pole' of 'robot' -"
    assert named in message
    assert message.endswith("operation add); shape_material_mu must be >= 0")


@contextmanager
def _numpy_callers() -> Iterator[list[list[str]]]:
    """The files of the three frames that led to each ``Tensor.numpy`` call in the block."""
    original = torch.Tensor.numpy
    callers: list[list[str]] = []

    def spy(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        callers.append([frame.filename for frame in traceback.extract_stack(limit=4)[:-1]])
        return original(self, *args, **kwargs)

    torch.Tensor.numpy = spy  # type: ignore[method-assign]
    try:
        yield callers
    finally:
        torch.Tensor.numpy = original  # type: ignore[method-assign]


def test_writing_every_binding_reads_nothing_back_to_the_host(env: Any) -> None:
    """The writes of a reset (Isaac Lab's mass and inertia terms, our COM, friction and
    gravity terms) for some envs: no operation that would wait for a GPU. The only ones
    counted are Warp handing CPU tensors to its kernels through ``__array__`` (numpy),
    which takes ``__cuda_array_interface__`` for GPU tensors instead."""
    ids = torch.tensor([1, 4, 6], dtype=torch.long)
    for bound in adr_term(env).events:
        with count_host_syncs() as counter, _numpy_callers() as callers:
            bound.apply(ids)
        counts = dict(counter.counts)
        assert set(counts) <= {"Tensor.numpy"}, (bound.binding.param, counts)
        assert len(callers) == counts.get("Tensor.numpy", 0)
        from_warp = [any(Path(f).match("warp/_src/context.py") for f in c) for c in callers]
        assert all(from_warp), callers
