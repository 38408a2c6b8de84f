"""The Reorient task's pure physics and scoring: checked actions, the cube's
spin over one step, the reward (steps 5 and 6 of :mod:`adr_app.tasks.reorient`)."""

from __future__ import annotations

import torch

from adr_app.tasks.config import ReorientEnvConfig
from adr_app.tasks.quat import quat_from_rotvec, quat_mul
from adr_app.tasks.reorient_state import NUM_ACTIONS
from adr_domain import ADREngine

__all__ = ["checked_actions", "reorient_reward", "spin"]

_MIN_INERTIA_FACTOR = 1e-3
_K_TAYLOR = 1e-6


def checked_actions(actions: object, num_envs: int, device: torch.device) -> torch.Tensor:
    """``(N, 3)`` float32 actions on ``device``, clipped to ``[-1, 1]``.

    Raises:
        ValueError: naming ``actions`` when it is not a floating ``(N, 3)`` tensor.
    """
    if not isinstance(actions, torch.Tensor):
        raise ValueError(
            f"actions: expected a ({num_envs}, {NUM_ACTIONS}) tensor, got {type(actions).__name__}"
        )
    if tuple(actions.shape) != (num_envs, NUM_ACTIONS):
        raise ValueError(
            f"actions: expected shape ({num_envs}, {NUM_ACTIONS}), got {tuple(actions.shape)}"
        )
    if not actions.is_floating_point():
        raise ValueError(f"actions: expected a floating tensor, got {actions.dtype}")
    return actions.to(device=device, dtype=torch.float32).clamp(-1.0, 1.0)


def spin(
    rot: torch.Tensor,
    ang_vel: torch.Tensor,
    applied: torch.Tensor,
    adr: ADREngine,
    env: ReorientEnvConfig,
) -> None:
    """Turn the cubes by one step under the applied command (``rot``, ``ang_vel`` written).

    Exact integration of ``I dw/dt = tau - c w`` over ``dt`` (stable for any
    ``c``, ``I``), then the orientation rotates by ``w dt``.

    Args:
        rot: ``(N, 4)`` float32 orientations.
        ang_vel: ``(N, 3)`` float32 angular velocities.
        applied: ``(N, 3)`` float32 the command ``u`` in ``[-1, 1]``.
        adr: the engine holding each env's mass, inertia, damping and effort.
        env: the task's ``env`` block (``dt``, ``max_torque``, ``base_inertia``).
    """
    inertia = env.base_inertia * (
        adr.get("object_mass").clamp(min=_MIN_INERTIA_FACTOR)
        * adr.get("object_inertia").clamp(min=_MIN_INERTIA_FACTOR)
    )
    k = adr.get("object_damping").clamp(min=0.0) * (env.dt / inertia)
    phi = torch.where(k > _K_TAYLOR, -torch.expm1(-k) / k.clamp(min=_K_TAYLOR), 1.0 - 0.5 * k)
    gain = adr.get("actuator_effort").clamp(min=0.0) * (env.max_torque * env.dt) * phi / inertia
    new_vel = torch.addcmul(ang_vel * torch.exp(-k).unsqueeze(1), gain.unsqueeze(1), applied)
    ang_vel.copy_(new_vel)
    new_rot = quat_mul(quat_from_rotvec(new_vel * env.dt), rot)
    rot.copy_(torch.nn.functional.normalize(new_rot, dim=1))


def reorient_reward(
    env: ReorientEnvConfig,
    dist: torch.Tensor,
    success: torch.Tensor,
    failed: torch.Tensor,
    actions: torch.Tensor,
) -> torch.Tensor:
    """``(N,)`` float32 reward of a step: closeness to the goal, success bonus,
    action penalty, and the penalty of an episode ended without success."""
    reward = env.rot_reward_scale / (dist + env.rot_eps)
    reward = reward + env.dist_reward_scale * dist
    reward = reward + env.reach_goal_bonus * success.float()
    reward = reward + env.action_penalty_scale * actions.square().sum(1)
    return reward + env.no_success_penalty * failed.float()
