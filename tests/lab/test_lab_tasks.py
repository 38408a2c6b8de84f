"""The registered ADR tasks: both use the ADR runner, and Go1's bindings write real fields."""

from __future__ import annotations

import pytest
import torch
from mjlab.tasks.registry import list_tasks, load_env_cfg, load_runner_cls

from adr_lab.mjlab import adr_term
from adr_lab.mjlab.runner import AdrOnPolicyRunner
from adr_lab.tasks import TASK_IDS, go1
from lab_helpers import build, expected, run, written


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_every_adr_task_is_registered_with_the_adr_runner(task_id: str) -> None:
    """mjlab's registry lists the task, names AdrOnPolicyRunner, and its play config freezes ADR."""
    assert "Adr" in task_id and task_id in list_tasks()
    assert load_runner_cls(task_id) is AdrOnPolicyRunner
    spec = load_env_cfg(task_id, play=True).curriculum["adr"].params["spec"]
    assert spec.adr.update_adr_ranges is False
    assert load_env_cfg(task_id).curriculum["adr"].params["spec"].adr.update_adr_ranges


@pytest.mark.slow
def test_the_go1_task_writes_foot_friction_and_trunk_mass_into_the_model() -> None:
    """Go1 flat velocity under ADR builds, steps, and holds each env's ADR values in its model."""
    cfg = load_env_cfg(go1.TASK_ID)
    cfg.scene.num_envs = 3
    env = build(cfg)
    env.reset()
    run(env, 2)
    engine = adr_term(env).engine
    for binding in go1.BINDINGS[:2]:
        values = engine.get(binding.param)
        torch.testing.assert_close(written(env, binding), expected(env, binding, values))
