"""One vectorized rollout of an mjlab policy over every cell of a test set.

The task's env is built with ``C x E`` envs (``C`` cells, ``E`` episodes
each), seeded, and its ADR term frozen (``update_adr_ranges: false``) and
seeded; mjlab's own runner loads the rsl_rl policy. The rest is
:func:`~adr_app.evaluation.manager_rollout.play_pinned`: every env's values
are pinned through the term's engine before one seeded reset, at which the
term's model-field event writes them into the MuJoCo Warp model
(``env.sim.model``); the policy acts deterministically until every env has
finished its first episode, scored with the task's ADR objective.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

import attrs
import torch
from mjlab.envs import ManagerBasedRlEnv, ManagerBasedRlEnvCfg
from mjlab.rl import MjlabOnPolicyRunner, RslRlVecEnvWrapper
from mjlab.tasks.registry import load_env_cfg, load_rl_cfg

from adr_app.evaluation.lab_policy import LabPolicy, task_spec
from adr_app.evaluation.manager_rollout import ManagerEvaluation, inference_policy, play_pinned
from adr_app.evaluation.rollout import RolloutResult
from adr_domain.eval_cells import Range
from adr_lab.core import frozen_adr
from adr_lab.mjlab import AdrCurriculum, AdrSpec
from adr_lab.mjlab.terms import adr_terms

__all__ = ["LabStepHook", "evaluate_lab", "lab_env_cfg", "play_lab_cells"]

LabStepHook = Callable[[ManagerBasedRlEnv, int, torch.Tensor], None]
"""Called after the pinned reset and before every step with the env, the step and the
``(N,)`` bool envs still in their first episode (for progress, and for tests to read
the model)."""


def _frozen(spec: AdrSpec, seed: int) -> AdrSpec:
    return attrs.evolve(spec, adr=frozen_adr(spec.adr), seed=seed)


def lab_env_cfg(
    task: str, num_envs: int, seed: int, episode_length_s: float | None = None
) -> ManagerBasedRlEnvCfg:
    """The task's (training) env config for an evaluation: ``num_envs`` envs, seeded,
    every ADR term frozen and seeded with ``seed``; optionally shorter episodes."""
    cfg = load_env_cfg(task)
    cfg.scene.num_envs = num_envs
    cfg.seed = seed
    if episode_length_s is not None:
        cfg.episode_length_s = episode_length_s
    for terms in (cfg.curriculum, cfg.events):
        for term in terms.values():
            params = getattr(term, "params", None)
            if isinstance(params, dict) and isinstance(params.get("spec"), AdrSpec):
                params["spec"] = _frozen(params["spec"], seed)
    return cfg


def _one_term(env: ManagerBasedRlEnv) -> AdrCurriculum:
    terms = list(adr_terms(env).values())
    if len(terms) != 1:
        raise ValueError(f"the task's env has {len(terms)} ADR curriculum terms; need one")
    return terms[0]


def _runner(policy: LabPolicy, env: RslRlVecEnvWrapper, device: str) -> Any:
    """mjlab's runner of the task (its checkpoint's actor is loaded into it)."""
    cfg = asdict(load_rl_cfg(policy.task_name))
    return MjlabOnPolicyRunner(env, cfg, log_dir=None, device=device)


def play_lab_cells(
    policy: LabPolicy,
    cells: Sequence[Mapping[str, Range]],
    episodes: int,
    *,
    seed: int,
    episode_length_s: float | None = None,
    hook: LabStepHook | None = None,
    device: str = "cpu",
) -> RolloutResult:
    """Play ``policy`` on every cell of its task in one rollout (arguments: see
    :class:`~adr_app.evaluation.manager_rollout.PlayCells`; ``device``: where env and
    policy run)."""
    n = len(cells) * episodes
    cfg = lab_env_cfg(policy.task_name, n, seed, episode_length_s)
    env = ManagerBasedRlEnv(cfg, device=device)
    try:
        wrapper = RslRlVecEnvWrapper(env)
        actor = inference_policy(lambda: _runner(policy, wrapper, device), policy, device)
        term = _one_term(env)
        return play_pinned(
            wrapper, actor, term, cells, episodes, policy.adr_config, seed=seed, hook=hook
        )
    finally:
        env.close()


def _objective(task: str) -> object:
    return task_spec(task).objective


evaluate_lab = ManagerEvaluation(play_lab_cells, _objective)
"""Play every mjlab policy on every cell, ``episodes`` episodes each
(:meth:`~adr_app.evaluation.manager_rollout.ManagerEvaluation.__call__`)."""
