"""What the parts of the Isaac Gym task base read and write on the task itself.

An IsaacGymEnvs task is one object: the simulator base (``VecTaskDextreme``)
sets ``gym``, ``sim_initialized``, ``reset_buf``, ...; the task's
``create_sim`` sets ``sim`` and ``envs``; the reference's ADR code reads and
writes ``first_randomization``, ``last_step`` and ``last_rand_step`` on it,
and the task reads them back; the reference's ``apply_randomizations`` calls
``adr_update``, ``get_current_adr_params`` and ``get_dr_params_by_env_id``
on the task, which a task may extend. :class:`TaskHost` names exactly these. The parts
of :class:`~adr_isaac.adr_task.ADRTaskMixin` (its domain randomization and
its env-state keeper) are given the task as a :class:`TaskHost`, as Isaac
Lab's managers are given their env, and read it when they run (after the
simulator base has set it up).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import torch

from adr_domain import EnvIds, UpdateReport
from adr_isaac.dr_params import DRParams
from adr_isaac.gym_types import EnvHandle, Gym, GymApi, SimHandle

__all__ = ["TaskHost"]


class TaskHost(Protocol):
    """The task, as its ADR parts see it.

    Attributes:
        gym: the Isaac Gym interface (simulator base).
        sim: the sim handle (the task's ``create_sim``).
        envs: env handles by env id (the task's ``create_sim``).
        gym_api: the ``gymapi`` module, None to skip colour randomization.
        first_randomization: True until the first randomization (shared with
            the simulator base).
        sim_initialized: True once the simulator base prepared the sim.
        last_step: the frame of the latest randomization.
        last_rand_step: the frame of the latest non-env (gravity) randomization.
        reset_buf: ``(num_envs,)`` envs resetting (simulator base).
        randomize_buf: ``(num_envs,)`` frames since each env's last DR (simulator base).
        restores_episode_state: whether the task's ``set_env_state`` restores
            its episode buffers (see :class:`~adr_isaac.adr_task.ADRTaskMixin`).
    """

    gym: Gym
    sim: SimHandle
    envs: Sequence[EnvHandle]
    first_randomization: bool
    sim_initialized: bool
    last_step: int
    last_rand_step: int
    reset_buf: torch.Tensor
    randomize_buf: torch.Tensor

    @property
    def gym_api(self) -> GymApi | None:
        """The ``gymapi`` module (a class attribute of the task)."""

    @property
    def restores_episode_state(self) -> bool:
        """Whether the task restores its episode buffers (a class attribute)."""

    # The reference's methods that its apply_randomizations calls on the task
    # (a task may extend them).

    def adr_update(self, rand_envs: EnvIds, adr_objective: torch.Tensor) -> UpdateReport:
        """One ADR update."""

    def get_current_adr_params(self, dr_params: Mapping[str, Any]) -> DRParams:
        """The DR dict with the current ADR ranges."""

    def get_dr_params_by_env_id(
        self, env_id: int, default_dr_params: DRParams, current_adr_params: DRParams
    ) -> DRParams:
        """The DR dict of one env."""
