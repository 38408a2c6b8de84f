"""The env rl_games builds for a run: created per rank, registered under the run's
env name, from the task config this run uses."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from adr_app.config.plan import ENV_NAME, TrainPlan
from adr_app.isaacgym.launch import EMBEDDED_TASKS, isaacgym_env_factory
from adr_app.runs.placement import Placement

__all__ = ["VECENV_TYPE", "env_factory", "register_env", "task_config_for"]

VECENV_TYPE = "ADR_VECENV"
"""The vecenv type under which ``adr-train`` registers its env with rl_games."""


def env_factory(
    plan: TrainPlan, task_cfg: dict[str, Any], place: Placement, seed: int
) -> Callable[..., Any]:
    """What rl_games calls to create this process's env: ``create(num_actors, **kwargs)``."""
    from adr_app.rlgames.env_state import DistributedEnvState
    from adr_app.tasks.vecenv import ReorientVecEnv

    s = plan.settings
    embedded = s.task_name in EMBEDDED_TASKS
    # Isaac Gym tasks: one process, seeded from the run's seed, played at fixed ranges.
    isaacgym_env = None if embedded else isaacgym_env_factory(s, task_cfg, plan.rl_params, seed)

    def create(num_actors: int, **kwargs: Any) -> Any:
        if isaacgym_env is not None:
            return isaacgym_env(num_actors)
        env = ReorientVecEnv.from_config(
            task_cfg,
            num_envs=num_actors,
            device=place.device,
            seed=int(kwargs.get("seed", seed + place.rank)),
            adr_seed=seed,
            adr_exchange=place.exchange,
        )
        return DistributedEnvState(
            env, place.rank, place.world_size, shared_adr_only=s.resume_shared_adr_only
        )

    return create


def register_env(create: Callable[..., Any], num_envs: int) -> None:
    """Make ``create`` the env rl_games builds for :data:`~adr_app.config.plan.ENV_NAME`."""
    from rl_games.common import env_configurations, vecenv

    vecenv.register(VECENV_TYPE, lambda config_name, num_actors, **kw: create(num_actors, **kw))
    env_configurations.register(
        ENV_NAME,
        {"vecenv_type": VECENV_TYPE, "env_creator": lambda **kw: create(num_envs, **kw)},
    )


def task_config_for(plan: TrainPlan) -> dict[str, Any]:
    """The task config this run builds (playing freezes the embedded task's ADR ranges)."""
    task_cfg = copy.deepcopy(plan.task_cfg)
    if plan.settings.test and plan.settings.task_name in EMBEDDED_TASKS:
        # Evaluate at the checkpoint's ranges: finished envs become rollout workers.
        task_cfg.setdefault("task", {}).setdefault("adr", {})["update_adr_ranges"] = False
    return task_cfg
