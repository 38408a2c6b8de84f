"""IsaacGymEnvs' ``ADRVecTask`` as a simulator-free mixin over the ADR engine.

:class:`ADRTaskMixin` goes in front of a ``VecTaskDextreme``-like simulator
base (``class ADRVecTask(ADRTaskMixin, VecTaskDextreme)``, see
:mod:`adr_isaac.isaacgym_task`). It keeps the reference's constructor, method
names and attributes (one definition of them: :mod:`adr_isaac.reference`), so
a DeXtreme-style task written for IsaacGymEnvs runs on
:class:`~adr_domain.ADREngine` by changing its import. The work is done by
parts, each built from explicit arguments in :func:`build_task_parts`:

* :class:`~adr_isaac.task_settings.TaskSettings`: start-up validation of the
  DR dict and of every ADR ``range_path``;
* :class:`~adr_isaac.task_adr.TaskADR`: the engine, its ``adr/...`` entries
  in ``extras``, the episodes a restore cut short;
* :class:`~adr_isaac.task_dr.DomainRandomization`: domain randomization from
  one saved random stream, with the values written to the simulator
  remembered per env (:mod:`adr_isaac.randomizer`);
* :class:`~adr_isaac.task_state.EnvStateKeeper`: hierarchical
  ``get_env_state`` / ``set_env_state`` that restore everything, write the
  restored physical properties back to the simulator, and keep episodes cut
  short by a restore out of the ADR statistics.

The parts touch the simulator only through the task's ``gym``, ``sim`` and
``envs`` (:class:`~adr_isaac.task_host.TaskHost`), which the simulator base
and the task provide.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, cast

import attrs
import torch

from adr_domain import ADREngine, UpdateReport
from adr_isaac.dr_params import DRParams
from adr_isaac.gym_types import GymApi
from adr_isaac.randomizer import PropertyRandomizer, RandomisationCallback
from adr_isaac.reference import ReferenceADR, RolloutWorkerModes
from adr_isaac.task_adr import CHECK_INTERVAL, TaskADR
from adr_isaac.task_dr import DomainRandomization
from adr_isaac.task_host import TaskHost
from adr_isaac.task_settings import TaskSettings
from adr_isaac.task_state import EnvStateKeeper

__all__ = [
    "CHECK_INTERVAL",
    "ADRTaskMixin",
    "RolloutWorkerModes",
    "TaskParts",
    "TaskSettings",
    "build_task_parts",
]

_DR_SEED_OFFSET = 0x5DEECE66D  # keeps the DR stream apart from the engine's streams


@attrs.frozen(eq=False)
class TaskParts:
    """The parts of one ADR task, built together by :func:`build_task_parts`."""

    settings: TaskSettings
    all_env_ids: torch.Tensor
    adr: TaskADR
    dr: DomainRandomization
    env_state: EnvStateKeeper


def build_task_parts(task: TaskHost, config: Mapping[str, Any], sim_device: str) -> TaskParts:
    """Read the task config and build the parts of the ADR task ``task``.

    Raises:
        ConfigError: naming each bad field of the config.
    """
    settings = TaskSettings.from_config(config, sim_device)
    n, device = settings.num_envs, settings.device
    engine = (
        ADREngine(settings.adr_cfg, n, device=device, seed=settings.seed)
        if settings.adr_cfg is not None
        else None
    )
    adr = TaskADR(engine, n, device)
    all_env_ids = torch.arange(n, device=device)
    randomizer = PropertyRandomizer(n, settings.seed + _DR_SEED_OFFSET)
    dr = DomainRandomization(task, adr, randomizer, settings, all_env_ids)
    keeper = EnvStateKeeper(task, adr, dr, randomizer.memory, randomize=settings.randomize)
    return TaskParts(settings, all_env_ids, adr, dr, keeper)


class ADRTaskMixin(ReferenceADR):
    """The reference ``ADRVecTask`` API and attributes over one :class:`ADREngine`.

    Use it in front of the simulator base: ``class ADRVecTask(ADRTaskMixin,
    VecTaskDextreme)``. The task sets ``self.cfg`` and calls
    ``super().__init__(config=..., rl_device=..., sim_device=...,
    graphics_device_id=..., headless=..., use_dict_obs=...)`` as with
    IsaacGymEnvs; the ADR state exists before the base creates the sim, so
    ``create_sim`` may already call :meth:`apply_randomizations`.

    Reference attributes (see :class:`~adr_isaac.reference.ReferenceADR`;
    they raise ``AttributeError`` when ``use_adr`` is false): ``adr_cfg``,
    ``adr_params``, ``adr_params_keys``, ``adr_params_builtin_keys``,
    ``num_adr_params``, ``adr_objective_queues``, ``worker_types``,
    ``adr_modes`` (live ``(num_envs,)`` int64 tensors), ``adr_tensor_values``,
    the ``task.adr`` options (``update_adr_ranges``,
    ``adr_load_from_checkpoint``, ...); and ``use_adr``, ``all_env_ids``,
    ``extras`` (the simulator base's dict; after every update it holds the
    reference's ``adr/...`` entries as 0-dim tensors, so logging them needs no
    host copy), ``last_adr_report`` (the latest update's report).

    Attributes:
        adr_parts: the parts doing the work (:class:`TaskParts`).

    Class attributes:
        gym_api: the ``gymapi`` module, for colour randomization (None skips it).
        restores_episode_state: set True in a task whose ``set_env_state``
            restores its episode buffers (progress, resets, objective), so that
            episodes in flight at save time simply continue. With False (the
            default, like IsaacGymEnvs' tasks) every env's current episode is
            taken to restart at a restore, and its end is not fed to ADR.
        env_state_keys: entries a level's ``get_env_state`` adds and its
            ``set_env_state`` does not take (restored by attribute; see
            :mod:`adr_isaac.task_state`).
    """

    gym_api: ClassVar[GymApi | None] = None
    restores_episode_state: ClassVar[bool] = False
    env_state_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        config: Mapping[str, Any],
        rl_device: str,
        sim_device: str,
        graphics_device_id: int,
        headless: bool,
        use_dict_obs: bool = False,
    ) -> None:
        # Once the simulator base has set up gym, sim and envs, this object is
        # the TaskHost its parts read.
        self.adr_parts = build_task_parts(cast(TaskHost, self), config, sim_device)
        self.use_adr = self.adr_parts.adr.engine is not None
        self.all_env_ids = self.adr_parts.all_env_ids
        # The base sets these too; they exist early so create_sim may randomize.
        self.extras: dict[str, Any] = {}
        self.first_randomization = True
        self.sim_initialized = False
        self.last_step = -1
        self.last_rand_step = -1
        # The simulator base (VecTaskDextreme) takes these arguments.
        super().__init__(  # type: ignore[call-arg]
            config,
            rl_device,
            sim_device,
            graphics_device_id,
            headless,
            use_dict_obs=use_dict_obs,
        )

    @property
    def adr_engine(self) -> ADREngine:
        """The ADR engine.

        Raises:
            AttributeError: ADR is off (``task.adr.use_adr`` is false).
        """
        engine = self.adr_parts.adr.engine
        if engine is None:
            raise AttributeError("adr_engine: ADR is off (task.adr.use_adr is false)")
        return engine

    @property
    def last_adr_report(self) -> UpdateReport | None:
        """The latest ADR update's report (None before the first)."""
        return self.adr_parts.adr.last_report

    def _after_adr_update(self, report: UpdateReport) -> None:
        """Write the reference's ``adr/...`` entries into ``extras`` (0-dim tensors);
        every :data:`CHECK_INTERVAL` updates, raise a deferred input error."""
        self.adr_parts.adr.publish(report, self.extras)

    # ------------------------------------------------------------------ domain randomization

    def get_current_adr_params(self, dr_params: Mapping[str, Any]) -> DRParams:
        """See :meth:`DomainRandomization.current_adr_params`."""
        return self.adr_parts.dr.current_adr_params(dr_params)

    def get_dr_params_by_env_id(
        self, env_id: int, default_dr_params: DRParams, current_adr_params: DRParams
    ) -> DRParams:
        """See :meth:`DomainRandomization.dr_params_by_env_id`."""
        return self.adr_parts.dr.dr_params_by_env_id(env_id, default_dr_params, current_adr_params)

    def apply_randomizations(
        self,
        dr_params: Mapping[str, Any],
        randomize_buf: torch.Tensor | None = None,
        adr_objective: torch.Tensor | None = None,
        randomisation_callback: RandomisationCallback | None = None,
    ) -> None:
        """See :meth:`DomainRandomization.apply`."""
        self.adr_parts.dr.apply(dr_params, randomize_buf, adr_objective, randomisation_callback)

    # ------------------------------------------------------------------ env state

    def take_env_state(
        self, env_state: Mapping[str, Any] | None, *keys: str
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """See :meth:`EnvStateKeeper.take`."""
        return self.adr_parts.env_state.take(env_state, *keys)

    def get_env_state(self) -> dict[str, Any]:
        """See :meth:`EnvStateKeeper.save`."""
        return self.adr_parts.env_state.save()

    def set_env_state(self, env_state: Mapping[str, Any] | None) -> None:
        """See :meth:`EnvStateKeeper.restore`."""
        self.adr_parts.env_state.restore(env_state)
