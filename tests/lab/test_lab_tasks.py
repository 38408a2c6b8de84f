"""The registered ADR tasks: both use the ADR runner, and Go1's bindings write real fields."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch
from mjlab.tasks.registry import list_tasks, load_env_cfg, load_runner_cls

from adr_lab.mjlab import adr_term
from adr_lab.mjlab.runner import AdrOnPolicyRunner
from adr_lab.tasks import TASK_IDS, go1
from app_helpers import run_app
from lab_helpers import build, expected, run, written
from paths import SRC

CPU = {"CUDA_VISIBLE_DEVICES": "", "MJLAB_WARP_QUIET": "1"}


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


IMPORT_FIRST = (
    "from adr_lab.mjlab import attach_adr\n"
    "from mjlab.tasks.registry import load_env_cfg\n"
    "load_env_cfg('Mjlab-Cartpole-Balance-Adr')\n"
)
"""What a user ran: our package first, then mjlab's registry."""


def test_importing_adr_lab_mjlab_before_mjlab_registers_the_tasks_without_a_traceback(
    tmp_path: Path,
) -> None:
    """A fresh interpreter importing adr_lab.mjlab before mjlab finds the ADR tasks, cleanly."""
    env = {"PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    result = run_app([sys.executable, "-c", IMPORT_FIRST], tmp_path, 300, {**env, **CPU})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "[WARN]" not in result.stderr, result.stderr
