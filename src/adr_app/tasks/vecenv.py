"""rl_games glue for the embedded Reorient task.

:class:`ReorientVecEnv` is duck-typed to what rl_games' agents call on a
vecenv (``step``, ``reset``, ``get_env_info``, ``get_env_state``, ...; see
:class:`RlGamesVecEnv`); :func:`register_reorient` registers it with rl_games
under an env name that a train config's ``params.config.env_name`` selects.

Exact resume: :meth:`ReorientVecEnv.get_env_state` returns the task's whole
hierarchical state plus the global torch RNG (rl_games samples actions with
it), and :meth:`ReorientVecEnv.set_env_state` restores both and makes the next
``reset()`` (rl_games calls one at the start of ``train()``) return the current
observations instead of restarting every env.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol, TypedDict

import torch
from gymnasium import spaces

from adr_app.tasks.config import ReorientConfig
from adr_app.tasks.reorient import ReorientTask
from adr_app.tasks.reorient_state import NUM_ACTIONS, OBS_DIM
from adr_domain import ADREngine, BoundaryExchange, StateReader

__all__ = [
    "REORIENT_ENV_NAME",
    "REORIENT_VECENV_TYPE",
    "ReorientStepInfos",
    "ReorientVecEnv",
    "RlGamesVecEnv",
    "register_reorient",
]

logger = logging.getLogger(__name__)

REORIENT_ENV_NAME: Final = "reorient"
"""Default rl_games env name (``params.config.env_name``)."""
REORIENT_VECENV_TYPE: Final = "ADR_REORIENT"
"""Default rl_games vecenv type the env name maps to."""
TORCH_RNG_KEY: Final = "torch_rng"


class RlGamesVecEnv(Protocol):
    """What rl_games 1.6.5 agents call on a vecenv (it checks no base class)."""

    def step(self, actions: torch.Tensor) -> tuple[Any, torch.Tensor, torch.Tensor, Any]: ...

    def reset(self) -> Any: ...

    def get_number_of_agents(self) -> int: ...

    def get_env_info(self) -> dict[str, Any]: ...

    def has_action_masks(self) -> bool: ...

    def set_train_info(self, env_frames: int, *args: Any, **kwargs: Any) -> None: ...

    def get_env_state(self) -> Any: ...

    def set_env_state(self, env_state: Any) -> None: ...


class ReorientStepInfos(TypedDict):
    """``infos`` of :meth:`ReorientVecEnv.step`: ``time_outs`` per env, then 0-d
    tensors of per-step scalars for logging (no host copies)."""

    time_outs: torch.Tensor
    """``(N,)`` bool, episodes ended by timeout only (rl_games bootstraps their value)."""
    episode_successes: torch.Tensor
    """``(N,)`` float32 consecutive successes of each env at the end of the step; for
    envs done in this step, those of the episode that just ended (what ADR received)."""
    consecutive_successes: torch.Tensor
    """``()`` float32 moving average of finished episodes' consecutive successes
    (IsaacGymEnvs' meaning: weight ``averFactor`` per step with finished episodes)."""
    finished_consecutive_successes: torch.Tensor
    """``()`` float32 mean consecutive successes of the episodes finished in this step
    (0 when none finished; weigh with ``episodes_finished``)."""
    episodes_finished: torch.Tensor
    """``()`` int64 episodes finished in this step."""
    adr_npd: torch.Tensor
    """``()`` float64 ADR nats per dimension after this step."""
    adr_bounds_moved: torch.Tensor
    """``()`` int64 ADR bounds that moved in this step."""
    adr_rollout_perf: torch.Tensor
    """``()`` float64 ADR rollout-performance moving average."""
    adr_boundary_results: torch.Tensor
    """``()`` int64 boundary results recorded in this step."""
    action_moving_average: torch.Tensor
    """``()`` float32 current action moving-average weight."""


class ReorientVecEnv:
    """rl_games vecenv over a :class:`ReorientTask` (one agent, tensor observations).

    Args:
        task: the task to drive.

    Attributes:
        task: the task (its ADR engine is ``task.adr``).
        observation_space: ``Box(-inf, inf, (21,))``.
        action_space: ``Box(-1, 1, (3,))``.
        env_frames: the frame count rl_games last passed to :meth:`set_train_info`.
    """

    def __init__(self, task: ReorientTask) -> None:
        self.task = task
        self.observation_space = spaces.Box(-float("inf"), float("inf"), (OBS_DIM,))
        self.action_space = spaces.Box(-1.0, 1.0, (NUM_ACTIONS,))
        self.env_frames = 0
        self._keep_on_next_reset = False
        self._zero = torch.zeros((), dtype=torch.long, device=task.device)

    @classmethod
    def from_config(
        cls,
        task_cfg: ReorientConfig | Mapping[str, Any],
        *,
        num_envs: int | None = None,
        device: torch.device | str = "cpu",
        seed: int = 0,
        adr_seed: int | None = None,
        adr_exchange: BoundaryExchange | None = None,
    ) -> ReorientVecEnv:
        """Build the task from its config and wrap it (arguments as :class:`ReorientTask`)."""
        task = ReorientTask(
            task_cfg,
            num_envs=num_envs,
            device=device,
            seed=seed,
            adr_seed=adr_seed,
            adr_exchange=adr_exchange,
        )
        return cls(task)

    @property
    def num_envs(self) -> int:
        """``N``."""
        return self.task.num_envs

    @property
    def adr_engine(self) -> ADREngine:
        """The task's ADR engine (for logging ranges, queues and NPD)."""
        return self.task.adr

    @property
    def keeps_next_reset(self) -> bool:
        """True between :meth:`set_env_state` and the next :meth:`reset`."""
        return self._keep_on_next_reset

    # ------------------------------------------------------------------ rl_games API

    def step(
        self, actions: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor, ReorientStepInfos]:
        """One step of every env.

        Args:
            actions: ``(N, 3)`` floating, in ``[-1, 1]``.

        Returns:
            ``({"obs": (N, 21) float32}, rewards (N,) float32, dones (N,) uint8, infos)``;
            finished envs are already reset.

        Raises:
            ValueError: naming ``actions`` when its shape or dtype is wrong.
        """
        result = self.task.step(actions)
        self._keep_on_next_reset = False
        task, report = self.task, result.adr_report
        dev = task.device
        if report is None:
            npd = task.adr.npd()
            moved = self._zero
            recorded = self._zero
            perf = task.adr.rollout_perf.clone()
        else:
            npd = report.npd
            moved = report.moved.sum()
            recorded = report.num_boundary_results
            perf = report.rollout_perf
        if result.num_finished:
            finished_sum = (result.episode_successes * result.done).sum()
            finished_mean = finished_sum / result.num_finished
        else:
            finished_mean = torch.zeros((), device=dev)
        infos = ReorientStepInfos(
            time_outs=result.time_out,
            episode_successes=result.episode_successes,
            consecutive_successes=torch.tensor(task.consecutive_successes, device=dev),
            finished_consecutive_successes=finished_mean,
            episodes_finished=torch.tensor(result.num_finished, device=dev),
            adr_npd=npd,
            adr_bounds_moved=moved,
            adr_rollout_perf=perf,
            adr_boundary_results=recorded,
            action_moving_average=torch.tensor(task.action_moving_average, device=dev),
        )
        return {"obs": result.obs}, result.reward, result.done.to(torch.uint8), infos

    def reset(self) -> dict[str, torch.Tensor]:
        """Restart every env, except right after :meth:`set_env_state`.

        The first call after a restore returns the current observations and
        changes nothing (rl_games calls ``reset()`` when ``train()`` starts;
        restarting would break exact resume).

        Returns:
            ``{"obs": (N, 21) float32}``.
        """
        if self._keep_on_next_reset:
            self._keep_on_next_reset = False
            logger.info("first reset after a restore: envs continue where they were")
            return {"obs": self.task.observations()}
        return {"obs": self.task.reset()}

    def get_number_of_agents(self) -> int:
        """1: one agent per env."""
        return 1

    def get_env_info(self) -> dict[str, Any]:
        """Spaces and sizes for rl_games: ``observation_space``, ``action_space``,
        ``agents`` (1), ``value_size`` (1)."""
        return {
            "observation_space": self.observation_space,
            "action_space": self.action_space,
            "agents": 1,
            "value_size": 1,
        }

    def has_action_masks(self) -> bool:
        """False: continuous actions."""
        return False

    def set_train_info(self, env_frames: int, *args: Any, **kwargs: Any) -> None:
        """Called by rl_games at the start of every epoch with the frames so far."""
        self.env_frames = int(env_frames)

    def get_env_state(self) -> dict[str, Any]:
        """The task's full state (``schema_version``, ``task_name``, ``adr``, ``task``)
        plus ``torch_rng``, the global torch RNG state (CPU tensors and primitives)."""
        state: dict[str, Any] = dict(self.task.state_dict())
        state[TORCH_RNG_KEY] = torch.get_rng_state()
        return state

    def set_env_state(self, env_state: Mapping[str, Any] | None) -> None:
        """Restore a state from :meth:`get_env_state`; None (a checkpoint without
        env state, which rl_games passes on as is) changes nothing.

        After a restore the next :meth:`reset` keeps the envs as they are.

        Raises:
            StateError: (a ``ValueError``) the state is malformed or belongs to
                another task, parameter set or number of envs; nothing changes.
        """
        if env_state is None:
            return
        read = StateReader(env_state, "env state")
        rng = read.generator(TORCH_RNG_KEY)
        self.task.load_state_dict({k: v for k, v in read.state.items() if k != TORCH_RNG_KEY})
        torch.set_rng_state(rng)
        self._keep_on_next_reset = True
        logger.info("restored env state: step %d, ADR step %d", self.task.frame, self.task.adr.step)


def register_reorient(
    task_cfg: ReorientConfig | Mapping[str, Any],
    *,
    env_name: str = REORIENT_ENV_NAME,
    vecenv_type: str = REORIENT_VECENV_TYPE,
    device: torch.device | str = "cpu",
    default_seed: int = 0,
    adr_seed: int | None = None,
    adr_exchange: BoundaryExchange | None = None,
    on_create: Callable[[ReorientVecEnv], None] | None = None,
) -> ReorientConfig:
    """Register the Reorient task with rl_games.

    Afterwards a train config with ``params.config.env_name: <env_name>``
    makes rl_games build a :class:`ReorientVecEnv` with ``num_actors`` envs,
    seeded with ``params.config.env_config.seed`` (rl_games' Runner fills it
    from ``params.seed`` when ``env_config`` exists) or ``default_seed``.

    Args:
        task_cfg: the task config (validated now, once).
        env_name: rl_games env name.
        vecenv_type: rl_games vecenv type.
        device: device of the task.
        default_seed: seed used when rl_games passes none.
        adr_seed: seed of the ADR engine; default: the env's seed (see
            :class:`ReorientTask`; a distributed run passes one value to all ranks).
        adr_exchange: the distributed ADR exchange, if any.
        on_create: called with every vecenv built (e.g. to log its ADR engine).

    Returns:
        The validated task config.
    """
    from rl_games.common import env_configurations, vecenv

    cfg = ReorientConfig.from_mapping(task_cfg)

    def build(num_envs: int | None, kwargs: Mapping[str, Any]) -> ReorientVecEnv:
        seed = kwargs.get("seed", default_seed)
        env = ReorientVecEnv.from_config(
            cfg,
            num_envs=num_envs,
            device=device,
            seed=default_seed if seed is None else int(seed),
            adr_seed=adr_seed,
            adr_exchange=adr_exchange,
        )
        logger.info("built %r (seed %s)", env.task, seed)
        if on_create is not None:
            on_create(env)
        return env

    def create_vecenv(config_name: str, num_actors: int, **kwargs: Any) -> ReorientVecEnv:
        return build(num_actors, kwargs)

    def create_env(**kwargs: Any) -> ReorientVecEnv:
        num_envs = kwargs.get("num_envs")
        return build(None if num_envs is None else int(num_envs), kwargs)

    vecenv.register(vecenv_type, create_vecenv)
    env_configurations.register(env_name, {"vecenv_type": vecenv_type, "env_creator": create_env})
    return cfg
