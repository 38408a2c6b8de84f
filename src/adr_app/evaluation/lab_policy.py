"""Policies to evaluate of manager-based ADR tasks: rsl_rl checkpoints of ``adr_lab``.

:func:`load_lab_policy` reads a ``model_<it>.pt`` written by ``adr_lab``'s
rsl_rl runners (mjlab's :class:`~adr_lab.mjlab.runner.AdrOnPolicyRunner`,
Isaac Lab's :class:`~adr_lab.isaaclab.rsl_rl.AdrPPO`), or the newest of a run
directory ``logs/rsl_rl/<experiment>/<time>``, and checks it against its task
(given, or inferred by the framework's :class:`LabTasks`): the ADR parameter
set of the checkpoint's engine state must be the task's. Nothing is built:
the task's ADR config comes from the framework's task registry
(:data:`MJLAB_TASKS` here, :data:`~adr_app.evaluation.isaaclab_policy.ISAACLAB_TASKS`),
the policy's weights are loaded into the env's runner by the rollout.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import attrs
import torch

from adr_app.evaluation.policy import PolicyError, TrainedPolicy, engine_ranges, policy_npd
from adr_domain import ADRConfig, ParamTable
from adr_domain.eval_cells import Range
from adr_infra import Checkpoint, load_checkpoint

if TYPE_CHECKING:
    from adr_lab.mjlab import AdrSpec

__all__ = [
    "MJLAB_TASKS",
    "LabPolicy",
    "LabTasks",
    "infer_task",
    "is_lab_checkpoint",
    "lab_checkpoint_ranges",
    "load_lab_policy",
    "newest_model",
    "task_spec",
]

log = logging.getLogger(__name__)

MODEL_FILE = re.compile(r"^model_(\d+)\.pt$")
"""rsl_rl's checkpoint files: ``model_<iteration>.pt``."""
ACTOR_KEY = "actor_state_dict"
"""The policy entry of an rsl_rl checkpoint (rl_games' is ``model``)."""


@attrs.frozen(eq=False)
class LabPolicy(TrainedPolicy):
    """An mjlab checkpoint and what it says about its training (fields: see
    :class:`~adr_app.evaluation.policy.TrainedPolicy`); its ``adr_config`` is its
    task's, its ``epoch`` the rsl_rl iteration. The weights are loaded by the rollout."""


def model_files(run_dir: Path) -> list[tuple[int, Path]]:
    """The ``model_<it>.pt`` files of a run directory, by iteration."""
    found = [(MODEL_FILE.match(p.name), p) for p in run_dir.iterdir() if p.is_file()]
    return sorted((int(m.group(1)), p) for m, p in found if m is not None)


def newest_model(run_dir: Path) -> Path:
    """The newest ``model_<it>.pt`` of a run directory (highest iteration).

    Raises:
        PolicyError: there is none.
    """
    files = model_files(run_dir)
    if not files:
        raise PolicyError(f"{run_dir}: no model_<iteration>.pt in this run directory")
    return files[-1][1]


def is_lab_checkpoint(path: Path) -> bool:
    """Whether ``path`` is an rsl_rl checkpoint or a run directory of them."""
    if path.is_dir():
        return True
    try:
        return ACTOR_KEY in load_checkpoint(path).policy
    except ValueError:
        return False


def _registered() -> list[str]:
    """mjlab's registered task ids (ours among them: ``adr_lab.mjlab`` is imported first)."""
    from mjlab.tasks.registry import list_tasks

    import adr_lab.mjlab  # noqa: F401  (mjlab first, then our tasks: see adr_lab.mjlab)

    return list_tasks()


def adr_tasks() -> list[str]:
    """The registered mjlab tasks that have an ADR curriculum term."""
    return [t for t in _registered() if _adr_term_of(t) is not None]


def _adr_term_of(task: str) -> AdrSpec | None:
    from mjlab.tasks.registry import load_env_cfg

    from adr_lab.mjlab import AdrSpec

    cfg = load_env_cfg(task)
    for term in cfg.curriculum.values():
        spec = getattr(term, "params", {}).get("spec")
        if isinstance(spec, AdrSpec):
            return spec
    return None


def task_spec(task: str) -> AdrSpec:
    """The ADR set-up (config, objective, bindings) of a registered mjlab ADR task.

    Raises:
        ValueError: the task is not registered or has no ADR term.
    """
    if task not in _registered():
        raise ValueError(f"--task {task}: no such mjlab task (ADR tasks: {', '.join(adr_tasks())})")
    found = _adr_term_of(task)
    if found is None:
        raise ValueError(f"--task {task}: the task has no ADR curriculum term")
    return found


def infer_task(
    checkpoint: Checkpoint, path: Path, logging_to: Callable[[str | None], list[str]]
) -> str:
    """The one ADR task whose runner config logs to the checkpoint's experiment.

    Args:
        checkpoint: the checkpoint (its ``meta.experiment``).
        path: its file, for messages.
        logging_to: the framework's ADR tasks logging to an experiment.

    Raises:
        PolicyError: none or several do (then ``--task`` must name it).
    """
    experiment = checkpoint.meta.experiment
    tasks = logging_to(experiment)
    if len(tasks) != 1:
        found = f"tasks {tasks}" if tasks else "no ADR task"
        raise PolicyError(
            f"{path}: its experiment {experiment!r} names {found}; give --task TASK_ID"
        )
    return tasks[0]


def _mjlab_tasks_logging_to(experiment: str | None) -> list[str]:
    from mjlab.tasks.registry import load_rl_cfg

    return [t for t in adr_tasks() if load_rl_cfg(t).experiment_name == experiment]


class LabTasks(Protocol):
    """A framework's registry of ADR tasks, as the loading of its policies needs it."""

    @property
    def framework(self) -> str:
        """The framework's name, for messages."""
        ...

    def adr_config(self, task: str) -> ADRConfig:
        """The task's ADR config (raises ``ValueError``: no such ADR task)."""
        ...

    def task_of(self, checkpoint: Checkpoint, path: Path) -> str:
        """The task of a checkpoint given no ``--task`` (raises :class:`PolicyError`)."""
        ...


@attrs.frozen
class _MjlabTasks:
    """mjlab's task registry: the task of a checkpoint is the one logging to its experiment."""

    framework: str = "mjlab"

    def adr_config(self, task: str) -> ADRConfig:
        return task_spec(task).adr

    def task_of(self, checkpoint: Checkpoint, path: Path) -> str:
        return infer_task(checkpoint, path, _mjlab_tasks_logging_to)


MJLAB_TASKS: LabTasks = _MjlabTasks()
"""mjlab's ADR tasks (mjlab is imported when first asked)."""


def _check_param_set(checkpoint: Checkpoint, cfg: ADRConfig, task: str, path: Path) -> str:
    digest = ParamTable.from_config(cfg, torch.device("cpu")).fingerprint()
    if checkpoint.param_set_hash != digest:
        raise PolicyError(
            f"{path}: its ADR parameter set is not that of task {task} "
            f"({', '.join(cfg.params)}): a policy of another task"
        )
    return digest


def _iteration(checkpoint: Checkpoint) -> int | None:
    value = checkpoint.policy.get("iter")
    return value if isinstance(value, int) else None


def load_lab_policy(
    path: str | Path,
    task: str | None = None,
    label: str | None = None,
    tasks: LabTasks = MJLAB_TASKS,
) -> LabPolicy:
    """Read an rsl_rl ADR checkpoint (or a run directory's newest) for task ``task``.

    Args:
        path: a ``model_<it>.pt`` or a run directory ``logs/rsl_rl/<exp>/<time>``.
        task: the task id; None: ``tasks.task_of`` the checkpoint.
        label: the policy's name; default ``<run dir>/model_<it>`` of the file.
        tasks: the framework's task registry (default mjlab's).

    Raises:
        PolicyError: not an rsl_rl checkpoint with ADR state, or one of another task.
        CheckpointError: the file is missing, damaged or of an unknown format.
        ValueError: an unknown task.
    """
    path = Path(path)
    if path.is_dir():
        path = newest_model(path)
    checkpoint = load_checkpoint(path)
    if ACTOR_KEY not in checkpoint.policy:
        raise PolicyError(f"{path}: not an rsl_rl checkpoint (no {ACTOR_KEY})")
    if checkpoint.engine_state is None:
        raise PolicyError(f"{path}: no ADR engine state (not written by AdrOnPolicyRunner)")
    task = task or tasks.task_of(checkpoint, path)
    cfg = tasks.adr_config(task)
    digest = _check_param_set(checkpoint, cfg, task, path)
    ranges = engine_ranges(checkpoint, cfg, path)
    log.info("read %s (iteration %s, task %s)", path, _iteration(checkpoint), task)
    return LabPolicy(
        label=label or f"{path.parent.name}/{path.stem}",
        path=path,
        task_name=task,
        param_set_hash=digest,
        adr_config=cfg,
        ranges=ranges,
        npd=policy_npd(ranges, cfg),
        epoch=_iteration(checkpoint),
    )


def lab_checkpoint_ranges(cfg: ADRConfig) -> Callable[[str], dict[str, Range]]:
    """``ranges-of:<path>`` for mjlab checkpoints of the parameter set ``cfg``."""

    def ranges_of(target: str) -> dict[str, Range]:
        path = Path(target)
        if path.is_dir():
            path = newest_model(path)
        return engine_ranges(load_checkpoint(path), cfg, path)

    return ranges_of
