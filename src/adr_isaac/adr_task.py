"""IsaacGymEnvs' ``ADRVecTask`` as a simulator-free mixin over the ADR engine.

:class:`ADRTaskMixin` goes in front of a ``VecTaskDextreme``-like simulator
base (``class ADRVecTask(ADRTaskMixin, VecTaskDextreme)``, see
:mod:`adr_isaac.isaacgym_task`). It keeps the reference's constructor, method
names and attributes (one definition of them: :mod:`adr_isaac.reference`), so
a DeXtreme-style task written for IsaacGymEnvs runs on
:class:`~adr_domain.ADREngine` by changing its import, and it adds:

* start-up validation of the DR dict and of every ADR ``range_path``
  (:mod:`adr_isaac.task_settings`);
* domain randomization from one saved random stream, with the values written
  to the simulator remembered per env (:mod:`adr_isaac.task_dr`,
  :mod:`adr_isaac.randomizer`);
* hierarchical ``get_env_state`` / ``set_env_state`` that restore everything,
  write the restored physical properties back to the simulator, and keep
  episodes cut short by a restore out of the ADR statistics
  (:mod:`adr_isaac.task_state`).

The mixin touches the simulator only through ``self.gym`` (typed as
:class:`~adr_isaac.gym_types.Gym`), ``self.sim`` and ``self.envs``, which the
simulator base and the task provide.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch

from adr_domain import ADREngine, UpdateReport, adr_log_keys, adr_log_tensors
from adr_isaac.dr_params import DRParams
from adr_isaac.randomizer import PropertyRandomizer, RandomisationCallback
from adr_isaac.reference import RolloutWorkerModes
from adr_isaac.task_dr import WorkerSnapshot
from adr_isaac.task_settings import TaskSettings
from adr_isaac.task_state import TaskEnvState

__all__ = ["CHECK_INTERVAL", "ADRTaskMixin", "RolloutWorkerModes", "TaskSettings"]

log = logging.getLogger(__name__)

_DR_SEED_OFFSET = 0x5DEECE66D  # keeps the DR stream apart from the engine's streams

CHECK_INTERVAL = 100
"""ADR updates between two ``engine.check()`` calls (one host sync each; the
reference logs its ADR entries at the same interval)."""


class ADRTaskMixin(TaskEnvState):
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

    Class attributes:
        gym_api: the ``gymapi`` module, for colour randomization (None skips it).
        restores_episode_state: set True in a task whose ``set_env_state``
            restores its episode buffers (progress, resets, objective), so that
            episodes in flight at save time simply continue. With False (the
            default, like IsaacGymEnvs' tasks) every env's current episode is
            taken to restart at a restore, and its end is not fed to ADR.
        env_state_keys: entries a level's ``get_env_state`` adds and its
            ``set_env_state`` does not take (restored by attribute).
    """

    extras: dict[str, Any]

    def __init__(
        self,
        config: Mapping[str, Any],
        rl_device: str,
        sim_device: str,
        graphics_device_id: int,
        headless: bool,
        use_dict_obs: bool = False,
    ) -> None:
        settings = TaskSettings.from_config(config, sim_device)
        n = settings.num_envs
        self._settings = settings
        self.use_adr = settings.adr_cfg is not None
        self._engine = (
            ADREngine(settings.adr_cfg, n, device=settings.device, seed=settings.seed)
            if settings.adr_cfg is not None
            else None
        )
        self.last_adr_report: UpdateReport | None = None
        self.all_env_ids = torch.arange(n, device=settings.device)
        self._randomizer = PropertyRandomizer(n, settings.seed + _DR_SEED_OFFSET)
        self._dr_source = settings.dr_source
        self._dr_checked: DRParams | None = settings.dr_params
        self._dr_callback: RandomisationCallback | None = None
        self._frame_offset = 0
        self._pending_resync: bool | None = None  # None: nothing; True: exact; False: redraw
        self._restarted = torch.zeros(n, dtype=torch.bool, device=settings.device)
        self._any_restarted = False
        self._snapshot: WorkerSnapshot | None = None
        self._env_state_taken: set[str] = set()
        # The base sets these too; they exist early so create_sim may randomize.
        self.extras = {}
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
        if self._engine is None:
            raise AttributeError("adr_engine: ADR is off (task.adr.use_adr is false)")
        return self._engine

    def _after_adr_update(self, report: UpdateReport) -> None:
        """Write the reference's ``adr/...`` entries into ``extras`` (0-dim tensors);
        every :data:`CHECK_INTERVAL` updates, raise a deferred input error."""
        self.last_adr_report = report
        if report.step % CHECK_INTERVAL == 0:
            self.adr_engine.check()
        self.extras.update(
            zip(adr_log_keys(report.param_names), adr_log_tensors(report), strict=True)
        )
        if log.isEnabledFor(logging.INFO):
            moved = report.moved_bounds()
            if moved:
                log.info("ADR update %d moved %s", report.step, ", ".join(moved))
