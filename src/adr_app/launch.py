"""Where a run's process stands and what it builds: its rank and device, its seed, and
the env rl_games creates for it."""

from __future__ import annotations

import copy
import os
import random
from collections.abc import Callable
from typing import Any

import attrs
import torch

from adr_app.isaacgym_launch import EMBEDDED_TASKS, isaacgym_env_factory
from adr_app.plan import ENV_NAME, TrainPlan

__all__ = [
    "VECENV_TYPE",
    "Placement",
    "env_factory",
    "launch_rank",
    "register_env",
    "seed_everything",
    "task_config_for",
]

VECENV_TYPE = "ADR_VECENV"
"""The vecenv type under which ``adr-train`` registers its env with rl_games."""


def launch_rank(multi_gpu: bool) -> int:
    """This process's rank as the launcher (torchrun) set it, before the process group exists."""
    return int(os.environ.get("RANK", "0")) if multi_gpu else 0


@attrs.frozen
class Placement:
    """This process in the run.

    Attributes:
        rank, local_rank, world_size: position in a multi-process run.
        device: the torch device the agent and the embedded task use.
        exchange: the ADR boundary exchange between ranks (None for one process).
    """

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: str = "cpu"
    exchange: Any = None

    @classmethod
    def join(cls, rl_device: str, multi_gpu: bool, timeout_s: float) -> Placement:
        """One process, or this rank of a torchrun launch (joins the process group)."""
        if not multi_gpu:
            return cls(device=rl_device)
        from adr_infra.distributed import TorchDistributedExchange, init_process_group

        on_gpu = torch.device(rl_device).type == "cuda"
        rank, local_rank, world_size = init_process_group(
            backend="nccl" if on_gpu else "gloo", timeout_s=timeout_s
        )
        device = rl_device
        if on_gpu:
            # One GPU per process, as rl_games' own multi_gpu set-up does.
            device = f"cuda:{local_rank}"
            torch.cuda.set_device(local_rank)
        return cls(rank, local_rank, world_size, device, TorchDistributedExchange())

    def shared_seed(self, seed: int) -> int:
        """The run's seed (random for -1), the same on every rank."""
        if seed >= 0:
            return seed
        drawn = torch.tensor(
            [int.from_bytes(os.urandom(4), "little")], dtype=torch.long, device=self.device
        )
        if self.world_size > 1:
            import torch.distributed as dist

            dist.broadcast(drawn, 0)
        return int(drawn.item())


def seed_everything(seed: int, deterministic: bool) -> None:
    """Seed Python, torch and numpy; deterministic torch algorithms if asked."""
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % (2**32))
    except ImportError:  # pragma: no cover - numpy ships with rl_games
        pass
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def env_factory(
    plan: TrainPlan, task_cfg: dict[str, Any], place: Placement, seed: int
) -> Callable[..., Any]:
    """What rl_games calls to create this process's env: ``create(num_actors, **kwargs)``."""
    from adr_app.rlgames import DistributedEnvState
    from adr_app.vecenv import ReorientVecEnv

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
    """Make ``create`` the env rl_games builds for :data:`~adr_app.plan.ENV_NAME`."""
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
