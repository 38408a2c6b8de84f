"""``adr-plot runs/<experiment>``: a PNG of every ADR range over training, and NPD.

Reads the TensorBoard scalars ``adr/params/<name>/lower|upper`` and
``adr/npd`` from ``runs/<experiment>/summaries`` (or from the run directory
itself, where rsl_rl writes them: ``logs/rsl_rl/<experiment>/<time>``) and draws
one small panel per parameter (the range as a band, the first range dashed)
plus NPD, every axis labeled (x: frames; y: the range, or nats per dimension).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

__all__ = ["figure", "main", "output_path", "read_adr_scalars", "render"]

Series = list[tuple[int, float]]

DEFAULT_NAME = "adr_ranges.png"
"""The PNG's name in the run directory (or in the directory given with ``-o``)."""


def read_adr_scalars(summaries: Path) -> tuple[dict[str, dict[str, Series]], Series]:
    """``({param: {"lower": [(step, value)], "upper": [...]}}, npd)`` from event files.

    Raises:
        FileNotFoundError: no event file under ``summaries``.
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    files = sorted(summaries.rglob("events.out.tfevents.*"))
    if not files:
        raise FileNotFoundError(f"no TensorBoard event files in {summaries}")
    params: dict[str, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    npd: dict[int, float] = {}
    for path in files:
        acc = EventAccumulator(str(path), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags().get("scalars", []):
            events = acc.Scalars(tag)
            if tag == "adr/npd":
                npd.update((e.step, e.value) for e in events)
            elif tag.startswith("adr/params/") and tag.endswith(("/lower", "/upper")):
                name, side = tag[len("adr/params/") :].rsplit("/", 1)
                params[name][side].update((e.step, e.value) for e in events)
    out = {
        name: {side: sorted(points.items()) for side, points in sides.items()}
        for name, sides in params.items()
    }
    return out, sorted(npd.items())


def _draw_range(ax: Any, name: str, sides: dict[str, Series]) -> None:
    lower = dict(sides.get("lower", []))
    upper = dict(sides.get("upper", []))
    steps = sorted(set(lower) & set(upper))
    if steps:
        lo = [lower[s] for s in steps]
        hi = [upper[s] for s in steps]
        ax.fill_between(steps, lo, hi, alpha=0.35, step="post")
        ax.step(steps, lo, where="post", linewidth=1)
        ax.step(steps, hi, where="post", linewidth=1)
        ax.axhline(lo[0], linestyle="--", linewidth=0.6, color="grey")
        ax.axhline(hi[0], linestyle="--", linewidth=0.6, color="grey")
    ax.set_title(name, fontsize=9)
    ax.set_ylabel("range (lower, upper)", fontsize=7)


def _draw_npd(ax: Any, npd: Series) -> None:
    ax.plot([s for s, _ in npd], [v for _, v in npd], color="black")
    ax.set_title("NPD", fontsize=9)
    ax.set_ylabel("nats per dimension", fontsize=7)


def figure(
    params: dict[str, dict[str, Series]], npd: Series, title: str = "", x_label: str = "frames"
) -> Any:
    """A matplotlib figure: one panel per parameter (its range), one for NPD; every panel's
    axes are labeled (x: frames)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(params)
    panels = len(names) + (1 if npd else 0)
    if panels == 0:
        raise ValueError("no ADR scalars to plot")
    cols = min(4, panels)
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax, name in zip(flat, names, strict=False):
        _draw_range(ax, name, params[name])
    if npd:
        _draw_npd(flat[len(names)], npd)
    for ax in flat[:panels]:
        ax.set_xlabel(x_label, fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in flat[panels:]:
        ax.axis("off")
    fig.suptitle(title or "ADR ranges over training", fontsize=11)
    fig.tight_layout()
    return fig


def render(
    params: dict[str, dict[str, Series]],
    npd: Series,
    output: Path,
    title: str = "",
    x_label: str = "frames",
) -> Path:
    """Draw the ranges and NPD into ``output`` (PNG unless its suffix names another
    format), written atomically: a failed write leaves no partial file. ``x_label``
    names the TensorBoard step (rl_games: frames; rsl_rl: iterations).

    Raises:
        OSError: the file could not be written (a full disk, a denied permission).
    """
    import io

    import matplotlib.pyplot as plt

    from adr_infra import atomic_write_bytes

    fig = figure(params, npd, title, x_label)
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, dpi=110, format=output.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    atomic_write_bytes(output, buffer.getvalue())
    return output


def output_path(run: Path, given: Path | None) -> Path:
    """Where the PNG goes: ``<run>/adr_ranges.png`` by default, ``<dir>/adr_ranges.png``
    for a directory, else ``given`` (``.png`` added when it has no suffix).

    Raises:
        ValueError: its parent directory is missing or is a file.
    """
    if given is None:
        return run / DEFAULT_NAME
    if given.is_dir():
        return given / DEFAULT_NAME
    output = given if given.suffix else given.with_name(given.name + ".png")
    parent = output.parent
    if not parent.exists():
        raise ValueError(f"cannot write {output}: no directory {parent} (create it first)")
    if not parent.is_dir():
        raise ValueError(f"cannot write {output}: {parent} is a file, not a directory")
    return output


def _summaries(run: Path) -> Path:
    """Where a run's TensorBoard files are: rl_games' summaries/, rsl_rl's run directory.

    Raises:
        ValueError: ``run`` is missing or not a directory.
    """
    if run.is_file():
        raise ValueError(
            f"{run} is a file; give a run directory (runs/<experiment>, or an rsl_rl run "
            "logs/rsl_rl/<experiment>/<time>)"
        )
    if not run.is_dir():
        raise ValueError(f"{run} does not exist")
    summaries = run / "summaries"
    return summaries if summaries.is_dir() else run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="adr-plot", description="Plot every ADR range over training (and NPD) to a PNG."
    )
    parser.add_argument("run", type=Path, help="run directory, e.g. runs/Reorient")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help=f"file to write (default: <run>/{DEFAULT_NAME}); a directory gets "
        f"<dir>/{DEFAULT_NAME}, a name without suffix .png; its directory must exist "
        "(it is not created)",
    )
    args = parser.parse_args(argv)
    try:
        output = output_path(args.run, args.output)
        summaries = _summaries(args.run)
        params, npd = read_adr_scalars(summaries)
        if not params and not npd:
            raise ValueError(f"no ADR scalars in {summaries}")
        x_label = "frames" if summaries.name == "summaries" else "iteration"
        render(params, npd, output, args.run.name, x_label)
    except (FileNotFoundError, ValueError) as exc:
        print(f"adr-plot: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"adr-plot: error: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote {output} ({len(params)} parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
