"""The Python API of ``adr-eval``: policies x a test set -> an :class:`Evaluation`.

::

    policies = [load_policy(p, train_params, obs_dim=OBS_DIM, num_actions=NUM_ACTIONS)
                for p in paths]
    check_policies(policies)
    cells = build_cells(EvalSpec(sweeps=(parse_sweep("object_mass=0.2:5:9"),)),
                        policies[0].adr_config, ranges_of)
    evaluation = evaluate(policies, cells, episodes=64, task_cfg=task_cfg, seed=0)
    rows = summarize(evaluation)

Every policy plays the same cells with the same seed in one rollout of its
own (:func:`~adr_app.evaluation.rollout.play_cells`): common random numbers,
so the per-episode differences between two policies are paired.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import attrs
import torch

from adr_app.evaluation.policy import EvalPolicy
from adr_app.evaluation.rollout import RolloutResult, eval_task_config, play_cells
from adr_app.tasks.reorient import ReorientTask
from adr_domain import ADRConfig
from adr_domain.eval_cells import Cell, Range

__all__ = [
    "CONSECUTIVE_SUCCESSES",
    "Evaluation",
    "PolicyInfo",
    "Progress",
    "check_policies",
    "evaluate",
    "play_all",
]

Progress = Callable[[int, int, int, int, int], None]
"""``(policy index, policies, step, episodes finished, envs)``, called before every step."""
CONSECUTIVE_SUCCESSES = "consecutive successes"
"""The embedded task's objective, as tables and plots name it."""


class PolicyInfo(Protocol):
    """What an evaluation, its report and plots read of a policy (rl_games or mjlab)."""

    @property
    def label(self) -> str: ...
    @property
    def path(self) -> Path: ...
    @property
    def task_name(self) -> str: ...
    @property
    def param_set_hash(self) -> str: ...
    @property
    def adr_config(self) -> ADRConfig: ...
    @property
    def ranges(self) -> dict[str, Range]: ...
    @property
    def npd(self) -> float: ...
    @property
    def epoch(self) -> int | None: ...


@attrs.frozen(eq=False)
class Evaluation:
    """Policies x cells, every env's first episode.

    Attributes:
        policies: the policies, the first being the reference of paired differences.
        cells: the test set.
        episodes: episodes per cell.
        seed: the seed every policy's rollout used.
        success_level: an episode succeeds when its objective reaches this.
        results: one rollout per policy (env ``i`` in cell ``i // episodes``).
        objective_name: what the objective is, for tables and plots.
    """

    policies: tuple[PolicyInfo, ...]
    cells: tuple[Cell, ...]
    episodes: int
    seed: int
    success_level: float
    results: tuple[RolloutResult, ...]
    objective_name: str = CONSECUTIVE_SUCCESSES

    def objective(self, policy: int, cell: int) -> torch.Tensor:
        """``(episodes,)`` float64 the objectives of one policy in one cell."""
        e = self.episodes
        return self.results[policy].objective[cell * e : (cell + 1) * e]


def _limits(policy: PolicyInfo) -> dict[str, tuple[object, ...]]:
    return {n: (p.type, p.limits) for n, p in policy.adr_config.params.items()}


def check_policies(policies: Sequence[PolicyInfo]) -> None:
    """Policies evaluated side by side must share their task and ADR parameter set
    (names, order, types, limits).

    Raises:
        ValueError: none given, or one line naming the first that differs.
    """
    if not policies:
        raise ValueError("no policy to evaluate")
    first = policies[0]
    for p in policies[1:]:
        if p.task_name != first.task_name:
            raise ValueError(
                f"policies of different tasks: {first.label} ({first.task_name}) and "
                f"{p.label} ({p.task_name})"
            )
        if p.param_set_hash != first.param_set_hash or _limits(p) != _limits(first):
            raise ValueError(
                f"policies of different ADR parameter sets: {first.label} and {p.label}"
            )


def evaluate(
    policies: Sequence[EvalPolicy],
    cells: Sequence[Cell],
    *,
    episodes: int,
    task_cfg: Mapping[str, Any],
    seed: int,
    success_level: float | None = None,
    progress: Progress | None = None,
) -> Evaluation:
    """Play every policy on every cell, ``episodes`` episodes each.

    Args:
        policies: checked with :func:`check_policies`.
        cells: checked cells (:func:`~adr_app.evaluation.spec.build_cells`).
        episodes: episodes (envs) per cell.
        task_cfg: the task config (``env`` block; the ADR block is the policies').
        seed: seeds every rollout alike.
        success_level: default the ADR ``adr_objective_threshold_high``.
        progress: see :data:`Progress`.

    Raises:
        ValueError: ``episodes < 1``, or the policies do not fit together.
    """
    if episodes < 1:
        raise ValueError(f"episodes: must be >= 1, got {episodes}")
    check_policies(policies)
    adr_cfg = policies[0].adr_config
    cfg = eval_task_config(task_cfg, adr_cfg.model_dump(mode="json"))

    def play(policy: EvalPolicy, resolved: list[dict[str, Range]], hook: Hook) -> RolloutResult:
        def step_hook(task: ReorientTask, running: torch.Tensor) -> None:
            hook(task.frame, running)

        return play_cells(policy, resolved, episodes, cfg, seed=seed, hook=step_hook)

    results = play_all(policies, cells, play, progress)
    level = adr_cfg.adr_objective_threshold_high if success_level is None else success_level
    return Evaluation(tuple(policies), tuple(cells), episodes, seed, float(level), results)


P = TypeVar("P", bound=PolicyInfo)
Hook = Callable[[int, torch.Tensor], None]
"""``(step, (N,) bool envs still in their first episode)``: what a rollout reports."""


def play_all(
    policies: Sequence[P],
    cells: Sequence[Cell],
    play: Callable[[P, list[dict[str, Range]], Hook], RolloutResult],
    progress: Progress | None,
) -> tuple[RolloutResult, ...]:
    """One rollout per policy (``play``) on the cells resolved with its own ranges."""
    results = []
    for i, policy in enumerate(policies):
        resolved = [cell.resolve(policy.ranges) for cell in cells]

        def hook(step: int, running: torch.Tensor, i: int = i) -> None:
            if progress is not None:
                n = int(running.numel())
                progress(i, len(policies), step, n - int(running.sum()), n)

        results.append(play(policy, resolved, hook))
    return tuple(results)
