"""PNG plots of an evaluation (matplotlib, Agg): sweeps, heatmaps, histograms and
performance against NPD over a run's checkpoints. Every axis is labelled."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adr_app.evaluation.evaluate import Evaluation
from adr_app.evaluation.report import Row

__all__ = ["plot_all", "plot_over_training"]


def _objective_axis(ev: Evaluation) -> str:
    return f"{ev.objective_name} (mean, 95% CI)"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    _pyplot().close(fig)
    return path


def _plot_sweep(ev: Evaluation, rows: Sequence[Row], group: str, out: Path) -> Path:
    plt = _pyplot()
    param = group.removeprefix("sweep:")
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, policy in enumerate(ev.policies):
        mine = [r for r in rows if r.group == group and r.policy == policy.label]
        xs = [r.coords[param] for r in mine]
        ys = [r.objective.mean for r in mine]
        color = f"C{i}"
        ax.plot(xs, ys, marker="o", color=color, label=policy.label)
        ax.fill_between(
            xs,
            [r.objective.lo for r in mine],
            [r.objective.hi for r in mine],
            color=color,
            alpha=0.2,
        )
        lo, hi = policy.ranges[param]
        ax.axvspan(lo, hi, color=color, alpha=0.12, label=f"{policy.label} trained range")
    ax.set_xlabel(param)
    ax.set_ylabel(_objective_axis(ev))
    ax.set_title(f"sweep of {param} ({ev.episodes} episodes per point)")
    ax.legend(fontsize="small")
    return _save(fig, out / f"sweep_{_file_name(param)}.png")


def _plot_grid(ev: Evaluation, rows: Sequence[Row], group: str, out: Path) -> Path:
    plt = _pyplot()
    a, b = group.removeprefix("grid:").split(",")
    k = len(ev.policies)
    fig, axes = plt.subplots(1, k, figsize=(4.5 * k, 4), squeeze=False)
    for ax, policy in zip(axes[0], ev.policies, strict=True):
        mine = [r for r in rows if r.group == group and r.policy == policy.label]
        xs = sorted({r.coords[a] for r in mine})
        ys = sorted({r.coords[b] for r in mine})
        grid = [[0.0] * len(xs) for _ in ys]
        for r in mine:
            grid[ys.index(r.coords[b])][xs.index(r.coords[a])] = r.objective.mean
        image = ax.imshow(
            grid,
            origin="lower",
            aspect="auto",
            extent=(xs[0], xs[-1], ys[0], ys[-1]) if len(xs) > 1 and len(ys) > 1 else None,
        )
        fig.colorbar(image, ax=ax, label=f"{ev.objective_name} (mean)")
        ax.set_xlabel(a)
        ax.set_ylabel(b)
        ax.set_title(policy.label)
    return _save(fig, out / f"grid_{_file_name(a)}_{_file_name(b)}.png")


def _bins(ev: Evaluation, cell_index: int) -> list[float] | int:
    """Unit bins for counts (consecutive successes), else 20 bins over the values."""
    data = [ev.objective(p, cell_index) for p in range(len(ev.policies))]
    if all(bool((d == d.floor()).all()) and bool((d >= 0).all()) for d in data):
        return list(range(int(max(float(d.max()) for d in data)) + 2))
    return 20


def _plot_histogram(ev: Evaluation, cell_index: int, out: Path) -> Path:
    plt = _pyplot()
    cell = ev.cells[cell_index]
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = _bins(ev, cell_index)
    for p, policy in enumerate(ev.policies):
        data = ev.objective(p, cell_index).tolist()
        ax.hist(data, bins=bins, alpha=0.5, label=policy.label, color=f"C{p}")
    ax.set_xlabel(f"{ev.objective_name} per episode")
    ax.set_ylabel("episodes")
    ax.set_title(f"{cell.label}: {ev.episodes} episodes per policy")
    ax.legend(fontsize="small")
    return _save(fig, out / f"hist_{_file_name(cell.label)}.png")


def plot_all(ev: Evaluation, rows: Sequence[Row], out: Path) -> list[Path]:
    """Every sweep, grid and range-set cell of the evaluation as a PNG in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    groups = list(dict.fromkeys(cell.group for cell in ev.cells))
    paths = []
    for group in groups:
        if group.startswith("sweep:"):
            paths.append(_plot_sweep(ev, rows, group, out))
        elif group.startswith("grid:"):
            paths.append(_plot_grid(ev, rows, group, out))
    for c, cell in enumerate(ev.cells):
        if not cell.coords:
            paths.append(_plot_histogram(ev, c, out))
    return paths


def plot_over_training(ev: Evaluation, rows: Sequence[Row], out: Path, experiment: str) -> Path:
    """Mean objective of every checkpoint of a run against its NPD, one curve per cell."""
    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    for c, cell in enumerate(ev.cells):
        mine = sorted((r for r in rows if r.cell == cell.label), key=lambda r: r.npd)
        xs = [r.npd for r in mine]
        ax.errorbar(
            xs,
            [r.objective.mean for r in mine],
            yerr=[r.objective.half_width for r in mine],
            marker="o",
            capsize=3,
            color=f"C{c % 10}",
            label=cell.label,
        )
    ax.set_xlabel("checkpoint NPD (nats per dimension of its ADR ranges)")
    ax.set_ylabel(_objective_axis(ev))
    ax.set_title(f"{experiment}: every checkpoint at a fixed test set")
    ax.legend(fontsize="small")
    return _save(fig, out / f"over_training_{_file_name(experiment)}.png")
