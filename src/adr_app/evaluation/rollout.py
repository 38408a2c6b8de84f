"""One vectorized rollout of a policy over every cell of a test set (embedded task).

The task is built with ``C x E`` envs (``C`` cells, ``E`` episodes each), ADR
updates frozen (``update_adr_ranges: false``) and no staggered start. Every
env's value of every parameter is pinned through the engine
(:meth:`~adr_domain.ADREngine.pin`) before the one reset that draws the
initial states with those values; then the policy plays until every env has
finished its first episode, whose consecutive successes are the env's result
(later episodes are not counted: each env gives exactly one unbiased episode).

Common random numbers: the task seed, the env values' uniforms and so the
initial states are functions of ``seed`` alone, the same for every policy.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs
import torch

from adr_app.tasks.reorient import ReorientTask
from adr_domain.eval_cells import Range, draw_env_values

__all__ = ["Actor", "RolloutResult", "StepHook", "eval_task_config", "play_cells"]


class Actor(Protocol):
    """What a rollout plays: deterministic actions for observations."""

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        """``(N, A)`` float32 actions in ``[-1, 1]`` for ``(N, D)`` observations."""
        ...


StepHook = Callable[[ReorientTask, torch.Tensor], None]
"""Called after the pins and before every step with the task and the ``(N,)`` bool
envs still in their first episode (for progress, and for tests to read the task)."""


@attrs.frozen(eq=False)
class RolloutResult:
    """Every env's first episode (``N = C x E``; env ``i`` is in cell ``i // E``).

    Attributes:
        objective: ``(N,)`` float64 consecutive successes of the episode.
        episode_return: ``(N,)`` float64 sum of its rewards.
        length: ``(N,)`` int64 its steps.
        initial_obs: ``(N, D)`` float32 the observations it started from.
        steps: steps the rollout took.
    """

    objective: torch.Tensor
    episode_return: torch.Tensor
    length: torch.Tensor
    initial_obs: torch.Tensor
    steps: int


def eval_task_config(task_cfg: Mapping[str, Any], adr_config: Mapping[str, Any]) -> dict[str, Any]:
    """The task config of an evaluation: the policy's ADR parameters, updates frozen,
    no staggered start, the action moving average at its schedule's final weight."""
    cfg = copy.deepcopy(dict(task_cfg))
    env = dict(cfg.get("env", {}))
    env["staggerInitialProgress"] = False
    average = dict(env.get("actionsMovingAverage", {}))
    final = average.get("range", [1.0, 1.0])[0]
    average["range"] = [final, final]
    env["actionsMovingAverage"] = average
    cfg["env"] = env
    adr = {**copy.deepcopy(dict(adr_config)), "update_adr_ranges": False}
    cfg["task"] = {**dict(cfg.get("task", {})), "adr": adr}
    return cfg


def _pin_all(task: ReorientTask, values: Mapping[str, torch.Tensor]) -> None:
    for name, v in values.items():
        task.adr.pin(name, v)


def play_cells(
    policy: Actor,
    cells: Sequence[Mapping[str, Range]],
    episodes: int,
    task_cfg: Mapping[str, Any],
    *,
    seed: int,
    hook: StepHook | None = None,
    device: torch.device | str = "cpu",
) -> RolloutResult:
    """Play ``policy`` on every cell, ``episodes`` envs per cell, in one rollout.

    Args:
        policy: the policy.
        cells: resolved cells, ``{name: (lo, hi)}`` for every parameter.
        episodes: ``E``, envs (episodes) per cell.
        task_cfg: the task config (from :func:`eval_task_config`).
        seed: the task's and the env values' seed.
        hook: see :data:`StepHook`.
        device: where the task runs (the policy's device); the results are on the CPU.
    """
    n = len(cells) * episodes
    task = ReorientTask(task_cfg, num_envs=n, seed=seed, adr_seed=seed, device=device)
    values = draw_env_values(cells, episodes, task.adr.cfg, torch.Generator().manual_seed(seed))
    _pin_all(task, values)
    obs = task.reset()
    initial = obs.clone()
    dev = task.device
    running = torch.ones(n, dtype=torch.bool, device=dev)
    objective = torch.zeros(n, dtype=torch.float64, device=dev)
    returns = torch.zeros(n, dtype=torch.float64, device=dev)
    length = torch.zeros(n, dtype=torch.long, device=dev)
    steps, limit = 0, task.cfg.env.episode_length + 1
    while bool(running.any()) and steps < limit:
        if hook is not None:
            hook(task, running)
        result = task.step(policy.act(obs))
        steps += 1
        obs = result.obs
        returns += torch.where(running, result.reward.double(), 0.0)
        length += running.long()
        first = result.done & running
        objective = torch.where(first, result.episode_successes.double(), objective)
        running &= ~result.done
    return RolloutResult(objective.cpu(), returns.cpu(), length.cpu(), initial.cpu(), steps)
