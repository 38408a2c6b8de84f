"""rl_games glue for Isaac Gym tasks (IsaacGymEnvs' ``VecTask`` API).

``adr-train task=<name>`` trains a task that is not embedded in this package
through the functions here:

* :func:`~adr_app.isaacgym.tasks.resolve_task_class` finds the task class: the task yaml's
  ``entry_point: "package.module:ClassName"`` (typically a task ported to
  :class:`adr_isaac.ADRVecTask`), else IsaacGymEnvs' ``isaacgym_task_map``;
* :func:`isaacgym_task_config` applies the app's settings to the task config
  (``env.numEnvs``, ``seed``);
* :class:`IsaacGymVecEnv` builds the task with IsaacGymEnvs' constructor
  signature and is the vecenv rl_games drives, as IsaacGymEnvs' ``RLGPUEnv``:
  ``step``/``reset`` go straight to the task, ``get_env_state`` /
  ``set_env_state`` pass the task's (hierarchical) env state through, and
  :attr:`IsaacGymVecEnv.adr_engine` exposes the task's ADR engine for logging;
* :class:`ObsSpec` turns the named observations of a dict-observation task
  (DeXtreme's ``use_dict_obs=True``) into rl_games' ``obs`` and ``states``, as
  IsaacGymEnvs' ``ComplexObsRLGPUEnv`` does, from the train config's
  ``network.inputs``.

Nothing here imports Isaac Gym; the task's own module does.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Mapping
from typing import Any, Protocol

import attrs
import torch

from adr_app.isaacgym.tasks import ENTRY_POINT_KEY
from adr_domain import ADREngine, is_int
from adr_domain.errors import ConfigError

__all__ = [
    "IsaacGymDevices",
    "IsaacGymVecEnv",
    "ObsSpec",
    "VecTaskLike",
    "isaacgym_task_config",
]

log = logging.getLogger(__name__)


class VecTaskLike(Protocol):
    """What :class:`IsaacGymVecEnv` calls on a task (IsaacGymEnvs' ``VecTask``).

    A task also has ``observation_space`` and ``action_space`` (and
    ``num_states`` / ``state_space`` for asymmetric actor-critic), read once.
    """

    def step(self, actions: torch.Tensor) -> tuple[Any, torch.Tensor, torch.Tensor, Any]: ...

    def reset(self) -> Any: ...

    def get_env_state(self) -> Any: ...

    def set_env_state(self, env_state: Any) -> None: ...


@attrs.frozen
class IsaacGymDevices:
    """The device arguments of IsaacGymEnvs' task constructor.

    Attributes:
        rl_device: device of the tensors the task returns (``cpu``, ``cuda:0``).
        sim_device: device of the simulation (``cpu``, ``cuda:0``); the task's
            tensors live there with ``sim.use_gpu_pipeline: true``.
        graphics_device_id: GPU for rendering (ignored headless without cameras).
        headless: no viewer window.
    """

    rl_device: str
    sim_device: str
    graphics_device_id: int
    headless: bool


@attrs.frozen
class ObsSpec:
    """Which named observations of a dict-observation task rl_games gets, concatenated.

    IsaacGymEnvs' DeXtreme tasks (``use_dict_obs=True``) return a dict of named
    observations; as IsaacGymEnvs' ``ComplexObsRLGPUEnv`` does, the policy's
    ``obs`` is the concatenation of the observations the train config's
    ``params.network.inputs`` names, and the critic's ``states`` that of
    ``params.config.central_value_config.network.inputs``.

    Attributes:
        obs: names concatenated (in order) into ``obs``.
        states: names concatenated into ``states`` (empty: no ``states``).
    """

    obs: tuple[str, ...]
    states: tuple[str, ...] = ()

    @classmethod
    def from_train_params(cls, params: Mapping[str, Any]) -> ObsSpec | None:
        """Read it from rl_games ``params``; None when ``network.inputs`` is absent.

        Raises:
            ConfigError: an ``inputs`` block that is not a mapping, or a
                ``complex_net`` network (dict inputs kept apart), which rl_games
                1.6.5 does not provide.
        """
        network = params.get("network")
        obs = _input_names(network, "train.params.network")
        if obs is None:
            return None
        config = params.get("config")
        central = config.get("central_value_config") if isinstance(config, Mapping) else None
        states: tuple[str, ...] | None = None
        if isinstance(central, Mapping):
            states = _input_names(
                central.get("network"), "train.params.config.central_value_config.network"
            )
        return cls(obs=obs, states=states or ())


def _input_names(network: object, where: str) -> tuple[str, ...] | None:
    if not isinstance(network, Mapping) or network.get("inputs") is None:
        return None
    inputs = network["inputs"]
    if not isinstance(inputs, Mapping) or not inputs:
        raise ConfigError(f"{where}.inputs: expected a mapping of observation names")
    if network.get("name") == "complex_net":
        raise ConfigError(
            f"{where}.name: complex_net (dict inputs kept apart) is not supported; use "
            "actor_critic, which gets the named observations concatenated"
        )
    return tuple(str(name) for name in inputs)


def isaacgym_task_config(
    task_cfg: Mapping[str, Any], *, num_envs: int, seed: int | None, evaluate: bool = False
) -> dict[str, Any]:
    """The config dict a task is built with: a copy of ``task_cfg`` with the app's settings.

    Args:
        task_cfg: the task yaml, resolved (IsaacGymEnvs' layout).
        num_envs: written to ``env.numEnvs``.
        seed: written to the top-level ``seed`` (the adapter seeds its ADR and
            DR streams from it); None leaves the config's own.
        evaluate: set ``task.adr.update_adr_ranges`` false (play at fixed ranges)
            when the task has a ``task.adr`` block.

    Returns:
        A new plain dict, without the app's ``entry_point`` key.

    Raises:
        ConfigError: ``env`` is not a mapping.
    """
    cfg = copy.deepcopy(dict(task_cfg))
    cfg.pop(ENTRY_POINT_KEY, None)
    env = cfg.setdefault("env", {})
    if not isinstance(env, dict):
        raise ConfigError(f"env: expected a mapping, got {type(env).__name__}")
    env["numEnvs"] = num_envs
    if seed is not None:
        cfg["seed"] = seed
    task = cfg.get("task")
    if evaluate and isinstance(task, dict) and isinstance(task.get("adr"), dict):
        task["adr"]["update_adr_ranges"] = False
    return cfg


class IsaacGymVecEnv:
    """rl_games vecenv over an Isaac Gym task (what IsaacGymEnvs' ``RLGPUEnv`` does).

    Args:
        task: the task (IsaacGymEnvs' ``VecTask`` API, see :class:`VecTaskLike`).
        obs_spec: for tasks with dict observations (``use_dict_obs=True``): the
            named observations that make ``obs`` and ``states``; ignored for
            tasks with one observation tensor.

    Raises:
        ConfigError: the task has no ``observation_space`` / ``action_space``, or
            dict observations without an ``obs_spec``, or an ``obs_spec`` naming
            observations the task does not have.

    Attributes:
        task: the task.
        obs_spec: the spec in use (None for tensor observations).
        env_frames: the frame count rl_games last passed to :meth:`set_train_info`.
    """

    def __init__(self, task: VecTaskLike, obs_spec: ObsSpec | None = None) -> None:
        self.task = task
        name = type(task).__name__
        spaces = {k: getattr(task, k, None) for k in ("observation_space", "action_space")}
        missing = [k for k, v in spaces.items() if v is None]
        if missing:
            raise ConfigError(
                f"task {name} has no {', '.join(missing)}: Isaac Gym tasks must follow "
                "IsaacGymEnvs' VecTask API"
            )
        self._info: dict[str, Any] = {
            "observation_space": spaces["observation_space"],
            "action_space": spaces["action_space"],
            "agents": self.get_number_of_agents(),
            "value_size": 1,
        }
        self.obs_spec: ObsSpec | None = None
        if type(spaces["observation_space"]).__name__ == "Dict":
            if obs_spec is None:
                raise ConfigError(
                    f"task {name} has dict observations (use_dict_obs=True): name the ones "
                    "the policy gets in train.params.network.inputs (and the critic's in "
                    "train.params.config.central_value_config.network.inputs)"
                )
            self.obs_spec = obs_spec
            self._info.update(_concatenated_spaces(spaces["observation_space"], obs_spec, name))
        else:
            num_states = getattr(task, "num_states", 0)
            if isinstance(num_states, int) and num_states > 0:
                self._info["state_space"] = getattr(task, "state_space", None)
        self.env_frames = 0

    @classmethod
    def from_task_class(
        cls,
        task_cls: type,
        cfg: dict[str, Any],
        devices: IsaacGymDevices,
        obs_spec: ObsSpec | None = None,
    ) -> IsaacGymVecEnv:
        """Build a task with IsaacGymEnvs' constructor signature and wrap it.

        Args:
            task_cls: from :func:`~adr_app.isaacgym.tasks.resolve_task_class`.
            cfg: from :func:`isaacgym_task_config`.
            devices: the device arguments.
            obs_spec: see :class:`IsaacGymVecEnv`.
        """
        task = task_cls(
            cfg=cfg,
            rl_device=devices.rl_device,
            sim_device=devices.sim_device,
            graphics_device_id=devices.graphics_device_id,
            headless=devices.headless,
            virtual_screen_capture=False,
            force_render=False,
        )
        log.info(
            "built %s: %s envs, sim_device %s, rl_device %s",
            task_cls.__qualname__,
            cfg.get("env", {}).get("numEnvs"),
            devices.sim_device,
            devices.rl_device,
        )
        return cls(task, obs_spec)

    @property
    def adr_engine(self) -> ADREngine | None:
        """The task's ADR engine (``task.adr_engine``), None when it has no ADR."""
        # adr_isaac tasks raise AttributeError here when task.adr.use_adr is false.
        engine = getattr(self.task, "adr_engine", None)
        return engine if isinstance(engine, ADREngine) else None

    # ------------------------------------------------------------------ rl_games API

    def step(self, actions: torch.Tensor) -> tuple[Any, torch.Tensor, torch.Tensor, Any]:
        """The task's ``step``: ``(obs dict, rewards (N,), resets (N,), extras)``.

        With dict observations, ``obs`` (and ``states``) are the concatenated
        ``(N, sum of sizes)`` observations :attr:`obs_spec` names.
        """
        obs, rewards, resets, extras = self.task.step(actions)
        return self._observations(obs), rewards, resets, extras

    def reset(self) -> Any:
        """The task's ``reset`` (rl_games calls it when training or playing starts)."""
        return self._observations(self.task.reset())

    def _observations(self, obs: Any) -> Any:
        spec = self.obs_spec
        if spec is None:
            return obs
        out = {"obs": torch.cat([obs[k].flatten(1) for k in spec.obs], dim=1)}
        if spec.states:
            out["states"] = torch.cat([obs[k].flatten(1) for k in spec.states], dim=1)
        return out

    def get_number_of_agents(self) -> int:
        """The task's ``num_agents`` (IsaacGymEnvs' ``env.numAgents``), default 1."""
        agents = getattr(self.task, "num_agents", 1)
        return agents if is_int(agents) else 1

    def get_env_info(self) -> dict[str, Any]:
        """``observation_space``, ``action_space``, ``agents``, ``value_size`` and, for
        tasks with ``num_states > 0``, ``state_space`` (the task's own spaces)."""
        return dict(self._info)

    def has_action_masks(self) -> bool:
        """False: continuous actions."""
        return False

    def set_train_info(self, env_frames: int, *args: Any, **kwargs: Any) -> None:
        """Record the frame count and pass it on to the task's ``set_train_info``, if any."""
        self.env_frames = int(env_frames)
        forward = getattr(self.task, "set_train_info", None)
        if callable(forward):
            forward(env_frames, *args, **kwargs)

    def get_env_state(self) -> Any:
        """The task's ``get_env_state()`` (for adr_isaac tasks: the hierarchical state)."""
        return self.task.get_env_state()

    def set_env_state(self, env_state: Any) -> None:
        """The task's ``set_env_state(env_state)``, None included (rl_games passes it on)."""
        self.task.set_env_state(env_state)


def _concatenated_spaces(space: Any, spec: ObsSpec, task_name: str) -> dict[str, Any]:
    """``observation_space`` (and ``state_space``) of the concatenated dict observations."""
    from gymnasium import spaces

    available = list(space.spaces)
    unknown = [k for k in (*spec.obs, *spec.states) if k not in space.spaces]
    if unknown:
        raise ConfigError(
            f"train.params network inputs name observations task {task_name} does not have: "
            f"{', '.join(unknown)} (it has: {', '.join(available)})"
        )

    def box(names: tuple[str, ...]) -> spaces.Box:
        size = sum(math.prod(space.spaces[k].shape) for k in names)
        return spaces.Box(-float("inf"), float("inf"), (size,))

    out = {"observation_space": box(spec.obs)}
    if spec.states:
        out["state_space"] = box(spec.states)
    return out
