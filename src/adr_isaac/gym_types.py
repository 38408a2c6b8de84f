"""A minimal typed description of the Isaac Gym API subset that the adapter calls.

Isaac Gym ships no type information, and the PyPI ``isaacgym-stubs`` package
does not parse, so the adapter is type-checked against these Protocols
instead. They describe exactly the calls made by
:class:`~adr_isaac.randomizer.PropertyRandomizer` and
:class:`~adr_isaac.adr_task.ADRTaskMixin`; nothing else of Isaac Gym is used.
The real objects (``gymapi.acquire_gym()``, the ``gymapi`` module) match
them structurally and are cast to them where they enter typed code.

Handles (sims, envs) are opaque to the adapter and typed ``object``; actor
handles are ints, as in Isaac Gym.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy.typing as npt

__all__ = [
    "DofProperties",
    "EnvHandle",
    "Gym",
    "GymApi",
    "RigidBodyProperties",
    "RigidShapeProperties",
    "SimHandle",
    "SimParams",
    "Vec3",
]

SimHandle = object
"""An Isaac Gym ``Sim`` (opaque)."""

EnvHandle = object
"""An Isaac Gym ``Env`` (opaque)."""

DofProperties = npt.NDArray[Any]
"""What ``get_actor_dof_properties`` returns: a numpy structured array with
one record per DOF and fields ``stiffness``, ``damping``, ``friction``,
``armature``, ``effort``, ``lower``, ``upper``, ``velocity``, ... (float32)."""


class Vec3(Protocol):
    """``gymapi.Vec3``."""

    x: float
    y: float
    z: float


class SimParams(Protocol):
    """``gymapi.SimParams``: the adapter reads and writes ``gravity`` only."""

    gravity: Vec3


class RigidBodyProperties(Protocol):
    """``gymapi.RigidBodyProperties``; DR attributes are read and written by name
    (``mass`` in the DeXtreme block)."""

    mass: float


class RigidShapeProperties(Protocol):
    """``gymapi.RigidShapeProperties``; DR attributes are read and written by
    name (``friction``, ``restitution`` in the DeXtreme block)."""

    friction: float
    restitution: float


class Gym(Protocol):
    """The methods of ``gymapi.Gym`` (``gymapi.acquire_gym()``) the adapter calls."""

    def get_frame_count(self, sim: SimHandle, /) -> int:
        """Number of simulation frames so far."""
        ...

    def find_actor_handle(self, env: EnvHandle, name: str, /) -> int:
        """Handle of the actor called ``name`` in ``env``."""
        ...

    def get_actor_dof_properties(self, env: EnvHandle, actor: int, /) -> DofProperties:
        """DOF properties of an actor (a copy)."""
        ...

    def set_actor_dof_properties(self, env: EnvHandle, actor: int, props: DofProperties, /) -> bool:
        """Write DOF properties of an actor."""
        ...

    def get_actor_rigid_body_properties(
        self, env: EnvHandle, actor: int, /
    ) -> list[RigidBodyProperties]:
        """Rigid body properties of an actor, one per body (copies)."""
        ...

    def set_actor_rigid_body_properties(
        self,
        env: EnvHandle,
        actor: int,
        props: list[RigidBodyProperties],
        recompute_inertia: bool = False,
        /,
    ) -> bool:
        """Write rigid body properties of an actor."""
        ...

    def get_actor_rigid_shape_properties(
        self, env: EnvHandle, actor: int, /
    ) -> list[RigidShapeProperties]:
        """Rigid shape properties of an actor, one per shape (copies)."""
        ...

    def set_actor_rigid_shape_properties(
        self, env: EnvHandle, actor: int, props: list[RigidShapeProperties], /
    ) -> bool:
        """Write rigid shape properties of an actor."""
        ...

    def set_actor_scale(self, env: EnvHandle, actor: int, scale: float, /) -> bool:
        """Scale an actor (Isaac Gym applies it before the sim is prepared)."""
        ...

    def get_actor_rigid_body_count(self, env: EnvHandle, actor: int, /) -> int:
        """Number of rigid bodies of an actor."""
        ...

    def set_rigid_body_color(
        self, env: EnvHandle, actor: int, body: int, mesh_type: int, color: Vec3, /
    ) -> None:
        """Colour one rigid body of an actor."""
        ...

    def get_sim_params(self, sim: SimHandle, /) -> SimParams:
        """The simulation parameters (a copy)."""
        ...

    def set_sim_params(self, sim: SimHandle, params: SimParams, /) -> None:
        """Write the simulation parameters."""
        ...


class GymApi(Protocol):
    """The parts of the ``isaacgym.gymapi`` module the adapter uses (colour DR only)."""

    MESH_VISUAL: int

    def Vec3(self, x: float, y: float, z: float, /) -> Vec3:
        """Make a ``gymapi.Vec3``."""
        ...
