"""``adr-train``'s resume: the config of the run a ``checkpoint=`` continues.

The run's recorded settings (:mod:`adr_app.config.run_settings`) with the keys
of this command line over them; a change of the run's shape (its number of
envs) is refused with the command that works.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from adr_app.config.run_settings import Inherited, find_recorded, inherit
from adr_app.errors import UsageError
from adr_app.runs.preemption import resume_command
from adr_infra import RunLayout

__all__ = ["SHAPE_KEYS", "continue_run"]

SHAPE_KEYS = ("num_envs", "task.env.numEnvs")
"""Overrides that change a run's shape (per-env state in its checkpoints)."""


def _run_directory(config: Mapping[str, Any]) -> tuple[str, str]:
    experiment = config.get("experiment") or config.get("task_name") or ""
    return str(config.get("train_dir") or "runs"), str(experiment)


def continue_run(
    config: dict[str, Any], overrides: Sequence[str], argv: Sequence[str]
) -> tuple[dict[str, Any], Inherited | None]:
    """The config of this command: the recorded run's when it resumes one.

    Args:
        config: the resolved config of the command line.
        overrides: its overrides, as Hydra received them.
        argv: the command line (for the command a refusal suggests).

    Raises:
        UsageError: the run file is unreadable, or the command line changes the
            run's task or (training) its number of envs.
    """
    which = str(config.get("checkpoint") or "")
    train_dir, experiment = _run_directory(config)
    try:
        layout = RunLayout(experiment=experiment, train_dir=train_dir)
    except ValueError:
        return config, None  # the plan refuses the name
    found = find_recorded(which, layout.experiment_dir, bool(layout.checkpoints()))
    if found is None:
        return config, None
    inherited = inherit(config, overrides, *found)
    if inherited.shape_changed and not config.get("test"):
        _refuse_shape_change(inherited, which, argv)
    return inherited.config, inherited


def _refuse_shape_change(inherited: Inherited, which: str, argv: Sequence[str]) -> None:
    world_size = int(os.environ.get("WORLD_SIZE", "1") or 1)
    works = resume_command(argv, world_size, drop=SHAPE_KEYS, selector=which)
    raise UsageError(
        f"checkpoint={which}: the run ({inherited.source}) has "
        f"{inherited.recorded_num_envs} envs per process and its checkpoints hold their "
        f"state; a resume keeps them: run `{works}` (or train another run under a new "
        "experiment=NAME)"
    )
