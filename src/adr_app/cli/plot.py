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

__all__ = ["figure", "main", "read_adr_scalars", "render"]

Series = list[tuple[int, float]]


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


def figure(params: dict[str, dict[str, Series]], npd: Series, title: str = "") -> Any:
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
        ax.set_xlabel("frames", fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in flat[panels:]:
        ax.axis("off")
    fig.suptitle(title or "ADR ranges over training", fontsize=11)
    fig.tight_layout()
    return fig


def render(
    params: dict[str, dict[str, Series]], npd: Series, output: Path, title: str = ""
) -> Path:
    """Draw the ranges and NPD into ``output`` (PNG)."""
    import matplotlib.pyplot as plt

    fig = figure(params, npd, title)
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    plt.close(fig)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="adr-plot", description="Plot every ADR range over training (and NPD) to a PNG."
    )
    parser.add_argument("run", type=Path, help="run directory, e.g. runs/Reorient")
    parser.add_argument(
        "-o", "--output", type=Path, help="PNG to write (default: <run>/adr_ranges.png)"
    )
    args = parser.parse_args(argv)
    # rl_games runs keep TensorBoard files in summaries/, rsl_rl (mjlab) runs in the run itself.
    summaries = args.run / "summaries"
    if not summaries.is_dir():
        summaries = args.run
    if not summaries.is_dir():
        print(f"adr-plot: error: {summaries} does not exist", file=sys.stderr)
        return 1
    try:
        params, npd = read_adr_scalars(summaries)
        if not params and not npd:
            print(f"adr-plot: error: no ADR scalars in {summaries}", file=sys.stderr)
            return 1
        output = render(params, npd, args.output or args.run / "adr_ranges.png", args.run.name)
    except (FileNotFoundError, ValueError) as exc:
        print(f"adr-plot: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {output} ({len(params)} parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
