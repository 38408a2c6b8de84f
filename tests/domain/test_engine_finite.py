"""Whatever the config allows, bounds, next limits, per-env values and NPD stay finite
and not denormal, and every state the engine writes loads back."""

from __future__ import annotations

import io
import math
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from adr_domain import ADREngine, ConfigError
from adr_domain.config import CATEGORICAL_MAX, MIN_MAGNITUDE, VALUE_MAX

FLOAT32_TINY = float(torch.finfo(torch.float32).tiny)
N = 8


def cfg_with(params: dict[str, Any], queue_length: int = 1) -> dict[str, Any]:
    return {
        "worker_adr_boundary_fraction": 1.0,
        "adr_queue_threshold_length": queue_length,
        "adr_objective_threshold_low": 5,
        "adr_objective_threshold_high": 20,
        "params": params,
    }


def drive(engine: ADREngine, updates: int, phase: int, check: bool = True) -> None:
    """Every env finishes every update; results alternate between phases of
    ``phase`` good (100) and ``phase`` bad (0) updates."""
    everyone = torch.arange(engine.num_envs)
    for step in range(updates):
        good = (step // phase) % 2 == 0
        engine.update(everyone, torch.full((engine.num_envs,), 100.0 if good else 0.0))
        if check:
            assert_representable(engine)


def not_denormal(values: torch.Tensor) -> bool:
    """Every value is 0 or at least float32's smallest normal in magnitude."""
    magnitude = values.double().abs()
    return bool(((magnitude == 0) | (magnitude >= FLOAT32_TINY)).all())


def assert_representable(engine: ADREngine) -> None:
    for name, values in (("bounds", engine.bounds), ("next_limits", engine.next_limits)):
        assert bool(torch.isfinite(values).all()), (name, values)
        assert not_denormal(values), (name, values)
    assert bool((engine.bounds >= engine.params.effective_limits[:, :1]).all())
    assert bool((engine.bounds <= engine.params.effective_limits[:, 1:]).all())
    assert math.isfinite(engine.npd().item())
    for name, values in engine.tensor_values().items():
        assert bool(torch.isfinite(values.double()).all()), (name, values)


def roundtrip(state: Any) -> Any:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def assert_loads_back(engine: ADREngine, cfg: dict[str, Any]) -> None:
    state = engine.state_dict()
    fresh = ADREngine(cfg, engine.num_envs, seed=99)
    fresh.load_state_dict(roundtrip(state), restore_ranges=True)
    again = fresh.state_dict()
    assert torch.equal(again["bounds"], state["bounds"])
    assert torch.equal(again["next_limits"], state["next_limits"])
    for name, values in state["tensor_values"].items():
        assert torch.equal(again["tensor_values"][name], values), name


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"init_range": [0.5, 2.0], "delta": 2.0, "delta_style": "multiplicative"},
            [MIN_MAGNITUDE, VALUE_MAX],
        ),
        ({"init_range": [-1.0, 1.0], "delta": 1e37}, [-VALUE_MAX, VALUE_MAX]),
        (
            {"init_range": [0, 3], "delta": 2**50, "type": "categorical"},
            [-CATEGORICAL_MAX, CATEGORICAL_MAX],
        ),
    ],
)
def test_unbounded_ranges_stop_at_the_largest_values_their_parameter_can_hold(
    spec: dict[str, Any], expected: list[float]
) -> None:
    """The case that broke: 1024 updates of queue length 1 and objective 100 used to reach
    [5.6e-309, inf] and a state that could not be loaded; now the range stops at the
    finite caps and the state loads back."""
    cfg = cfg_with({"x": spec})
    engine = ADREngine(cfg, N, seed=0)
    drive(engine, 1024, phase=1024)
    assert engine.bounds[0].tolist() == expected
    assert_loads_back(engine, cfg)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"init_range": [0.5, 2.0], "delta": 1e-40}, "delta must be 0 or between 2\\*\\*-60"),
        ({"init_range": [0.0, 1e39], "delta": 1.0}, "values must be 0 or between"),
        ({"init_range": [1e-30, 1.0], "delta": 1.0}, "got 1e-30"),
        ({"init_range": [0.0, 1.0], "limits": [None, 1e40], "delta": 1.0}, "got 1e\\+40"),
        (
            {"init_range": [0, 2**60], "delta": 1, "type": "categorical"},
            "must lie within \\+-2\\*\\*53",
        ),
    ],
)
def test_numbers_that_could_leave_the_representable_range_are_refused_at_start_up(
    spec: dict[str, Any], message: str
) -> None:
    """A config whose numbers are denormal or beyond float32 is a ConfigError naming them."""
    with pytest.raises(ConfigError, match=message):
        ADREngine(cfg_with({"x": spec}), N)


MAGNITUDES = st.sampled_from([MIN_MAGNITUDE, 1e-10, 1e-3, 0.3, 1.0, 7.0, 1e5, 1e20, 1e37])


@st.composite
def extreme_params(draw: st.DrawFn) -> dict[str, Any]:
    style = draw(st.sampled_from(["additive", "multiplicative", "categorical"]))
    lo = draw(MAGNITUDES)
    hi = lo * draw(st.sampled_from([1.0, 2.0, 1e3]))
    spec: dict[str, Any] = {}
    if style == "multiplicative":
        spec = {
            "init_range": [lo, min(hi, VALUE_MAX)],
            "delta": draw(st.sampled_from([1.0001, 2.0, 1e5, 1e30])),
            "delta_style": "multiplicative",
        }
    elif style == "additive":
        sign = draw(st.sampled_from([-1.0, 1.0]))
        spec = {
            "init_range": sorted([sign * lo, min(hi, VALUE_MAX)]),
            "delta": draw(st.sampled_from([0.0, MIN_MAGNITUDE, 0.1, 3.0, 1e20, 1e37, 3e38])),
        }
    else:
        a = draw(st.integers(-(2**40), 2**40))
        spec = {
            "init_range": [a, a + draw(st.integers(0, 5))],
            "delta": draw(st.sampled_from([1, 7, 2**40, 2**52])),
            "type": "categorical",
        }
    if draw(st.booleans()):
        spec["range_path"] = "actor_params.a.b.range"
    return spec


@given(
    st.lists(extreme_params(), min_size=1, max_size=3),
    st.sampled_from([1, 3]),
    st.sampled_from([1, 7, 200]),
)
def test_every_state_of_an_extreme_config_is_representable_and_loads_back(
    specs: list[dict[str, Any]], queue_length: int, phase: int
) -> None:
    """Extreme deltas, magnitudes and unbounded limits, widening then narrowing:
    after every update all is finite and not denormal, and the final state loads back."""
    cfg = cfg_with({f"p{i}": spec for i, spec in enumerate(specs)}, queue_length)
    engine = ADREngine(cfg, N, seed=1)
    drive(engine, 400, phase=phase)
    assert_loads_back(engine, cfg)
