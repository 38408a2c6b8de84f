"""Bad ADR input stops the env while it is built (before any step), with an error that names it."""

from __future__ import annotations

import math
import re

import pytest
import torch
from mjlab.managers.scene_entity_config import SceneEntityCfg

from adr_lab import RewardSum, Survived
from adr_lab.mjlab import FieldBinding, adr_term
from lab_helpers import TEST_BINDINGS, build, cartpole_cfg, run

POLE = SceneEntityCfg("cartpole", body_names=("pole_1",))

BAD_BINDINGS = [
    (FieldBinding("pole_mass", "body_mas", POLE), "body_mas"),
    (FieldBinding("pole_mass", "body_mass", SceneEntityCfg("cartpol")), "cartpol"),
    (
        FieldBinding("pole_mass", "body_mass", SceneEntityCfg("cartpole", body_names=("pole_9",))),
        "pole_9",
    ),
    (
        FieldBinding(
            "pole_friction",
            "geom_friction",
            SceneEntityCfg("cartpole", geom_names=("pole_1",)),
            operation="abs",
            axes=(3,),
        ),
        "axes [3]",
    ),
    (FieldBinding("pole_weight", "body_mass", POLE), "pole_weight"),
]


@pytest.mark.parametrize(
    ("binding", "named"),
    BAD_BINDINGS,
    ids=["missing-field", "missing-entity", "missing-body", "missing-axis", "unknown-parameter"],
)
def test_a_binding_to_something_that_does_not_exist_stops_the_build_naming_it(
    binding: FieldBinding, named: str
) -> None:
    """A parameter bound to a missing field, entity, element or axis is refused by name."""
    with pytest.raises(ValueError, match=re.escape(named)) as info:
        build(cartpole_cfg(2, bindings=[*TEST_BINDINGS[:1], binding]))
    assert binding.param in str(info.value)


def test_an_objective_of_the_wrong_shape_stops_the_build_naming_it() -> None:
    """An objective returning one value too many is refused with its name and shapes."""

    def too_long(env: object, ids: torch.Tensor) -> torch.Tensor:
        return torch.zeros(ids.numel() + 1)

    with pytest.raises(ValueError, match=r"too_long.*shape \(2,\)"):
        build(cartpole_cfg(2, objective=too_long))


def test_a_non_finite_objective_stops_the_build_naming_it_and_the_env() -> None:
    """An objective returning NaN for env 1 is refused with its name, the env and the value."""

    def nan_at_one(env: object, ids: torch.Tensor) -> torch.Tensor:
        return torch.where(ids == 1, math.nan, 0.0)

    with pytest.raises(ValueError, match=r"nan_at_one.*nan for env 1"):
        build(cartpole_cfg(3, objective=nan_at_one))


@pytest.mark.parametrize(
    ("objective", "named"),
    [(RewardSum("balance"), "'balance'"), (Survived(("fell",)), "'fell'")],
    ids=["reward-term", "termination-term"],
)
def test_a_builtin_objective_of_a_missing_term_stops_the_build_naming_it(
    objective: object, named: str
) -> None:
    """RewardSum / Survived of a term the env does not have are refused by name."""
    with pytest.raises(ValueError, match=named):
        build(cartpole_cfg(2, objective=objective))  # type: ignore[arg-type]


def test_an_objective_that_turns_non_finite_later_is_raised_at_the_next_check_naming_it() -> None:
    """A NaN score at a later reset raises at the next check (an env used without a runner:
    ``core.check()``, or every ``check_every`` updates) naming the objective; the engine
    records nothing meanwhile."""
    calls = []

    def late_nan(env: object, ids: torch.Tensor) -> torch.Tensor:
        calls.append(ids)
        return torch.full((ids.numel(),), math.nan if len(calls) > 1 else 0.0)

    env = build(cartpole_cfg(2, objective=late_nan, episode_steps=2))
    env.reset()
    engine = adr_term(env).engine
    run(env, 3)
    with pytest.raises(ValueError, match=r"late_nan.*objective"):
        adr_term(env).core.check()
    assert int(engine.queue_lengths.sum()) == 0


def test_an_unknown_operation_is_refused_in_one_line_naming_the_valid_ones() -> None:
    """FieldBinding(operation="mul") says which operations exist, without attrs' Attribute dump."""
    with pytest.raises(ValueError, match="operation must be one of") as info:
        FieldBinding("pole_mass", "body_mass", POLE, operation="mul")
    message = str(info.value)
    assert "\n" not in message and "Attribute(" not in message
    assert "scale, add, abs" in message and "'mul'" in message and "'pole_mass'" in message
