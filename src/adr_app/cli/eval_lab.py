"""``adr-eval`` of mjlab and Isaac Lab ADR tasks (rsl_rl policies of ``adr_lab``).

A POLICY is a ``model_<it>.pt`` of ``adr_lab``'s rsl_rl runners or a run
directory ``logs/rsl_rl/<experiment>/<time>`` (its newest model), optionally
``LABEL=POLICY``; ``--over-training RUN_DIR`` evaluates every model of a run
directory. The framework is the simulator installed (mjlab and Isaac Lab
live in separate venvs: Isaac Lab when mjlab is absent); the task is
``--task`` or found by the framework's task registry
(:class:`~adr_app.evaluation.lab_policy.LabTasks`). Everything is checked
before any env is built (``ValueError``: exit 2). See ``docs/evaluation.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adr_app.evaluation.evaluate import Evaluation, Progress
    from adr_app.evaluation.lab_policy import LabPolicy, LabTasks
    from adr_app.evaluation.spec import EvalSpec
    from adr_domain.eval_cells import Cell

__all__ = ["evaluate_lab_args", "is_lab_run", "isaaclab_installed", "lab_tasks", "prepare_lab"]


def isaaclab_installed() -> bool:
    """Whether rsl_rl policies are Isaac Lab's here: Isaac Lab is installed and mjlab is not."""
    found = importlib.util.find_spec
    return found("mjlab") is None and found("isaaclab") is not None


def lab_tasks() -> LabTasks:
    """The task registry of the installed framework (:func:`isaaclab_installed`)."""
    if isaaclab_installed():
        from adr_app.evaluation.isaaclab_policy import ISAACLAB_TASKS

        return ISAACLAB_TASKS
    from adr_app.evaluation.lab_policy import MJLAB_TASKS

    return MJLAB_TASKS


def _targets(args: argparse.Namespace) -> list[tuple[str | None, Path]]:
    out: list[tuple[str | None, Path]] = []
    for text in args.policies:
        label, sep, rest = text.partition("=")
        out.append((label, Path(rest)) if sep else (None, Path(text)))
    return out


def is_lab_run(args: argparse.Namespace) -> bool:
    """Whether the command evaluates rsl_rl policies (mjlab, Isaac Lab): ``--task``, a run
    directory, or an rsl_rl checkpoint among the policies."""
    from adr_app.evaluation.lab_policy import is_lab_checkpoint, model_files

    if args.task is not None:
        return True
    if args.over_training is not None:
        run_dir = Path(args.over_training)
        return run_dir.is_dir() and bool(model_files(run_dir))
    return any(p.exists() and is_lab_checkpoint(p) for _, p in _targets(args))


def _lab_paths(args: argparse.Namespace) -> list[tuple[str | None, Path]]:
    from adr_app.evaluation.lab_policy import model_files

    if args.over_training is not None:
        if args.policies:
            raise ValueError("--over-training evaluates a run's checkpoints: give no POLICY")
        run_dir = Path(args.over_training)
        if not run_dir.is_dir():
            raise ValueError(f"--over-training {run_dir}: not a run directory")
        files = model_files(run_dir)
        if not files:
            raise ValueError(f"{run_dir}: no model_<iteration>.pt in this run directory")
        return [(f"it{it}", path) for it, path in files]
    if not args.policies:
        raise ValueError("no policy: give POLICY arguments or --over-training RUN_DIR")
    for _, path in _targets(args):
        if not path.exists():
            raise ValueError(f"{path}: no such checkpoint file or run directory")
    return _targets(args)


def prepare_lab(
    args: argparse.Namespace, spec: EvalSpec
) -> tuple[list[LabPolicy], tuple[Cell, ...]]:
    """The policies and the checked test set; nothing is built.

    Raises:
        ValueError: one line (a foreign or damaged checkpoint, an unknown task,
            policies of different tasks, an unknown parameter, a point outside
            its limits, ...).
    """
    from adr_app.evaluation.evaluate import check_policies
    from adr_app.evaluation.lab_policy import lab_checkpoint_ranges, load_lab_policy
    from adr_app.evaluation.spec import build_cells

    if args.episode_length_s is not None and not args.episode_length_s > 0:
        raise ValueError(f"--episode-length-s must be > 0, got {args.episode_length_s}")
    tasks = lab_tasks()
    policies = [load_lab_policy(p, args.task, label, tasks) for label, p in _lab_paths(args)]
    labels = [p.label for p in policies]
    if len(set(labels)) != len(labels):
        raise ValueError(f"two policies share a label ({labels}); name them LABEL=POLICY")
    check_policies(policies)
    cfg = policies[0].adr_config
    return policies, build_cells(spec, cfg, lab_checkpoint_ranges(cfg))


def evaluate_lab_args(
    args: argparse.Namespace,
    policies: list[LabPolicy],
    cells: tuple[Cell, ...],
    progress: Progress | None,
) -> Evaluation:
    """Run the evaluation; the simulator's and warp's chatter goes to stderr, not the
    table's stdout."""
    if isaaclab_installed():
        from adr_app.evaluation.isaaclab_rollout import evaluate_isaaclab as evaluate
    else:
        from adr_app.evaluation.lab_rollout import evaluate_lab as evaluate

    with contextlib.redirect_stdout(sys.stderr):
        return evaluate(
            policies,
            cells,
            episodes=args.episodes,
            seed=args.seed,
            success_level=args.success_level,
            episode_length_s=args.episode_length_s,
            progress=progress,
        )
