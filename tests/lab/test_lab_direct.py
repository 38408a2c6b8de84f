"""Direct writes of ADR values into model fields equal mjlab's ``dr`` functions' (real mjlab)."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from mjlab.envs import ManagerBasedRlEnv
from mjlab.managers.scene_entity_config import SceneEntityCfg

from adr_lab.mjlab import FieldBinding, adr_term
from adr_lab.mjlab.cells import dr_call_args, exact_values, probe_cells
from adr_lab.mjlab.direct import DirectWrite
from lab_helpers import TEST_BINDINGS, build, cartpole_cfg, small_adr

NUM_ENVS = 6

POLE_SIZE = FieldBinding(
    "pole_size", "geom_size", SceneEntityCfg("cartpole", geom_names=("pole_1",)), axes=(0,)
)
"""A ``dr`` function that also recomputes broadphase bounds: not a plain write."""

BINDINGS = (*TEST_BINDINGS, POLE_SIZE)


@pytest.fixture(scope="module")
def env() -> Iterator[ManagerBasedRlEnv]:
    adr = small_adr()
    adr["params"]["pole_size"] = {"init_range": [0.9, 1.1], "limits": [0.5, 1.5], "delta": 0.1}
    built = build(cartpole_cfg(NUM_ENVS, adr=adr, bindings=BINDINGS))
    yield built
    built.close()


def _fields(env: ManagerBasedRlEnv, binding: FieldBinding) -> dict[str, torch.Tensor]:
    """Copies of every expanded field the binding's ``dr`` function declares."""
    declared = {binding.field, *getattr(binding.func, "model_fields", ())}
    model = env.sim.model
    return {f: getattr(model, f).clone() for f in declared if f in env.sim.expanded_fields}


def _restore(env: ManagerBasedRlEnv, saved: dict[str, torch.Tensor]) -> None:
    for f, values in saved.items():
        getattr(env.sim.model, f).copy_(values)


def test_plain_dr_functions_are_written_directly_and_others_through_their_function(
    env: ManagerBasedRlEnv,
) -> None:
    """Every binding of the task goes direct; geom_size (which also writes bounds) does not."""
    writer = adr_term(env).writer
    assert writer.direct_params == tuple(b.param for b in TEST_BINDINGS)


@pytest.mark.parametrize("binding", BINDINGS[:-1], ids=lambda b: b.field)
@settings(max_examples=25, deadline=None)
@given(
    picks=st.lists(st.integers(0, NUM_ENVS - 1), min_size=1, max_size=NUM_ENVS, unique=True),
    values=st.lists(
        st.floats(-4.0, 4.0, allow_subnormal=False, width=32), min_size=NUM_ENVS, max_size=NUM_ENVS
    ),
)
def test_a_direct_write_leaves_the_model_exactly_as_the_dr_function_does(
    env: ManagerBasedRlEnv, binding: FieldBinding, picks: list[int], values: list[float]
) -> None:
    """For any envs and values, the direct write and the ``dr`` call give bit-equal fields."""
    asset_cfg = copy.deepcopy(binding.asset_cfg)
    asset_cfg.resolve(env.scene)
    cells = probe_cells(env, binding, asset_cfg)
    direct = DirectWrite(env, binding.field, cells, binding.operation)
    ids = torch.tensor(picks, dtype=torch.long)
    chosen = torch.tensor(values, dtype=torch.float32)[: len(picks)]
    before = _fields(env, binding)
    try:
        binding.func(
            env,
            ids,
            ranges=(0.0, 0.0),
            distribution=exact_values(chosen),
            **dr_call_args(binding, asset_cfg),
        )
        by_func = _fields(env, binding)
        _restore(env, before)
        direct.write(ids, chosen)
        by_direct = _fields(env, binding)
    finally:
        _restore(env, before)
    for field, expected in by_func.items():
        assert torch.equal(by_direct[field], expected), field
