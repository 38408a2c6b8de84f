"""Apply per-env DR dicts to the simulator's actors, reproducibly.

:class:`PropertyRandomizer` does what IsaacGymEnvs' ``apply_randomizations``
does to actor properties and gravity, with three changes that make a run
resumable exactly:

* every random number comes from one ``torch.Generator`` whose state is
  saved (IsaacGymEnvs draws from numpy's and Python's global generators);
* every value written to the simulator is remembered per env (``values``),
  so a restored run can write the very same properties back;
* original (asset) properties are remembered per actor and property group
  (IsaacGymEnvs keys them by property group only, so after the first
  randomization one actor's bodies are scaled from another actor's
  originals).

Only actor colours (cosmetic) come from a second, unsaved generator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import torch

from adr_isaac.dr_params import ACTOR_PROPERTY_GROUPS
from adr_isaac.dr_sampling import bucketize, combine, draw_samples
from adr_isaac.gym_types import DofProperties, EnvHandle, Gym, GymApi, SimHandle, SimParams
from adr_isaac.randomizer_state import RandomizerMemory

__all__ = [
    "PropertyRandomizer",
    "RandomisationCallback",
    "SimContext",
]

log = logging.getLogger(__name__)

RandomisationCallback = Callable[..., object]
"""The task's ``randomisation_callback(param_name, param_val, env_id=None, actor=None)``."""


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


class PropertyRandomizer(RandomizerMemory):
    """Per-env actor-property and gravity randomization with saved state
    (:class:`~adr_isaac.randomizer_state.RandomizerMemory`: the stream, the
    values written, ``state_dict`` / ``stage`` / ``commit``).

    Args:
        num_envs: number of envs.
        seed: seed of the randomization stream.
    """

    def __init__(self, num_envs: int, seed: int) -> None:
        super().__init__(num_envs, seed)
        self._colors = torch.Generator()
        self._colors.manual_seed((seed + 1) % (2**63))
        self._dof_originals: dict[str, DofProperties] = {}
        self._list_originals: dict[tuple[str, str], list[dict[str, float]]] = {}
        self._gravity_original: tuple[float, float, float] | None = None
        self._warned_colors = False

    # ------------------------------------------------------------------ randomizing

    def randomize_sim_params(
        self,
        ctx: SimContext,
        entries: Mapping[str, Any],
        step: int,
        callback: RandomisationCallback | None,
    ) -> None:
        """Randomize gravity around its original value.

        Args:
            ctx: the simulator.
            entries: the DR dict's ``sim_params`` block.
            step: current frame (for schedules).
            callback: called as ``callback("gravity", gravity)``.
        """
        entry = entries.get("gravity")
        if entry is None:
            return
        prop = ctx.gym.get_sim_params(ctx.sim)
        original = torch.tensor(self._gravity_original_of(prop), dtype=torch.float64)
        samples = draw_samples(entry, 3, step, self.generator)
        self.gravity = combine(original, samples, entry["operation"])
        self._write_gravity(ctx, prop, callback)

    def randomize_env(
        self,
        ctx: SimContext,
        env_id: int,
        actor_params: Mapping[str, Any],
        defaults: Mapping[str, Any],
        step: int,
        *,
        setup_phase: bool,
        callback: RandomisationCallback | None,
    ) -> None:
        """Randomize every actor of one env from its DR dict.

        Args:
            ctx: the simulator.
            env_id: the env.
            actor_params: this env's ``actor_params`` block (ADR ranges patched in).
            defaults: the unpatched ``actor_params`` block (material buckets
                come from it, so they do not move with the ADR ranges).
            step: current frame (for schedules).
            setup_phase: True before the sim is prepared; ``setup_only``
                entries are applied only then.
            callback: called as ``callback(attr, values, actor=, env_id=)``
                with a float64 numpy array per applied attribute.
        """
        env = ctx.envs[env_id]
        for actor, groups in actor_params.items():
            handle = _actor_handle(ctx, env, env_id, actor)
            for group, spec in groups.items():
                if group == "color":
                    if spec:
                        self._randomize_colors(ctx, env, handle)
                    continue
                if group == "scale":
                    if spec.get("setup_only", False) and not setup_phase:
                        continue
                    sample = draw_samples(spec, 1, step, self.generator)
                    scale = combine(torch.ones(1, dtype=torch.float64), sample, spec["operation"])
                    self._write_scale(ctx, env, env_id, actor, handle, scale, callback)
                    continue
                entries = [
                    (attr, entry)
                    for attr, entry in spec.items()
                    if setup_phase or not entry.get("setup_only", False)
                ]
                if not entries:
                    continue
                default_group = defaults.get(actor, {}).get(group, {})
                self._randomize_group(
                    ctx, env, env_id, actor, handle, group, entries, default_group, step, callback
                )

    def _randomize_group(
        self,
        ctx: SimContext,
        env: EnvHandle,
        env_id: int,
        actor: str,
        handle: int,
        group: str,
        entries: list[tuple[str, Mapping[str, Any]]],
        default_group: Mapping[str, Any],
        step: int,
        callback: RandomisationCallback | None,
    ) -> None:
        written: dict[str, torch.Tensor] = {}
        if group == "dof_properties":
            dof = ctx.gym.get_actor_dof_properties(env, handle)
            originals = self._dof_original_of(actor, dof)
            for attr, entry in entries:
                base = torch.from_numpy(np.array(originals[attr], dtype=np.float64))
                new = self._new_values(entry, default_group.get(attr), base, step)
                dof[attr] = new.numpy()
                written[attr] = new
            ctx.gym.set_actor_dof_properties(env, handle, dof)
        else:
            props = _property_list(ctx, env, handle, group)
            table = self._list_original_of(actor, group, props, list(default_group) or None)
            if len(props) != len(table):
                raise ValueError(
                    f"actor {actor!r} of env {env_id} has {len(props)} {group}, "
                    f"the first env had {len(table)}"
                )
            for attr, entry in entries:
                base = torch.tensor([row[attr] for row in table], dtype=torch.float64)
                new = self._new_values(entry, default_group.get(attr), base, step)
                for p, v in zip(props, new.tolist(), strict=True):
                    setattr(p, attr, v)
                written[attr] = new
            _set_property_list(ctx, env, handle, group, props)
        for attr, new in written.items():
            self._record(f"actor_params.{actor}.{group}.{attr}", env_id, new)
            if callback is not None:
                callback(attr, new.numpy(), actor=actor, env_id=env_id)

    def _new_values(
        self,
        entry: Mapping[str, Any],
        default_entry: Mapping[str, Any] | None,
        base: torch.Tensor,
        step: int,
    ) -> torch.Tensor:
        samples = draw_samples(entry, base.numel(), step, self.generator)
        return bucketize(combine(base, samples, entry["operation"]), default_entry)

    def _randomize_colors(self, ctx: SimContext, env: EnvHandle, handle: int) -> None:
        api = ctx.gym_api
        if api is None:
            if not self._warned_colors:
                log.warning("colour randomization skipped: no gymapi module was given")
                self._warned_colors = True
            return
        for body in range(ctx.gym.get_actor_rigid_body_count(env, handle)):
            r, g, b = torch.rand(3, generator=self._colors, dtype=torch.float64).tolist()
            ctx.gym.set_rigid_body_color(env, handle, body, api.MESH_VISUAL, api.Vec3(r, g, b))

    # ------------------------------------------------------------------ writing back

    def reapply_sim_params(self, ctx: SimContext, callback: RandomisationCallback | None) -> None:
        """Write the remembered gravity back to the simulator (no random draws)."""
        if self.gravity is None:
            return
        prop = ctx.gym.get_sim_params(ctx.sim)
        self._gravity_original_of(prop)
        self._write_gravity(ctx, prop, callback)

    def reapply_env(
        self,
        ctx: SimContext,
        env_id: int,
        actor_params: Mapping[str, Any],
        callback: RandomisationCallback | None,
    ) -> None:
        """Write one env's remembered values back to its actors (no random draws).

        ``setup_only`` entries (applied before the sim was prepared) and
        colours are left as they are.

        Args:
            ctx: the simulator.
            env_id: the env.
            actor_params: the DR dict's ``actor_params`` block (which
                attributes exist and which are ``setup_only``).
            callback: called as in :meth:`randomize_env`.
        """
        env = ctx.envs[env_id]
        for actor, groups in actor_params.items():
            handle = _actor_handle(ctx, env, env_id, actor)
            for group, spec in groups.items():
                if group == "color":
                    continue
                if group == "scale":
                    row = self._row(f"actor_params.{actor}.scale", env_id)
                    if row is not None and not spec.get("setup_only", False):
                        self._write_scale(ctx, env, env_id, actor, handle, row, callback)
                    continue
                rows = {
                    attr: row
                    for attr, entry in spec.items()
                    if not entry.get("setup_only", False)
                    and (row := self._row(f"actor_params.{actor}.{group}.{attr}", env_id))
                    is not None
                }
                if rows:
                    self._write_group(ctx, env, actor, handle, group, rows, spec)
                    if callback is not None:
                        for attr, row in rows.items():
                            callback(attr, row.numpy(), actor=actor, env_id=env_id)

    def _write_group(
        self,
        ctx: SimContext,
        env: EnvHandle,
        actor: str,
        handle: int,
        group: str,
        rows: dict[str, torch.Tensor],
        spec: Mapping[str, Any],
    ) -> None:
        if group == "dof_properties":
            dof = ctx.gym.get_actor_dof_properties(env, handle)
            self._dof_original_of(actor, dof)
            for attr, row in rows.items():
                dof[attr] = row.numpy()
            ctx.gym.set_actor_dof_properties(env, handle, dof)
            return
        props = _property_list(ctx, env, handle, group)
        self._list_original_of(actor, group, props, list(spec))
        for attr, row in rows.items():
            for p, v in zip(props, row.tolist(), strict=True):
                setattr(p, attr, v)
        _set_property_list(ctx, env, handle, group, props)

    # ------------------------------------------------------------------ helpers

    def _write_scale(
        self,
        ctx: SimContext,
        env: EnvHandle,
        env_id: int,
        actor: str,
        handle: int,
        scale: torch.Tensor,
        callback: RandomisationCallback | None,
    ) -> None:
        ctx.gym.set_actor_scale(env, handle, float(scale[0]))
        self._record(f"actor_params.{actor}.scale", env_id, scale)
        if callback is not None:
            callback("scale", scale.numpy(), actor=actor, env_id=env_id)

    def _write_gravity(
        self, ctx: SimContext, prop: SimParams, callback: RandomisationCallback | None
    ) -> None:
        if self.gravity is None:
            return
        x, y, z = self.gravity.tolist()
        prop.gravity.x, prop.gravity.y, prop.gravity.z = x, y, z
        ctx.gym.set_sim_params(ctx.sim, prop)
        if callback is not None:
            callback("gravity", prop.gravity)

    def _gravity_original_of(self, prop: SimParams) -> tuple[float, float, float]:
        if self._gravity_original is None:
            g = prop.gravity
            self._gravity_original = (float(g.x), float(g.y), float(g.z))
        return self._gravity_original

    def _dof_original_of(self, actor: str, dof: DofProperties) -> DofProperties:
        original = self._dof_originals.get(actor)
        if original is None:
            original = self._dof_originals[actor] = dof.copy()
        return original

    def _list_original_of(
        self, actor: str, group: str, props: Sequence[object], names: list[str] | None
    ) -> list[dict[str, float]]:
        key = (actor, group)
        table = self._list_originals.get(key)
        if table is None:
            table = [{a: float(getattr(p, a)) for a in names or []} for p in props]
            self._list_originals[key] = table
        return table


def _actor_handle(ctx: SimContext, env: EnvHandle, env_id: int, actor: str) -> int:
    """The handle of ``actor`` in env ``env_id``.

    Raises:
        ValueError: the env has no such actor.
    """
    handle = ctx.gym.find_actor_handle(env, actor)
    if handle < 0:
        raise ValueError(
            f"env {env_id} has no actor {actor!r} (named in randomization_params.actor_params)"
        )
    return handle


def _property_list(ctx: SimContext, env: EnvHandle, handle: int, group: str) -> list[Any]:
    """The actor's properties of one group (rigid bodies or rigid shapes)."""
    if group == "rigid_body_properties":
        return list(ctx.gym.get_actor_rigid_body_properties(env, handle))
    if group == "rigid_shape_properties":
        return list(ctx.gym.get_actor_rigid_shape_properties(env, handle))
    raise ValueError(f"unsupported property group {group!r} (supported: {ACTOR_PROPERTY_GROUPS})")


def _set_property_list(
    ctx: SimContext, env: EnvHandle, handle: int, group: str, props: list[Any]
) -> None:
    """Write back a list from :func:`_property_list`."""
    if group == "rigid_body_properties":
        ctx.gym.set_actor_rigid_body_properties(env, handle, props, True)
    else:
        ctx.gym.set_actor_rigid_shape_properties(env, handle, props)
