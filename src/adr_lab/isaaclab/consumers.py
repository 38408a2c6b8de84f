"""Isaac Lab terms that read ADR tensor parameters no binding writes: pushes.

A push strength is no field of the model: the event term that pushes reads
each env's value with :func:`~adr_lab.isaaclab.adr_value` and draws its
random kick from the ADR term's own generator (``core.noise``), whose state
is checkpointed with the ADR state.
"""

from __future__ import annotations

import torch
from isaaclab.envs import ManagerBasedRLEnv
from isaaclab.managers import EventTermCfg, SceneEntityCfg

from adr_lab.core import ManagerEnvIds, resolve_env_ids
from adr_lab.isaaclab.term import adr_term

__all__ = ["adr_push", "push_event"]

PLANAR = 2
"""The root velocity's components a push kicks: world x and y."""


def adr_push(
    env: ManagerBasedRLEnv,
    env_ids: ManagerEnvIds,
    param: str,
    asset_cfg: SceneEntityCfg,
    adr_name: str = "adr",
) -> None:
    """An interval event: add a planar kick, uniform in ``[-s, s]`` per axis, to the root velocity.

    ``s`` is each pushed env's value of the ADR tensor parameter ``param``
    (m/s); the kick is added to the root's linear x/y velocity in the world
    frame, as Isaac Lab's ``push_by_setting_velocity`` adds its draw.
    Selects from the live ``(N,)`` values (no host read of the ids).
    """
    term = adr_term(env, adr_name)
    ids = resolve_env_ids(env_ids, env.num_envs, term.engine.device)
    strength = term.engine.get(param).index_select(0, ids).float().unsqueeze(1)
    u = torch.rand((ids.numel(), PLANAR), generator=term.core.noise, device=term.engine.device)
    asset = env.scene[asset_cfg.name]
    velocity = asset.data.root_vel_w.torch[ids].clone()
    velocity[:, :PLANAR] += ((2.0 * u - 1.0) * strength).to(velocity.device)
    asset.write_root_velocity_to_sim_index(root_velocity=velocity, env_ids=ids)


def push_event(
    param: str, interval_s: tuple[float, float], asset_cfg: SceneEntityCfg | None = None
) -> EventTermCfg:
    """``EventTermCfg`` of :func:`adr_push` every ``interval_s`` seconds (per env) on
    ``asset_cfg`` (default the scene's ``robot``)."""
    return EventTermCfg(
        func=adr_push,
        mode="interval",
        interval_range_s=interval_s,
        params={"param": param, "asset_cfg": asset_cfg or SceneEntityCfg("robot")},
    )
