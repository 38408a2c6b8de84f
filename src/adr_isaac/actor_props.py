"""One actor's properties in the simulator: finding the actor, reading and
writing a property list, and the asset's original values remembered.

:class:`~adr_isaac.randomizer.PropertyRandomizer` reaches the simulator only
through these and a :class:`SimContext`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from adr_isaac.dr_params import ACTOR_PROPERTY_GROUPS
from adr_isaac.gym_types import DofProperties, EnvHandle, Gym, GymApi, SimHandle, SimParams

__all__ = [
    "OriginalProperties",
    "SimContext",
    "actor_handle",
    "get_property_list",
    "set_property_list",
]


@attrs.frozen
class SimContext:
    """What the randomizer needs of the simulator.

    Attributes:
        gym: the Isaac Gym interface.
        sim: the sim handle.
        envs: env handles, indexed by env id.
        gym_api: the ``gymapi`` module (colours only); None skips colour DR.
    """

    gym: Gym
    sim: SimHandle
    envs: Sequence[EnvHandle]
    gym_api: GymApi | None = None


def actor_handle(ctx: SimContext, env: EnvHandle, env_id: int, actor: str) -> int:
    """The handle of the actor named ``actor`` in one env.

    Raises:
        ValueError: the env has no such actor.
    """
    handle = ctx.gym.find_actor_handle(env, actor)
    if handle < 0:
        raise ValueError(
            f"env {env_id} has no actor {actor!r} (named in randomization_params.actor_params)"
        )
    return handle


def get_property_list(ctx: SimContext, env: EnvHandle, handle: int, group: str) -> list[Any]:
    """An actor's rigid body or rigid shape properties (one record per body or shape)."""
    if group == "rigid_body_properties":
        return list(ctx.gym.get_actor_rigid_body_properties(env, handle))
    if group == "rigid_shape_properties":
        return list(ctx.gym.get_actor_rigid_shape_properties(env, handle))
    raise ValueError(f"unsupported property group {group!r} (supported: {ACTOR_PROPERTY_GROUPS})")


def set_property_list(
    ctx: SimContext, env: EnvHandle, handle: int, group: str, props: list[Any]
) -> None:
    """Write back what :func:`get_property_list` read (and the task changed)."""
    if group == "rigid_body_properties":
        ctx.gym.set_actor_rigid_body_properties(env, handle, props, True)
    else:
        ctx.gym.set_actor_rigid_shape_properties(env, handle, props)


class OriginalProperties:
    """The asset's values, remembered the first time each is seen, per actor and
    property group (IsaacGymEnvs keys them by property group only, so after
    the first randomization one actor's bodies are scaled from another actor's
    originals)."""

    def __init__(self) -> None:
        self._dof: dict[str, DofProperties] = {}
        self._lists: dict[tuple[str, str], list[dict[str, float]]] = {}
        self._gravity: tuple[float, float, float] | None = None

    def gravity(self, prop: SimParams) -> tuple[float, float, float]:
        """The original gravity (taken from ``prop`` the first time)."""
        if self._gravity is None:
            g = prop.gravity
            self._gravity = (float(g.x), float(g.y), float(g.z))
        return self._gravity

    def dof(self, actor: str, dof: DofProperties) -> DofProperties:
        """An actor's original DOF properties (a copy of ``dof`` the first time)."""
        original = self._dof.get(actor)
        if original is None:
            original = self._dof[actor] = dof.copy()
        return original

    def table(
        self, actor: str, group: str, props: Sequence[object], names: list[str] | None
    ) -> list[dict[str, float]]:
        """An actor's original ``names`` attributes of a property list, one row per record."""
        key = (actor, group)
        table = self._lists.get(key)
        if table is None:
            table = [{a: float(getattr(p, a)) for a in names or []} for p in props]
            self._lists[key] = table
        return table
