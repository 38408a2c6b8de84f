"""Small real mjlab Cartpole envs under ADR, and an independent oracle of their model fields."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
from mjlab.envs import ManagerBasedRlEnv, ManagerBasedRlEnvCfg
from mjlab.managers.scene_entity_config import SceneEntityCfg

from adr_lab import RewardSum
from adr_lab.mjlab import AdrSpec, FieldBinding, attach_adr
from adr_lab.objectives import Objective
from adr_lab.tasks.cartpole import BINDINGS, cartpole_adr_env_cfg

STEP_DT = 0.05
"""Cartpole's env step (s)."""

POLE_FRICTION = FieldBinding(
    "pole_friction",
    "geom_friction",
    SceneEntityCfg("cartpole", geom_names=("pole_1",)),
    operation="abs",
    axes=(0,),
)
"""A binding to one axis of a 3-axis field, which the task itself does not use."""

TEST_BINDINGS = (*BINDINGS, POLE_FRICTION)


def small_adr(**overrides: Any) -> dict[str, Any]:
    """A ``task.adr`` block whose queues fill after a couple of episodes."""
    params = {
        "pole_mass": {"init_range": [0.9, 1.1], "limits": [0.5, 3.0], "delta": 0.25},
        "hinge_damping": {"init_range": [0.0, 0.01], "limits": [0.0, 0.1], "delta": 0.01},
        "motor_strength": {"init_range": [1.0, 1.0], "limits": [0.5, 2.0], "delta": 0.1},
        "action_noise": {"init_range": [0.0, 0.0], "limits": [0.0, 0.5], "delta": 0.05},
        "observation_noise": {"init_range": [0.0, 0.0], "limits": [0.0, 0.2], "delta": 0.02},
        "pole_friction": {"init_range": [0.8, 1.0], "limits": [0.1, 2.0], "delta": 0.1},
    }
    return {
        "adr_queue_threshold_length": 2,
        "adr_objective_threshold_low": 0.1,
        "adr_objective_threshold_high": 0.3,
        "worker_adr_boundary_fraction": 0.6,
        "params": params,
        **overrides,
    }


def cartpole_cfg(
    num_envs: int = 8,
    *,
    episode_steps: int = 4,
    adr: dict[str, Any] | None = None,
    objective: Objective | None = None,
    bindings: Sequence[FieldBinding] = TEST_BINDINGS,
    seed: int = 3,
) -> ManagerBasedRlEnvCfg:
    """The ADR Cartpole task with few envs, short episodes and small queues."""
    cfg = cartpole_adr_env_cfg()
    cfg.scene.num_envs = num_envs
    cfg.seed = seed
    cfg.episode_length_s = episode_steps * STEP_DT
    spec = AdrSpec(
        adr=adr or small_adr(),
        objective=objective or RewardSum("smooth_reward", per_second=True),
        bindings=bindings,
        seed=seed,
    )
    return attach_adr(cfg, spec)


def build(cfg: ManagerBasedRlEnvCfg) -> ManagerBasedRlEnv:
    """A real env on the CPU (mjlab's body-mass notice silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return ManagerBasedRlEnv(cfg, device="cpu")


def run(env: ManagerBasedRlEnv, steps: int) -> list[dict[str, Any]]:
    """``steps`` env steps with zero actions; the ``extras`` of each."""
    action = torch.zeros(env.num_envs, env.action_manager.total_action_dim)
    extras = []
    for _ in range(steps):
        extras.append(dict(env.step(action)[4]))
    return extras


ELEMENTS = {
    "body_mass": ("body_names", "body_ids"),
    "geom_friction": ("geom_names", "geom_ids"),
    "dof_damping": ("joint_names", "joint_v_adr"),
    "actuator_gear": ("actuator_names", "ctrl_ids"),
}
"""Per field the oracle knows: its names attribute (asset, SceneEntityCfg) and index table."""


def selection(env: ManagerBasedRlEnv, binding: FieldBinding) -> torch.Tensor:
    """Model indices of a binding's elements, looked up by name (the oracle's own way)."""
    asset = env.scene[binding.asset_cfg.name]
    names_attr, index_attr = ELEMENTS[binding.field]
    names = list(getattr(asset, names_attr))
    wanted = getattr(binding.asset_cfg, names_attr)
    return getattr(asset.indexing, index_attr)[[names.index(n) for n in wanted]].long()


def written(env: ManagerBasedRlEnv, binding: FieldBinding) -> torch.Tensor:
    """``(N, E)`` the bound elements' values in ``env.sim.model`` (axis 0 of 3-axis fields)."""
    field = getattr(env.sim.model, binding.field)[:, selection(env, binding)]
    return field[..., 0] if field.dim() == 3 else field


def expected(env: ManagerBasedRlEnv, binding: FieldBinding, values: torch.Tensor) -> torch.Tensor:
    """``(N, E)`` what the model must hold for per-env ``values``, from the compiled defaults."""
    default = torch.as_tensor(getattr(env.sim.mj_model, binding.field), dtype=torch.float32)
    base = default[selection(env, binding)]
    base = base[..., 0] if base.dim() == 2 else base
    v = values.float().unsqueeze(-1)
    if binding.operation == "scale":
        return base * v
    if binding.operation == "add":
        return base + v
    return v.expand(-1, base.numel())
