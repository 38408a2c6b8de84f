"""``adr-ckpt``: inspect and convert checkpoints.

Usage::

    adr-ckpt inspect PATH [--adr-config cfg/adr/dextreme.yaml]
    adr-ckpt inspect latest|best|reward_best --experiment NAME [--train-dir runs]
    adr-ckpt convert SRC DST [--force]          # any store -> any store, by suffix
    adr-ckpt inspect RUN_DIR | latest --run-dir RUN_DIR   # its latest (rsl_rl: model_<it>.pt)
    adr-ckpt list NAME [--train-dir runs]
    adr-ckpt list RUN_DIR                        # runs/<exp>, or logs/rsl_rl/<exp>/<time>

Exit status: 0 success, 1 error (one line on stderr, no traceback), 2 usage.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adr_infra import (
        Checkpoint,
        CheckpointFile,
        CheckpointSummary,
        ParamSummary,
        RunLayout,
        WorkerSplit,
    )

# adr_infra (and torch with it) is imported by the commands, after argument
# parsing, so that usage errors and --help answer at once.

__all__ = ["format_summary", "main"]

PROG = "adr-ckpt"


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 1."""


def _num(value: float | None, *, none: str = "?") -> str:
    if value is None:
        return none
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"


def _pair(value: tuple[float | None, float | None] | None, *, unbounded: bool = False) -> str:
    if value is None:
        return "?"
    lo, hi = value
    if unbounded:
        return f"[{_num(lo, none='-inf')}, {_num(hi, none='inf')}]"
    return f"[{_num(lo)}, {_num(hi)}]"


def _fill(value: tuple[int, int] | None, capacity: int | None) -> str:
    if value is None:
        return "-"
    cap = "?" if capacity is None else str(capacity)
    return f"{value[0]}/{cap} {value[1]}/{cap}"


def _workers(value: tuple[int, int] | None) -> str:
    return "-" if value is None else f"{value[0]} {value[1]}"


def _delta(delta: float | None, style: str | None) -> str:
    if delta is None:
        return "?"
    return f"x{_num(delta)}" if style == "multiplicative" else _num(delta)


def _ranks(world_size: int) -> str:
    if world_size == 1:
        return "1 (one process)"
    return (
        f"{world_size} processes: ADR's shared state once, rank 0's env state in full, "
        f"ranks 1-{world_size - 1} their own part"
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, ["-" * w for w in widths], *rows]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return lines


def _param_row(p: ParamSummary, capacity: int | None) -> list[str]:
    return [
        p.name,
        p.type or "?",
        p.kind or "?",
        _pair(p.init_range),
        _pair(p.range),
        _pair(p.limits, unbounded=True) if p.limits is not None else "?",
        _delta(p.delta, p.delta_style),
        _pair(p.next_limits),
        _fill(p.queue_fill, capacity),
        _workers(p.boundary_workers),
    ]


def _adr_state_lines(s: CheckpointSummary) -> list[str]:
    """What ADR state the checkpoint holds (one or two lines)."""
    from adr_infra import RestoreSource

    if s.source is RestoreSource.ISAACGYMENVS:
        return ["ADR state    IsaacGymEnvs adr_params (ranges and next limits only)"]
    if s.source is not RestoreSource.COMPLETE:
        return ["ADR state    none"]
    perf = "-" if s.rollout_perf is None else _num(s.rollout_perf)
    return [
        f"ADR state    complete engine state, schema {s.engine_schema_version}, "
        f"parameter set {(s.param_set_hash or '?')[:16]}",
        f"envs         {s.num_envs}, update {s.step}, queue length {s.queue_length}, "
        f"rollout performance {perf}",
    ]


def _workers_line(workers: WorkerSplit) -> str:
    """Each worker kind's count and share."""
    total = max(workers.total, 1)
    parts = [
        f"{label} {count} ({100.0 * count / total:.1f}%)"
        for label, count in (
            ("rollout", workers.rollout),
            ("boundary", workers.boundary),
            ("test", workers.test),
        )
    ]
    return "workers      " + ", ".join(parts)


def format_summary(path: str, s: CheckpointSummary) -> str:
    """The text ``adr-ckpt inspect`` prints."""
    created = s.created_at or "unknown time"
    lines = [
        f"checkpoint   {path}",
        f"format       sim2real-adr checkpoint v{s.format_version}, by {s.producer}, {created}",
        f"experiment   {s.experiment or '-'}",
        f"ranks        {_ranks(s.world_size)}",
        f"epoch        {s.epoch if s.epoch is not None else '-'}"
        f"   frame {s.frame if s.frame is not None else '-'}"
        f"   best mean reward {_num(s.last_mean_rewards, none='-')}",
    ]
    lines += _adr_state_lines(s)
    if s.workers is not None:
        lines.append(_workers_line(s.workers))
    lines.append(f"env state    {', '.join(s.env_state_keys) or '-'}")
    lines.append(f"tensors      {s.tensor_bytes} bytes")
    if s.params:
        lines.append("")
        header = [
            "parameter",
            "type",
            "kind",
            "init range",
            "current range",
            "limits",
            "delta",
            "next limits",
            "queue lo hi",
            "boundary lo hi",
        ]
        lines += _table(header, [_param_row(p, s.queue_length) for p in s.params])
        if any(p.init_range is None for p in s.params):
            lines.append("")
            lines.append(
                "(this checkpoint does not carry its ADR config: pass --adr-config to show "
                "init ranges, limits and deltas)"
            )
        else:
            lines.append("")
            lines.append(
                f"(init range, limits and delta from the ADR config in the {s.config_source})"
            )
    return "\n".join(lines)


def _load_adr_config(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    import yaml

    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as exc:
        raise CliError(f"{path}: cannot read the ADR config: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("adr"), dict):
        data = data["adr"]
    if not isinstance(data, dict):
        raise CliError(f"{path}: the ADR config must be a mapping")
    return data


def _read(
    path: str, experiment: str | None, train_dir: str, run_dir: str | None
) -> tuple[str, Checkpoint]:
    """The file a path, run directory or selector names, and its content (read once)."""
    from adr_infra import SELECTORS, RunLayout, load_checkpoint

    if path in SELECTORS:
        if run_dir is not None:
            found = _resolve_in_run_dir(Path(run_dir), path)
            return found, load_checkpoint(found)
        if experiment is None:
            raise CliError(f"'{path}' needs --experiment NAME or --run-dir DIR")
        chosen = RunLayout(experiment, train_dir).choose(path)
        return str(chosen.path), chosen.read()
    if Path(path).is_dir():
        path = _resolve_in_run_dir(Path(path), "latest")
    return path, load_checkpoint(path)


def _resolve_in_run_dir(directory: Path, which: str) -> str:
    from adr_app.cli.run_dirs import is_rl_games_run, rsl_rl_latest
    from adr_infra import RunLayout

    if is_rl_games_run(directory):
        return str(RunLayout(directory.name, directory.parent).resolve(which))
    latest = rsl_rl_latest(directory)
    if latest is None:
        raise CliError(
            f"{directory}: not a run directory (no nn/ of an rl_games run, no model_<it>.pt "
            "of an rsl_rl run)"
        )
    if which != "latest":
        raise CliError(f"{directory}: an rsl_rl run has no '{which}' checkpoint; use latest")
    return str(latest)


def _inspect(args: argparse.Namespace) -> int:
    from adr_infra import summarize

    path, checkpoint = _read(args.path, args.experiment, args.train_dir, args.run_dir)
    summary = summarize(checkpoint, adr_config=_load_adr_config(args.adr_config))
    print(format_summary(path, summary))
    return 0


def _convert(args: argparse.Namespace) -> int:
    from adr_infra import load_checkpoint, resolve_location, save_checkpoint

    src, dst = args.src, args.dst
    _, location = resolve_location(dst)  # unknown destination format: fail before reading
    if Path(location).exists() and not args.force:
        raise CliError(f"{dst}: already exists (pass --force to replace it)")
    checkpoint = load_checkpoint(src)
    save_checkpoint(dst, checkpoint)
    if load_checkpoint(dst).content_digest() != checkpoint.content_digest():
        raise CliError(f"{dst}: the written checkpoint differs from {src}")
    print(f"converted {src} -> {dst} ({checkpoint.content_digest()})")
    return 0


def _role(layout: RunLayout, file: CheckpointFile) -> str:
    """What a file is to its experiment: the robust or reward best, periodic, ..."""
    from adr_infra import CheckpointKind

    if file.name.kind is not CheckpointKind.BEST:
        return str(file.name.kind.value)
    if file.path.name == layout.robust_path(suffix=file.name.suffix).name:
        return "robust-best"
    if file.path.name == layout.reward_best_path(suffix=file.name.suffix).name:
        return "reward-best"
    return "other"


def _epoch_of(file: CheckpointFile, marked: bool) -> str:
    """The epoch in the name; for a marked file without one (a best file), read from it."""
    from adr_infra import load_checkpoint

    if file.name.epoch is not None:
        return str(file.name.epoch)
    if marked:
        epoch = load_checkpoint(file.path).epoch
        return "-" if epoch is None else str(epoch)
    return "-"


def _list(args: argparse.Namespace) -> int:
    from adr_app.cli.run_dirs import is_rl_games_run, rsl_rl_models
    from adr_infra import RunLayout

    given = Path(args.experiment)
    if given.is_dir() and not is_rl_games_run(given) and rsl_rl_models(given):
        return _list_rsl_rl(given)
    if given.is_dir() and is_rl_games_run(given):
        layout = RunLayout(given.name, given.parent)
    else:
        layout = RunLayout(args.experiment, args.train_dir)
    files = layout.checkpoints()
    if not files:
        raise CliError(f"{layout.nn_dir}: no checkpoints of experiment {layout.experiment!r}")
    chosen = {
        "latest": layout.latest(),
        "best": layout.best(),
        "reward_best": layout.reward_best(),
    }
    rows = []
    for f in files:
        marks = [m for m, p in chosen.items() if p == f.path]
        n = f.name
        rows.append(
            [
                f.path.name,
                _role(layout, f),
                _epoch_of(f, bool(marks)),
                "-" if n.frame is None else str(n.frame),
                _num(n.reward, none="-"),
                ",".join(marks),
            ]
        )
    print(f"{layout.nn_dir}:")
    print("\n".join(_table(["file", "kind", "epoch", "frame", "reward", "checkpoint="], rows)))
    return 0


def _list_rsl_rl(directory: Path) -> int:
    """An rsl_rl (mjlab) run's ``model_<it>.pt`` files by iteration, the newest marked."""
    from adr_app.cli.run_dirs import rsl_rl_models

    models = rsl_rl_models(directory)
    rows = [
        [path.name, "rsl_rl", str(it), "latest" if i == len(models) - 1 else ""]
        for i, (it, path) in enumerate(models)
    ]
    print(f"{directory} (rsl_rl run):")
    print("\n".join(_table(["file", "kind", "iteration", "checkpoint="], rows)))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Inspect and convert checkpoints.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inspect", help="show a checkpoint's metadata and ADR state")
    p.add_argument(
        "path",
        help="checkpoint file (.pth, .h5, ...), a run directory (its latest), or 'latest', "
        "'best', 'reward_best'",
    )
    p.add_argument(
        "--adr-config",
        help="ADR config YAML (init ranges, limits, deltas; default: the checkpoint's own)",
    )
    p.add_argument("--experiment", "-e", help="experiment name, for latest/best/reward_best")
    p.add_argument(
        "--run-dir",
        help="run directory, for latest/best/reward_best: runs/<experiment>, or an rsl_rl "
        "(mjlab) run logs/rsl_rl/<experiment>/<time> (latest: the highest model_<it>.pt)",
    )
    p.add_argument("--train-dir", default="runs", help="directory of all runs (default: runs)")
    p.set_defaults(func=_inspect)

    c = sub.add_parser("convert", help="copy a checkpoint into another store (by suffix)")
    c.add_argument("src", help="source checkpoint")
    c.add_argument("dst", help="destination (its suffix picks the store)")
    c.add_argument("--force", action="store_true", help="replace an existing destination")
    c.set_defaults(func=_convert)

    ls = sub.add_parser("list", help="list an experiment's checkpoints")
    ls.add_argument(
        "experiment",
        help="experiment name, or a run directory (runs/<experiment>, or an rsl_rl run "
        "logs/rsl_rl/<experiment>/<time>)",
    )
    ls.add_argument("--train-dir", default="runs", help="directory of all runs (default: runs)")
    ls.set_defaults(func=_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``adr-ckpt``; returns the exit status."""
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(levelname)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        status: int = args.func(args)
    except (CliError, ValueError, OSError) as exc:  # CheckpointError, ConfigError: ValueError
        message = " ".join(str(exc).split())
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
