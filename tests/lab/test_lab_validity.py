"""Physically invalid or conflicting bindings are refused while the env is built, by name."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
import torch
from mjlab.managers.scene_entity_config import SceneEntityCfg

from adr_domain import ADRParamConfig
from adr_lab.mjlab import DR_FUNCTIONS, FieldBinding, adr_term
from adr_lab.mjlab.domains import FIELD_DOMAINS
from adr_lab.validity import NON_NEGATIVE, POSITIVE, SAME_SIGN, find_violation, param_bounds
from lab_helpers import TEST_BINDINGS, build, cartpole_cfg, run, small_adr

POLE = SceneEntityCfg("cartpole", body_names=("pole_1",))
HINGE = SceneEntityCfg("cartpole", joint_names=("hinge_1",))


def _with(param: str, **spec: Any) -> dict[str, Any]:
    adr = small_adr()
    adr["params"][param] = {**adr["params"][param], **spec}
    return adr


INVALID = [
    # pole_mass scales body_mass (default > 0): a negative or zero factor is no mass.
    (_with("pole_mass", init_range=[-1, -1], limits=[-1, 3]), "init_range lower bound -1"),
    (_with("pole_mass", limits=[-2, 4]), "limits lower bound -2"),
    (_with("pole_mass", limits=[0, 4]), "limits lower bound 0"),
    (_with("pole_mass", limits=[None, 4]), "limits lower bound (unbounded)"),
    # hinge_damping is added to dof_damping (default 0).
    (_with("hinge_damping", init_range=[-5, 0], limits=[-5, 0.1]), "init_range lower bound -5"),
    (_with("hinge_damping", limits=[-1, 0.1]), "limits lower bound -1"),
    # pole_friction sets geom_friction axis 0 (abs).
    (_with("pole_friction", init_range=[-0.5, 1], limits=[-0.5, 2]), "init_range lower bound -0.5"),
    # motor_strength scales actuator_gear: 0 disables the motor.
    (_with("motor_strength", limits=[0, 2]), "limits lower bound 0"),
]


@pytest.mark.parametrize(
    ("adr", "bound"),
    INVALID,
    ids=[
        "negative-mass-init",
        "negative-mass-limit",
        "zero-mass-limit",
        "unbounded-mass",
        "negative-damping-init",
        "negative-damping-limit",
        "abs-negative-friction",
        "zero-gear",
    ],
)
def test_a_range_that_could_leave_the_fields_valid_domain_stops_the_build_naming_it(
    adr: dict[str, Any], bound: str
) -> None:
    """Init ranges or limits that could make a field invalid are refused before any step."""
    with pytest.raises(ValueError, match=re.escape(bound)) as info:
        build(cartpole_cfg(2, adr=adr))
    message = str(info.value)
    binding = next(b for b in TEST_BINDINGS if f"parameter {b.param!r}" in message)
    element = {"body_mass": "pole_1", "dof_damping": "hinge_1", "geom_friction": "pole_1"}
    assert binding.field in message and "must be" in message
    assert element.get(binding.field, "slide") in message


@pytest.mark.parametrize(
    ("param", "spec"),
    [
        ("hinge_damping", {"init_range": [0.0, 0.0], "limits": [0.0, None]}),
        ("pole_mass", {"init_range": [1.0, 1.0], "limits": [1e-3, None]}),
        ("pole_friction", {"init_range": [0.0, 0.0], "limits": [0.0, 5.0]}),
    ],
    ids=["damping-unbounded-above", "mass-unbounded-above", "friction-from-zero"],
)
def test_ranges_inside_the_valid_domain_build_and_step(param: str, spec: dict[str, Any]) -> None:
    """Limits unbounded on the valid side, or touching a closed end, are accepted."""
    env = build(cartpole_cfg(2, adr=_with(param, **spec)))
    env.reset()
    run(env, 2)
    assert torch.isfinite(env.sim.model.body_mass).all()
    assert adr_term(env).engine.param_names


def test_two_parameters_bound_to_the_same_field_element_stop_the_build_naming_both() -> None:
    """A second parameter writing the pole's mass would silently win: refused, both named."""
    adr = small_adr()
    adr["params"]["pole_weight"] = {"init_range": [1, 1], "limits": [0.5, 2], "delta": 0.1}
    clash = FieldBinding("pole_weight", "body_mass", POLE)
    with pytest.raises(ValueError, match=r"'pole_mass' and 'pole_weight'.*'body_mass'.*pole_1"):
        build(cartpole_cfg(2, adr=adr, bindings=[*TEST_BINDINGS, clash]))


def test_two_parameters_on_different_axes_of_one_field_build() -> None:
    """Bindings to disjoint axes of the same element (sliding and torsional friction) coexist."""
    adr = small_adr()
    adr["params"]["pole_torsion"] = {"init_range": [0, 0.01], "limits": [0, 0.1], "delta": 0.01}
    torsion = FieldBinding(
        "pole_torsion",
        "geom_friction",
        SceneEntityCfg("cartpole", geom_names=("pole_1",)),
        operation="abs",
        axes=(1,),
    )
    env = build(cartpole_cfg(2, adr=adr, bindings=[*TEST_BINDINGS, torsion]))
    friction = env.sim.model.geom_friction
    assert torch.isfinite(friction).all()


def test_every_field_a_binding_can_write_has_a_valid_domain() -> None:
    """The mjlab field table covers every field of DR_FUNCTIONS (a new one needs a decision)."""
    assert set(DR_FUNCTIONS) <= set(FIELD_DOMAINS)


def test_the_rule_checks_the_parameters_whole_interval_after_the_operation() -> None:
    """scale/add/abs over the defaults, at init range and (effective) limits, first bound named."""
    cfg = ADRParamConfig(init_range=(0.0, 0.0), limits=(None, 1.0), delta=0.1)
    found = find_violation(NON_NEGATIVE, "add", [0.2, 0.0], param_bounds(cfg))
    assert found is not None and found.bound == "limits lower bound (unbounded)"
    above = ADRParamConfig(init_range=(0.0, 0.0), limits=(0.0, None), delta=0.1)
    assert find_violation(NON_NEGATIVE, "add", [0.0], param_bounds(above)) is None
    scale = ADRParamConfig(init_range=(0.5, 1.0), limits=(0.5, 2.0), delta=0.1)
    assert find_violation(POSITIVE, "scale", [1.0, 0.0], param_bounds(scale)) is None
    flipped = find_violation(SAME_SIGN, "scale", [-2.0], param_bounds(scale))
    assert flipped is None
    negative = ADRParamConfig(init_range=(1.0, 1.0), limits=(-1.0, 1.0), delta=0.1)
    found = find_violation(SAME_SIGN, "scale", [-2.0], param_bounds(negative))
    assert found is not None and found.result == 2.0 and not math.isnan(found.value)
