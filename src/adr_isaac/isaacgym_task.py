"""``ADRVecTask`` on IsaacGymEnvs' ``VecTaskDextreme``: the drop-in base class.

Importing this module needs Isaac Gym and IsaacGymEnvs; without them it
raises an :class:`ImportError` saying what to install. Everything else in
:mod:`adr_isaac` works without a simulator.

Isaac Gym must be imported before torch: in a script of your own, put
``import isaacgym`` first (IsaacGymEnvs' ``train.py`` already does).
"""

from __future__ import annotations

from typing import ClassVar, cast

from adr_isaac.adr_task import ADRTaskMixin
from adr_isaac.gym_types import GymApi

__all__ = ["INSTALL_HINT", "ADRVecTask"]

INSTALL_HINT = (
    "adr_isaac.ADRVecTask needs Isaac Gym (Preview 4, from NVIDIA: "
    "https://developer.nvidia.com/isaac-gym, then `pip install -e isaacgym/python`) and "
    "IsaacGymEnvs (`pip install -e IsaacGymEnvs`); import isaacgym before torch"
)
"""What the ImportError says when Isaac Gym or IsaacGymEnvs is missing."""

try:
    from isaacgym import gymapi
    from isaacgymenvs.tasks.dextreme.adr_vec_task import VecTaskDextreme
except ImportError as exc:
    raise ImportError(f"{INSTALL_HINT} (the import failed with: {exc})") from exc


class ADRVecTask(ADRTaskMixin, VecTaskDextreme):  # type: ignore[misc]
    """IsaacGymEnvs' ``ADRVecTask``, on the ADR engine of this project.

    Subclass it exactly as the reference (see ``docs/porting_guide.md``);
    everything is implemented by :class:`~adr_isaac.adr_task.ADRTaskMixin`
    and its parts.
    """

    gym_api: ClassVar[GymApi | None] = cast(GymApi, gymapi)
