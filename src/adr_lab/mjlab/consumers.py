"""mjlab terms that read ADR tensor parameters: action noise, observation noise, pushes.

Not every ADR parameter is a model field: noise scales, delays and
disturbance strengths are read by the terms that use them, with
``adr_engine(env).get(name, env_ids)``. Their per-step random draws come from
the ADR term's own generator (``core.noise``), whose state is checkpointed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from mjlab.entity import Entity
from mjlab.envs import ManagerBasedRlEnv
from mjlab.envs.mdp.actions import JointEffortAction, JointEffortActionCfg
from mjlab.managers.event_manager import EventTermCfg
from mjlab.managers.observation_manager import ObservationTermCfg
from mjlab.managers.scene_entity_config import SceneEntityCfg

from adr_lab.core import ManagerEnvIds, resolve_env_ids
from adr_lab.mjlab.terms import adr_term

__all__ = [
    "AdrNoisyEffortAction",
    "AdrNoisyEffortActionCfg",
    "adr_observation_noise",
    "adr_push",
    "noisy_observation",
    "push_event",
]


def _noise(env: ManagerBasedRlEnv, adr_name: str, param: str, like: torch.Tensor) -> torch.Tensor:
    """Gaussian noise shaped like ``like`` (``(N, D)``), each env's row scaled by ``param``."""
    term = adr_term(env, adr_name)
    std = term.engine.get(param).to(like.dtype).unsqueeze(-1)
    draw = torch.randn(like.shape, generator=term.core.noise, device=like.device, dtype=like.dtype)
    return std * draw


@dataclass(kw_only=True)
class AdrNoisyEffortActionCfg(JointEffortActionCfg):
    """Joint effort actions with Gaussian noise whose per-env std is an ADR parameter."""

    noise_param: str
    """The ADR tensor parameter holding each env's noise std (in action units)."""
    adr_name: str = "adr"
    """The ADR curriculum term's name."""

    def build(self, env: ManagerBasedRlEnv) -> AdrNoisyEffortAction:
        """The action term."""
        return AdrNoisyEffortAction(self, env)


class AdrNoisyEffortAction(JointEffortAction):
    """:class:`JointEffortAction` that adds ADR-scaled noise to the raw actions."""

    cfg: AdrNoisyEffortActionCfg

    def process_actions(self, actions: torch.Tensor) -> None:
        """Add noise to ``(N, D)`` raw actions, then scale and offset them as usual."""
        noisy = actions + _noise(self._env, self.cfg.adr_name, self.cfg.noise_param, actions)
        super().process_actions(noisy)


def adr_observation_noise(
    env: ManagerBasedRlEnv,
    source: Callable[..., torch.Tensor],
    param: str,
    adr_name: str = "adr",
    **params: Any,
) -> torch.Tensor:
    """An observation term: ``source(env, **params)`` plus noise whose per-env std is ``param``.

    Use as ``ObservationTermCfg(func=adr_observation_noise, params={"source":
    joint_pos_rel, "param": "obs_noise", "asset_cfg": ...})``. While the env is
    being built (the observation manager probes shapes before the ADR term
    exists) it returns the clean observation.
    """
    clean = source(env, **params)
    if getattr(env, "curriculum_manager", None) is None:
        return clean
    return clean + _noise(env, adr_name, param, clean)


def noisy_observation(
    source: Callable[..., torch.Tensor], param: str, **params: Any
) -> ObservationTermCfg:
    """``ObservationTermCfg`` of ``source`` with ADR-scaled Gaussian noise."""
    return ObservationTermCfg(
        func=adr_observation_noise, params={"source": source, "param": param, **params}
    )


def adr_push(
    env: ManagerBasedRlEnv,
    env_ids: ManagerEnvIds,
    param: str,
    asset_cfg: SceneEntityCfg,
    adr_name: str = "adr",
) -> None:
    """An interval event: add a planar velocity kick, uniform in ``[-s, s]`` per axis.

    ``s`` is each pushed env's value of the ADR parameter ``param`` (m/s), the
    kick is added to the root's linear x/y velocity in the world frame.
    """
    term = adr_term(env, adr_name)
    ids = resolve_env_ids(env_ids, env.num_envs, term.engine.device)
    asset: Entity = env.scene[asset_cfg.name]
    strength = term.engine.get(param, ids).unsqueeze(-1)
    u = torch.rand((ids.numel(), 2), generator=term.core.noise, device=term.engine.device)
    velocity = asset.data.root_link_vel_w[ids].clone()
    velocity[:, :2] += (2.0 * u - 1.0) * strength
    asset.write_root_link_velocity_to_sim(velocity, env_ids=ids)


def push_event(
    param: str, asset_cfg: SceneEntityCfg, interval_s: tuple[float, float]
) -> EventTermCfg:
    """``EventTermCfg`` of :func:`adr_push` every ``interval_s`` seconds (per env)."""
    return EventTermCfg(
        func=adr_push,
        mode="interval",
        interval_range_s=interval_s,
        params={"param": param, "asset_cfg": asset_cfg},
    )
