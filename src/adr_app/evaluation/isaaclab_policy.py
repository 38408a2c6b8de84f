"""Isaac Lab's ADR tasks, as ``adr-eval`` finds and configures them (no env is built).

An Isaac Lab ADR task is a gymnasium-registered task with an rsl_rl agent
config (``rsl_rl_cfg_entry_point``) whose env config has an ADR curriculum
term (:func:`adr_lab.isaaclab.attach_adr`). Task packages are loaded as
``isaaclab train`` loads them: Isaac Lab's own and those of the
``isaaclab.tasks`` entry-point group (``Isaac-Cartpole-Adr`` among them).

The task of a checkpoint given no ``--task``:

1. the run manifest ``run.json`` that ``isaaclab train --rl_library rsl_rl``
   writes into the run directory, beside the ``model_<it>.pt`` files (its
   ``task``, when its ``library`` is ``rsl_rl``): exact, also when two tasks
   log to one experiment;
2. else the one ADR task whose agent config logs to the checkpoint's
   experiment (a checkpoint moved out of its run, or one of another script).

Configs are resolved as ``isaaclab train`` resolves them, with Newton's
MuJoCo Warp physics (:data:`PHYSICS`), the one that runs without Isaac Sim.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import attrs
import gymnasium as gym
from isaaclab.cli import load_external_tasks
from isaaclab_rl.entrypoints.common import RUN_MANIFEST_FILENAME
from isaaclab_tasks.utils import resolve_task_config
from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

from adr_app.evaluation.lab_policy import LabTasks, infer_task
from adr_app.evaluation.policy import PolicyError
from adr_domain import ADRConfig
from adr_infra import Checkpoint
from adr_lab.isaaclab import AdrSpec, adr_term_cfgs

__all__ = ["AGENT_ENTRY_POINT", "ISAACLAB_TASKS", "PHYSICS", "isaaclab_cfgs", "manifest_task"]

AGENT_ENTRY_POINT = "rsl_rl_cfg_entry_point"
"""The gymnasium registry key of a task's rsl_rl agent config."""
PHYSICS = ("physics=newton_mjwarp",)
"""The Hydra override of every config resolved here: Newton with MuJoCo Warp."""


@functools.cache
def _load_task_packages() -> None:
    import isaaclab_tasks  # noqa: F401  (registers Isaac Lab's tasks)

    load_external_tasks()


def _rsl_rl_tasks() -> list[str]:
    _load_task_packages()
    return sorted(
        name
        for name, spec in gym.registry.items()
        if isinstance(spec.kwargs, dict) and AGENT_ENTRY_POINT in spec.kwargs
    )


def isaaclab_cfgs(task: str) -> tuple[Any, Any]:
    """The task's env and rsl_rl agent configs, freshly resolved (:data:`PHYSICS`).

    Raises:
        ValueError: no task ``task`` with an rsl_rl agent config is registered.
    """
    if task not in _rsl_rl_tasks():
        raise ValueError(f"--task {task}: no Isaac Lab task of that id has an rsl_rl agent config")
    env_cfg, agent_cfg = resolve_task_config(task, AGENT_ENTRY_POINT, overrides=PHYSICS)
    return env_cfg, agent_cfg


@functools.cache
def task_spec(task: str) -> AdrSpec:
    """The ADR set-up of a registered Isaac Lab task.

    Raises:
        ValueError: no such task, or its env has not exactly one ADR curriculum term.
    """
    env_cfg, _ = isaaclab_cfgs(task)
    terms = adr_term_cfgs(env_cfg)
    if len(terms) != 1:
        raise ValueError(f"--task {task}: its env has {len(terms)} ADR curriculum terms, need one")
    spec: AdrSpec = terms[0].params["spec"]
    return spec


def _has_adr(task: str) -> bool:
    try:
        task_spec(task)
    except ValueError:
        return False
    return True


def _experiment_of(task: str) -> str | None:
    """The experiment the task's agent config logs to (None: it cannot be loaded here)."""
    try:
        agent = load_cfg_from_registry(task, AGENT_ENTRY_POINT)
    except (ImportError, ValueError):
        return None
    name = getattr(agent, "experiment_name", None)
    return name if isinstance(name, str) else None


def _tasks_logging_to(experiment: str | None) -> list[str]:
    """The ADR tasks whose rsl_rl agent config logs to ``experiment``."""
    named = [t for t in _rsl_rl_tasks() if _experiment_of(t) == experiment]
    return [t for t in named if _has_adr(t)]


def manifest_task(checkpoint_path: Path) -> str | None:
    """The task named by the rsl_rl run manifest beside ``checkpoint_path``, if any.

    Raises:
        PolicyError: the manifest exists but cannot be read.
    """
    manifest = checkpoint_path.parent / RUN_MANIFEST_FILENAME
    if not manifest.is_file():
        return None
    try:
        content = json.loads(manifest.read_text())
    except (OSError, ValueError) as exc:
        raise PolicyError(f"{manifest}: cannot read the run manifest ({exc})") from None
    task = content.get("task") if isinstance(content, dict) else None
    library = content.get("library") if isinstance(content, dict) else None
    return task if library == "rsl_rl" and isinstance(task, str) else None


@attrs.frozen
class _IsaacLabTasks:
    """Isaac Lab's task registry (module doc: how a checkpoint's task is found)."""

    framework: str = "Isaac Lab"

    def adr_config(self, task: str) -> ADRConfig:
        return task_spec(task).adr

    def task_of(self, checkpoint: Checkpoint, path: Path) -> str:
        return manifest_task(path) or infer_task(checkpoint, path, _tasks_logging_to)


ISAACLAB_TASKS: LabTasks = _IsaacLabTasks()
"""Isaac Lab's ADR tasks, for :func:`~adr_app.evaluation.lab_policy.load_lab_policy`."""
