"""Results of an evaluation: rows (policy x cell), CSV, JSON and a terminal table.

Columns are documented in ``docs/evaluation.md``. Numbers are written with
``repr`` (shortest round-trip form), so the same evaluation gives the same
bytes.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from adr_app.evaluation.evaluate import Evaluation
from adr_domain.eval_stats import Estimate, estimate, paired_difference

__all__ = ["CSV_COLUMNS", "Row", "format_table", "summarize", "to_csv", "to_json"]

CSV_COLUMNS = (
    "policy",
    "group",
    "cell",
    "param_x",
    "x",
    "param_y",
    "y",
    "episodes",
    "objective_mean",
    "objective_ci_lo",
    "objective_ci_hi",
    "success_rate",
    "success_ci_lo",
    "success_ci_hi",
    "return_mean",
    "length_mean",
    "reference",
    "diff_mean",
    "diff_ci_lo",
    "diff_ci_hi",
    "policy_npd",
    "policy_epoch",
    "checkpoint",
)


@attrs.frozen
class Row:
    """One policy in one cell.

    Attributes:
        policy, group, cell: names.
        coords: the cell's pinned sweep or grid coordinates.
        objective: mean objective (e.g. consecutive successes) with its 95% CI.
        success: success rate (objective >= the success level) with its 95% CI.
        episode_return, length: mean return and length of the episodes.
        diff: the paired difference ``objective - reference's`` over the same
            episodes (None for the reference itself).
        reference: the reference policy's label.
        npd, epoch, checkpoint: about the policy.
    """

    policy: str
    group: str
    cell: str
    coords: dict[str, float]
    objective: Estimate
    success: Estimate
    episode_return: float
    length: float
    diff: Estimate | None
    reference: str
    npd: float
    epoch: int | None
    checkpoint: str


def summarize(evaluation: Evaluation) -> list[Row]:
    """Rows of every cell (test-set order), each policy in turn."""
    rows = []
    ev, e = evaluation, evaluation.episodes
    reference = ev.policies[0]
    for c, cell in enumerate(ev.cells):
        base = ev.objective(0, c)
        for p, policy in enumerate(ev.policies):
            objective = ev.objective(p, c)
            result = ev.results[p]
            span = slice(c * e, (c + 1) * e)
            rows.append(
                Row(
                    policy=policy.label,
                    group=cell.group,
                    cell=cell.label,
                    coords=dict(cell.coords),
                    objective=estimate(objective),
                    success=estimate((objective >= ev.success_level).double()),
                    episode_return=float(result.episode_return[span].mean()),
                    length=float(result.length[span].double().mean()),
                    diff=None if p == 0 else paired_difference(objective, base),
                    reference=reference.label,
                    npd=policy.npd,
                    epoch=policy.epoch,
                    checkpoint=str(policy.path),
                )
            )
    return rows


def _num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(float(value))


def _csv_record(row: Row) -> list[str]:
    axes = [*list(row.coords.items()), ("", None), ("", None)]
    (px, x), (py, y) = axes[0], axes[1]
    d = row.diff
    return [
        row.policy,
        row.group,
        row.cell,
        px,
        _num(x),
        py,
        _num(y),
        str(row.objective.n),
        _num(row.objective.mean),
        _num(row.objective.lo),
        _num(row.objective.hi),
        _num(row.success.mean),
        _num(row.success.lo),
        _num(row.success.hi),
        _num(row.episode_return),
        _num(row.length),
        row.reference,
        "" if d is None else _num(d.mean),
        "" if d is None else _num(d.lo),
        "" if d is None else _num(d.hi),
        _num(row.npd),
        "" if row.epoch is None else str(row.epoch),
        row.checkpoint,
    ]


def to_csv(rows: Sequence[Row]) -> str:
    """The CSV text (header :data:`CSV_COLUMNS`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_csv_record(r) for r in rows)
    return out.getvalue()


def _estimate_tree(e: Estimate | None) -> dict[str, Any] | None:
    if e is None:
        return None
    clean = [None if math.isnan(v) else v for v in (e.mean, e.lo, e.hi)]
    return {"mean": clean[0], "ci_lo": clean[1], "ci_hi": clean[2], "n": e.n}


def to_json(evaluation: Evaluation, rows: Sequence[Row]) -> str:
    """The JSON text: ``meta`` (seed, episodes, success level, policies, cells) and ``rows``."""
    ev = evaluation
    meta = {
        "seed": ev.seed,
        "episodes_per_cell": ev.episodes,
        "success_level": ev.success_level,
        "objective": f"{ev.objective_name} of each env's first episode",
        "policies": [
            {
                "label": p.label,
                "checkpoint": str(p.path),
                "epoch": p.epoch,
                "task": p.task_name,
                "npd": p.npd,
                "ranges": {k: list(v) for k, v in p.ranges.items()},
            }
            for p in ev.policies
        ],
        "cells": [
            {
                "group": c.group,
                "label": c.label,
                "ranges": {k: list(v) for k, v in c.ranges.items()},
                "others_from_checkpoint": c.rest_own,
                "coords": c.coords,
            }
            for c in ev.cells
        ],
    }
    records = [
        {
            "policy": r.policy,
            "group": r.group,
            "cell": r.cell,
            "coords": r.coords,
            "objective": _estimate_tree(r.objective),
            "success": _estimate_tree(r.success),
            "return_mean": r.episode_return,
            "length_mean": r.length,
            "reference": r.reference,
            "diff": _estimate_tree(r.diff),
        }
        for r in rows
    ]
    return json.dumps({"meta": meta, "rows": records}, indent=1) + "\n"


def _ci(e: Estimate, fmt: str = ".2f") -> str:
    if math.isnan(e.half_width):
        return f"{e.mean:{fmt}}"
    return f"{e.mean:{fmt}} [{e.lo:{fmt}}, {e.hi:{fmt}}]"


def format_table(rows: Sequence[Row], objective: str = "successes") -> str:
    """A plain-text table: setting, policy, episodes, objective, success, paired difference."""
    header = ["setting", "policy", "episodes", f"{objective} [95% CI]", "success rate", "vs ref"]
    lines = [header]
    for r in rows:
        diff = "(reference)" if r.diff is None else _ci(r.diff)
        lines.append([r.cell, r.policy, str(r.objective.n), _ci(r.objective), _ci(r.success), diff])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = []
    for i, line in enumerate(lines):
        text.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if i == 0:
            text.append("  ".join("-" * w for w in widths))
    return "\n".join(text)


def write_outputs(evaluation: Evaluation, rows: Sequence[Row], out_dir: Path) -> list[Path]:
    """Write ``results.csv`` and ``results.json`` into ``out_dir``; their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out_dir / "results.csv", out_dir / "results.json"
    csv_path.write_text(to_csv(rows))
    json_path.write_text(to_json(evaluation, rows))
    return [csv_path, json_path]
