"""Per-env values read back from Newton's model and from MuJoCo Warp's per-world model.

An Isaac Lab env on Newton holds one model (``NewtonManager.get_model()``)
whose arrays span every env's world; MuJoCo Warp copies what changed into its
own per-world arrays (``solver.mjw_model``) at the next physics step. Rows of
what these functions return are envs (worlds) in order.
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np
import torch
import warp as wp


def newton_model(env: Any) -> Any:
    """The env's Newton model."""
    return env.sim.physics_manager.get_model()


def mujoco_warp(env: Any) -> Any:
    """The env's MuJoCo Warp solver (``solver.mjw_model`` has one row per world)."""
    return env.sim.physics_manager._solver


def physics_step(env: Any) -> None:
    """One physics step, no env step (no resets): the solver takes the model's changes."""
    env.sim.step(render=False)


def mjw_body(env: Any, body: str) -> int:
    """The MuJoCo body index of the asset body named ``body``."""
    model = mujoco_warp(env).mj_model
    names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, i) for i in range(model.nbody)]
    return next(i for i, n in enumerate(names) if n and n.endswith(body))


def body_shapes(env: Any, body: str) -> torch.Tensor:
    """``(N,)`` int64: the Newton shape of body ``body`` in each world (one shape per body)."""
    model = newton_model(env)
    bodies = [i for i, label in enumerate(model.body_label) if label.endswith(f"/{body}")]
    shape_body = model.shape_body.numpy()
    shapes = [int(np.flatnonzero(shape_body == b)[0]) for b in bodies]
    return torch.tensor(shapes)


def newton_friction(env: Any, body: str) -> torch.Tensor:
    """``(N,)`` the friction (``shape_material_mu``) of body ``body``'s shape per world."""
    mu = wp.to_torch(newton_model(env).shape_material_mu)
    return mu[body_shapes(env, body)].clone()


def newton_gravity(env: Any) -> torch.Tensor:
    """``(N, 3)`` each world's gravity in Newton's model."""
    return wp.to_torch(newton_model(env).gravity)[: env.num_envs].clone()


def mjw_friction(env: Any, body: str) -> torch.Tensor:
    """``(N,)`` MuJoCo Warp's sliding friction of the geom of body ``body`` per world."""
    solver = mujoco_warp(env)
    geom_to_shape = wp.to_torch(solver.mjc_geom_to_newton_shape).long()
    friction = wp.to_torch(solver.mjw_model.geom_friction)[..., 0]
    shapes = body_shapes(env, body)
    geoms = (geom_to_shape == shapes[:, None]).long().argmax(dim=1)
    return friction[torch.arange(env.num_envs), geoms].clone()


def mjw_field(env: Any, field: str, body: str) -> torch.Tensor:
    """``(N, ...)`` MuJoCo Warp's per-world ``field`` (e.g. ``body_mass``) of body ``body``."""
    return wp.to_torch(getattr(mujoco_warp(env).mjw_model, field))[:, mjw_body(env, body)].clone()


def mjw_gravity(env: Any) -> torch.Tensor:
    """``(N, 3)`` MuJoCo Warp's gravity per world."""
    return wp.to_torch(mujoco_warp(env).mjw_model.opt.gravity).clone()
