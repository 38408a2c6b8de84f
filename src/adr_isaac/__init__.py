"""Isaac Gym adapter: IsaacGymEnvs' ``ADRVecTask`` API over the ADR engine.

Everything here works without a simulator except ``adr_isaac.ADRVecTask``
(module :mod:`adr_isaac.isaacgym_task`), which is imported on first access and
raises an :class:`ImportError` naming what to install when Isaac Gym or
IsaacGymEnvs is missing. ``import adr_isaac`` never imports Isaac Gym.
"""

from typing import TYPE_CHECKING

from adr_isaac.actor_props import SimContext
from adr_isaac.adr_task import ADRTaskMixin
from adr_isaac.compat import ADRCompat, ADRExtras
from adr_isaac.env_state import restore_tensor
from adr_isaac.randomizer import PropertyRandomizer
from adr_isaac.reference import ReferenceADR, RolloutWorkerModes
from adr_isaac.task_settings import TaskSettings
from adr_isaac.task_state import DR_KEY

if TYPE_CHECKING:
    from adr_isaac.isaacgym_task import ADRVecTask as ADRVecTask

# ADRVecTask is left out of __all__ so that `from adr_isaac import *` works without Isaac Gym.
__all__ = [
    "DR_KEY",
    "ADRCompat",
    "ADRExtras",
    "ADRTaskMixin",
    "PropertyRandomizer",
    "ReferenceADR",
    "RolloutWorkerModes",
    "SimContext",
    "TaskSettings",
    "restore_tensor",
]


def __getattr__(name: str) -> object:
    if name == "ADRVecTask":
        from adr_isaac.isaacgym_task import ADRVecTask

        return ADRVecTask
    raise AttributeError(f"module 'adr_isaac' has no attribute {name!r}")
