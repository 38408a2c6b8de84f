"""The update's tensor work traces whole with torch.compile(fullgraph=True) and
gives exactly the eager engine's results."""

from __future__ import annotations

import os
from typing import Any

import pytest
import torch

from adr_domain import ADREngine
from builders import dextreme_adr_cfg, small_cfg

N = 24

# Between them, every branch of the traced functions (tracing takes seconds each).
CONFIGS = {
    "default": small_cfg(),
    "every_option": small_cfg(
        input_checks="eager",
        clear_other_queues=True,
        queue_policy="clear_on_decision",
        adr_extended_boundary_sample=True,
    ),
}


def drive(engine: ADREngine, seed: int) -> list[dict[str, Any]]:
    """Updates with every kind of finished-env count (0, 1, some, all)."""
    gen = torch.Generator().manual_seed(seed)
    states = []
    for count in (N, 0, 1, 5, 17, N, 3, 2, 11, 0, 9, 1, 7):
        ids = torch.randperm(N, generator=gen)[:count]
        good = torch.rand((), generator=gen) < 0.6
        low, high = (10, 31) if good else (0, 8)
        engine.update(ids, torch.randint(low, high, (N,), generator=gen).float())
        states.append(engine.state_dict())
    return states


def assert_same_states(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    for step, (x, y) in enumerate(zip(a, b, strict=True)):
        for key, value in x.items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(value, y[key]), (step, key)
            elif isinstance(value, dict):
                for name, v in value.items():
                    assert torch.equal(v, y[key][name]), (step, key, name)
            else:
                assert value == y[key], (step, key)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_the_traced_update_has_no_graph_break_and_equals_the_eager_one(name: str) -> None:
    """fullgraph tracing (aot_eager: functionalized, no code generation) raises on any
    graph break; the traced engine's states equal the eager engine's after every update."""
    torch._dynamo.reset()
    cfg = CONFIGS[name]
    eager = drive(ADREngine(cfg, N, seed=3), seed=1)
    traced = drive(ADREngine(cfg, N, seed=3, compile_update="aot_eager"), seed=1)
    assert_same_states(eager, traced)


@pytest.mark.skipif(
    not os.environ.get("ADR_STRESS"), reason="inductor compiles C++ for minutes (ADR_STRESS=1)"
)
def test_the_inductor_compiled_dextreme_update_equals_the_eager_one() -> None:
    """With generated kernels too, the 27-parameter engine gives the eager results."""
    torch._dynamo.reset()
    eager = drive(ADREngine(dextreme_adr_cfg(), N, seed=3), seed=2)
    compiled = drive(ADREngine(dextreme_adr_cfg(), N, seed=3, compile_update=True), seed=2)
    assert_same_states(eager, compiled)
