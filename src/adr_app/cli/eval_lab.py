"""``adr-eval`` of mjlab ADR tasks (rsl_rl policies of ``adr_lab``): preparation and run.

A POLICY is a ``model_<it>.pt`` of :class:`~adr_lab.mjlab.runner.AdrOnPolicyRunner`
or a run directory ``logs/rsl_rl/<experiment>/<time>`` (its newest model),
optionally ``LABEL=POLICY``; ``--over-training RUN_DIR`` evaluates every model
of a run directory. The task is ``--task`` or inferred from each checkpoint's
experiment. Everything is checked before any env is built (``ValueError``:
exit 2). See ``docs/evaluation.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adr_app.evaluation.evaluate import Evaluation, Progress
    from adr_app.evaluation.lab_policy import LabPolicy
    from adr_app.evaluation.spec import EvalSpec
    from adr_domain.eval_cells import Cell

__all__ = ["evaluate_lab_args", "is_lab_run", "prepare_lab"]


def _targets(args: argparse.Namespace) -> list[tuple[str | None, Path]]:
    out: list[tuple[str | None, Path]] = []
    for text in args.policies:
        label, sep, rest = text.partition("=")
        out.append((label, Path(rest)) if sep else (None, Path(text)))
    return out


def is_lab_run(args: argparse.Namespace) -> bool:
    """Whether the command evaluates mjlab policies: ``--task``, a run directory, or an
    rsl_rl checkpoint among the policies."""
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
    policies = [load_lab_policy(p, args.task, label) for label, p in _lab_paths(args)]
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
    """Run the evaluation; mjlab's and warp's chatter goes to stderr, not the table's stdout."""
    from adr_app.evaluation.lab_rollout import evaluate_lab

    with contextlib.redirect_stdout(sys.stderr):
        return evaluate_lab(
            policies,
            cells,
            episodes=args.episodes,
            seed=args.seed,
            success_level=args.success_level,
            episode_length_s=args.episode_length_s,
            progress=progress,
        )
