"""Robustness evaluation (``adr-eval``; ``docs/evaluation.md``): the embedded task, mjlab and
Isaac Lab tasks.

* :mod:`~adr_app.evaluation.policy` — checkpoints as deterministic policies.
* :mod:`~adr_app.evaluation.spec` — test sets from the command line or YAML.
* :mod:`~adr_app.evaluation.rollout` — one pinned, frozen rollout per policy.
* :mod:`~adr_app.evaluation.evaluate` — policies x test set (the Python API).
* :mod:`~adr_app.evaluation.report` — rows, CSV, JSON, the terminal table.
* :mod:`~adr_app.evaluation.plots` — sweeps, heatmaps, histograms, NPD curves.
* :mod:`~adr_app.evaluation.lab_policy` (rsl_rl checkpoints of ADR tasks) and
  :mod:`~adr_app.evaluation.manager_rollout` (their pinned rollout, framework-free);
  :mod:`~adr_app.evaluation.lab_rollout` (mjlab, ``evaluate_lab``) and
  :mod:`~adr_app.evaluation.isaaclab_policy` / :mod:`~adr_app.evaluation.isaaclab_rollout`
  (Isaac Lab, ``evaluate_isaaclab``) are not imported here, as they import the
  simulator.

The task-agnostic parts live in :mod:`adr_domain.eval_cells` (cells, builders,
checks, per-env draws) and :mod:`adr_domain.eval_stats` (CIs, paired differences).
"""

from adr_app.evaluation.evaluate import Evaluation, check_policies, evaluate
from adr_app.evaluation.plots import plot_all, plot_over_training
from adr_app.evaluation.policy import EvalPolicy, PolicyError, checkpoint_ranges, load_policy
from adr_app.evaluation.report import Row, format_table, summarize, to_csv, to_json
from adr_app.evaluation.spec import EvalSpec, build_cells, parse_grid, parse_sweep

__all__ = [
    "EvalPolicy",
    "EvalSpec",
    "Evaluation",
    "PolicyError",
    "Row",
    "build_cells",
    "check_policies",
    "checkpoint_ranges",
    "evaluate",
    "format_table",
    "load_policy",
    "parse_grid",
    "parse_sweep",
    "plot_all",
    "plot_over_training",
    "summarize",
    "to_csv",
    "to_json",
]
