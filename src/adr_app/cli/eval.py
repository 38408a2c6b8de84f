"""``adr-eval``: evaluate policies side by side on a test set (embedded Reorient task,
or mjlab and Isaac Lab ADR tasks: see :mod:`adr_app.cli.eval_lab`).

Usage::

    adr-eval POLICY [POLICY ...] [--set NAME ...] [--sweep P=LO:HI:N ...]
             [--grid A=LO:HI:N,B=LO:HI:N ...] [--others nominal|SET]
             [--test-set FILE.yaml] [--episodes 64] [--seed 0] [--out eval_out]
    adr-eval --over-training EXPERIMENT --set init [...]

A POLICY is a checkpoint path or ``EXPERIMENT:latest|best|reward_best`` (in
``--train-dir``), optionally labelled ``LABEL=POLICY``. The first policy is
the reference of the paired differences. See ``docs/evaluation.md``.

Exit status: 0 done; 1 the evaluation failed; 2 refused before anything was
built (one line: the command line, a checkpoint, the test set).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from adr_app.cli.train import config_dir, one_line
from adr_app.errors import EXIT_FAILED, EXIT_USAGE

if TYPE_CHECKING:
    from adr_app.evaluation.evaluate import Evaluation
    from adr_app.evaluation.policy import EvalPolicy
    from adr_app.evaluation.spec import EvalSpec
    from adr_domain.eval_cells import Cell

__all__ = ["main"]

PROG = "adr-eval"


def fail(code: int, message: str) -> NoReturn:
    """Print ``adr-eval: error: <message>`` as one line and exit with ``code``."""
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr)
    sys.exit(code)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("policies", nargs="*", metavar="POLICY", help="[LABEL=]PATH or EXP:SELECTOR")
    p.add_argument("--train-dir", default="runs", help="directory of all runs (default: runs)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        dest="sets",
        metavar="NAME",
        help="range set: init, checkpoint, limits, ranges-of:CKPT, scaled:F[:SET]",
    )
    p.add_argument("--sweep", action="append", default=[], metavar="P=LO:HI:N")
    p.add_argument("--grid", action="append", default=[], metavar="A=LO:HI:N,B=LO:HI:N")
    p.add_argument("--others", default="nominal", help="setting of unswept parameters")
    p.add_argument("--test-set", type=Path, help="YAML test-set file (docs/evaluation.md)")
    p.add_argument("--episodes", type=int, default=64, help="episodes per cell (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of every rollout (default 0)")
    p.add_argument("--success-level", type=float, help="default: ADR's high threshold")
    p.add_argument(
        "--over-training",
        metavar="EXPERIMENT",
        help="evaluate every periodic checkpoint of this run (x: its NPD)",
    )
    p.add_argument("--out", type=Path, default=Path("eval_out"), help="output directory")
    p.add_argument("--no-plots", action="store_true", help="write no PNGs")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--train-config", type=Path, help="default cfg/train/ReorientPPO.yaml")
    p.add_argument("--task-config", type=Path, help="default cfg/task/Reorient.yaml")
    p.add_argument("--task", help="mjlab / Isaac Lab ADR task id (default: from the checkpoints)")
    p.add_argument(
        "--episode-length-s", type=float, help="rsl_rl tasks: episodes of this length (s)"
    )
    return p


def _spec(args: argparse.Namespace) -> EvalSpec:
    from adr_app.evaluation.spec import EvalSpec, parse_grid, parse_sweep

    spec = EvalSpec(
        sets=tuple(args.sets),
        sweeps=tuple(parse_sweep(s) for s in args.sweep),
        grids=tuple(parse_grid(g) for g in args.grid),
        others=args.others,
    )
    if args.test_set is not None:
        from adr_app.evaluation.spec import read_test_set_file

        spec = spec.merged(read_test_set_file(args.test_set))
    if not (spec.sets or spec.sweeps or spec.grids or spec.cells):
        raise ValueError("empty test set: give --set, --sweep, --grid or --test-set")
    return spec


def _policy_paths(args: argparse.Namespace) -> list[tuple[str | None, Path]]:
    from adr_infra import SELECTORS, CheckpointKind, RunLayout

    if args.over_training:
        if args.policies:
            raise ValueError("--over-training evaluates a run's checkpoints: give no POLICY")
        layout = RunLayout(args.over_training, args.train_dir)
        files = [f for f in layout.checkpoints() if f.name.kind is CheckpointKind.PERIODIC]
        if not files:
            raise ValueError(f"no periodic checkpoint in {layout.nn_dir}")
        return [(f"ep{f.name.epoch}", f.path) for f in files]
    if not args.policies:
        raise ValueError("no policy: give POLICY arguments or --over-training EXPERIMENT")
    out: list[tuple[str | None, Path]] = []
    for spec in args.policies:
        label, sep, rest = spec.partition("=")
        label, target = (label, rest) if sep else (None, spec)
        experiment, colon, selector = target.rpartition(":")
        if colon and selector in SELECTORS and not Path(target).exists():
            out.append(
                (label or experiment, RunLayout(experiment, args.train_dir).resolve(selector))
            )
        else:
            if not Path(target).is_file():
                raise ValueError(f"{target}: no such checkpoint file")
            out.append((label, Path(target)))
    return out


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read ({type(exc).__name__})") from None


def _prepare(args: argparse.Namespace) -> tuple[list[EvalPolicy], tuple[Cell, ...], Any]:
    """Everything checked and loaded before any env is built (ValueError: exit 2)."""
    from adr_app.evaluation.evaluate import check_policies
    from adr_app.evaluation.policy import checkpoint_ranges, load_policy
    from adr_app.evaluation.spec import build_cells
    from adr_app.tasks.reorient_state import NUM_ACTIONS, OBS_DIM

    spec = _spec(args)
    paths = _policy_paths(args)
    train = _read_yaml(args.train_config or config_dir() / "train" / "ReorientPPO.yaml")
    task_cfg = _read_yaml(args.task_config or config_dir() / "task" / "Reorient.yaml")
    policies = [
        load_policy(p, train["params"], obs_dim=OBS_DIM, num_actions=NUM_ACTIONS, label=label)
        for label, p in paths
    ]
    labels = [p.label for p in policies]
    if len(set(labels)) != len(labels):
        raise ValueError(f"two policies share a label ({labels}); name them LABEL=POLICY")
    check_policies(policies)
    cells = build_cells(spec, policies[0].adr_config, checkpoint_ranges)
    return policies, cells, task_cfg


class ProgressLine:
    """A ``\\r`` progress line on stderr (policy, step, episodes done), redrawn every step."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = labels
        self.last = ""

    def __call__(self, policy: int, policies: int, step: int, done: int, envs: int) -> None:
        width = 20
        bar = "#" * (width * done // envs)
        name = f"{self.labels[policy]} ({policy + 1}/{policies})"
        line = f"{name} [{bar:<{width}}] step {step}, {done}/{envs} episodes done"
        if line != self.last:
            print(f"\r{line}", end="", file=sys.stderr, flush=True)
            self.last = line

    def close(self) -> None:
        if self.last:
            print(file=sys.stderr)


def _report(args: argparse.Namespace, evaluation: Evaluation) -> None:
    from adr_app.evaluation.evaluate import CONSECUTIVE_SUCCESSES
    from adr_app.evaluation.plots import plot_all, plot_over_training
    from adr_app.evaluation.report import format_table, summarize, write_outputs

    rows = summarize(evaluation)
    counts = evaluation.objective_name == CONSECUTIVE_SUCCESSES
    print(format_table(rows, "successes" if counts else "objective"))
    written = write_outputs(evaluation, rows, args.out)
    if not args.no_plots:
        written += plot_all(evaluation, rows, args.out)
        if args.over_training:
            written.append(plot_over_training(evaluation, rows, args.out, args.over_training))
    print(f"wrote {', '.join(str(p) for p in written)}")


def _run(args: argparse.Namespace) -> Evaluation:
    """Check everything (exit 2), then evaluate (exit 1 if that fails)."""
    from adr_app.cli.eval_lab import evaluate_lab_args, is_lab_run, prepare_lab

    try:
        if args.episodes < 1:
            raise ValueError(f"--episodes must be >= 1, got {args.episodes}")
        lab = is_lab_run(args)
        if lab:
            lab_policies, cells = prepare_lab(args, _spec(args))
            labels = [p.label for p in lab_policies]
        else:
            policies, cells, task_cfg = _prepare(args)
            labels = [p.label for p in policies]
    except ValueError as exc:  # CheckpointError, PolicyError, ConfigError are ValueErrors
        fail(EXIT_USAGE, str(exc))
    from adr_app.evaluation.evaluate import evaluate

    progress = None if args.quiet else ProgressLine(labels)
    try:
        if lab:
            return evaluate_lab_args(args, lab_policies, cells, progress)
        return evaluate(
            policies,
            cells,
            episodes=args.episodes,
            task_cfg=task_cfg,
            seed=args.seed,
            success_level=args.success_level,
            progress=progress,
        )
    except (RuntimeError, ValueError) as exc:
        fail(EXIT_FAILED, str(exc))
    finally:
        if progress is not None:
            progress.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``adr-eval``."""
    args = _parser().parse_args(argv)
    _report(args, _run(args))


if __name__ == "__main__":
    main()
