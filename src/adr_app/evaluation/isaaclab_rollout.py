"""One vectorized rollout of an Isaac Lab policy over every cell of a test set.

The task's env config (:func:`~adr_app.evaluation.isaaclab_policy.isaaclab_cfgs`:
Newton with MuJoCo Warp) gets ``C x E`` envs (``C`` cells, ``E`` episodes
each), the seed, and its ADR term frozen (``update_adr_ranges: false``) and
seeded; the env is built kit-less (``launch_simulation``). rsl_rl's runner of
the task's agent config, with the stock ``PPO`` (so that loading restores no
ADR state: the engine keeps the evaluation's seed and pins), loads the
checkpoint's actor. The rest is
:func:`~adr_app.evaluation.manager_rollout.play_pinned`: every env's values are
pinned through the term's engine before one seeded reset, at which the term
writes them through its bound event terms into the articulation; the policy
acts deterministically until every env has finished its first episode, scored
with the task's ADR objective.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import torch
from isaaclab.app import launch_simulation
from isaaclab.envs import ManagerBasedRLEnv
from isaaclab_rl.rsl_rl import (
    RslRlVecEnvWrapper,
    check_rsl_rl_version,
    create_rsl_rl_runner,
    handle_deprecated_rsl_rl_cfg,
)

from adr_app.evaluation.isaaclab_policy import isaaclab_cfgs, task_spec
from adr_app.evaluation.lab_policy import LabPolicy
from adr_app.evaluation.manager_rollout import ManagerEvaluation, inference_policy, play_pinned
from adr_app.evaluation.rollout import RolloutResult
from adr_domain.eval_cells import Range
from adr_lab.isaaclab import adr_term_cfgs
from adr_lab.isaaclab.env_state import only_adr_term

__all__ = ["IsaacLabStepHook", "evaluate_isaaclab", "isaaclab_eval_cfgs", "play_isaaclab_cells"]

IsaacLabStepHook = Callable[[ManagerBasedRLEnv, int, torch.Tensor], None]
"""Called after the pinned reset and before every step with the env, the step and the
``(N,)`` bool envs still in their first episode (for progress, and for tests to read
the articulation's data)."""
STOCK_PPO = "PPO"
"""The algorithm the runner loads the actor with (``AdrPPO`` would restore ADR's state)."""
OBS_GROUPS_WARNINGS = "The observation configuration dictionary 'obs_groups'"
"""rsl_rl's warnings for an agent config without ``obs_groups`` (Isaac Lab's Cartpole):
their default resolution is the same in training and here."""


def isaaclab_eval_cfgs(
    task: str, num_envs: int, seed: int, episode_length_s: float | None, device: str
) -> tuple[Any, Any]:
    """The task's (training) env and agent configs for an evaluation: ``num_envs`` envs on
    ``device``, seeded, the ADR term frozen and seeded with ``seed``, the stock ``PPO``;
    optionally shorter episodes."""
    env_cfg, agent_cfg = isaaclab_cfgs(task)
    env_cfg.sim.device = device
    env_cfg.scene.num_envs = num_envs
    env_cfg.seed = seed
    if episode_length_s is not None:
        env_cfg.episode_length_s = episode_length_s
    for term in adr_term_cfgs(env_cfg):
        term.params["spec"] = attrs.evolve(term.params["spec"].frozen(), seed=seed)
    agent_cfg.device = device
    agent_cfg.algorithm.class_name = STOCK_PPO
    return env_cfg, handle_deprecated_rsl_rl_cfg(agent_cfg, check_rsl_rl_version())


def _runner(wrapper: RslRlVecEnvWrapper, agent_cfg: Any) -> Any:
    """The runner Isaac Lab's ``play`` builds (its checkpoint's actor is loaded into it)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=OBS_GROUPS_WARNINGS, category=UserWarning)
        return create_rsl_rl_runner(wrapper, agent_cfg)


def play_isaaclab_cells(
    policy: LabPolicy,
    cells: Sequence[Mapping[str, Range]],
    episodes: int,
    *,
    seed: int,
    episode_length_s: float | None = None,
    hook: IsaacLabStepHook | None = None,
    device: str = "cpu",
) -> RolloutResult:
    """Play ``policy`` on every cell of its task in one rollout (arguments: see
    :class:`~adr_app.evaluation.manager_rollout.PlayCells`; ``device``: where env and
    policy run)."""
    n = len(cells) * episodes
    env_cfg, agent_cfg = isaaclab_eval_cfgs(policy.task_name, n, seed, episode_length_s, device)
    with launch_simulation(env_cfg, {"device": device}):
        env = ManagerBasedRLEnv(cfg=env_cfg)
        try:
            wrapper = RslRlVecEnvWrapper(env, clip_actions=agent_cfg.clip_actions)
            actor = inference_policy(lambda: _runner(wrapper, agent_cfg), policy, device)
            term = only_adr_term(env, "adr-eval", "an ADR task")
            return play_pinned(
                wrapper, actor, term, cells, episodes, policy.adr_config, seed=seed, hook=hook
            )
        finally:
            env.close()


def _objective(task: str) -> object:
    return task_spec(task).objective


evaluate_isaaclab = ManagerEvaluation(play_isaaclab_cells, _objective)
"""Play every Isaac Lab policy on every cell, ``episodes`` episodes each
(:meth:`~adr_app.evaluation.manager_rollout.ManagerEvaluation.__call__`)."""
