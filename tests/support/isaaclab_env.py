"""Isaac Lab's stock Cartpole, built kit-less on Newton / MuJoCo Warp on the CPU, with ADR.

Import only after ``ISAACSIM_ASSET_ROOT`` is set (``tests/isaaclab/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
from isaaclab.app import launch_simulation
from isaaclab.envs import ManagerBasedRLEnv
from isaaclab.managers import EventTermCfg, SceneEntityCfg
from isaaclab_tasks.utils import resolve_task_config

from adr_lab.isaaclab import AdrSpec, attach_adr
from adr_lab.isaaclab.tasks.cartpole import BINDINGS

TASK = "Isaac-Cartpole"


def cartpole_cfg(num_envs: int) -> Any:
    """The stock Isaac-Cartpole env config on Newton (MuJoCo Warp) on the CPU."""
    import isaaclab_tasks  # noqa: F401  (registers the tasks)

    env_cfg, _ = resolve_task_config(TASK, "", overrides=("physics=newton_mjwarp",))
    env_cfg.sim.device = "cpu"
    env_cfg.scene.num_envs = num_envs
    return env_cfg


def with_adr(env_cfg: Any, **spec: Any) -> Any:
    """``env_cfg`` with an ADR curriculum term of this spec."""
    return attach_adr(env_cfg, AdrSpec(**spec))


@contextmanager
def built(env_cfg: Any) -> Iterator[ManagerBasedRLEnv]:
    """The env of ``env_cfg`` (closed on exit)."""
    with launch_simulation(env_cfg, {"device": "cpu"}):
        env = ManagerBasedRLEnv(cfg=env_cfg)
        try:
            yield env
        finally:
            env.close()


def event(func: Any, asset: SceneEntityCfg, **params: Any) -> EventTermCfg:
    """A reset event term of ``func`` on ``asset``."""
    return EventTermCfg(func=func, mode="reset", params={"asset_cfg": asset, **params})


POLE_MASS, HINGE_FRICTION, CART_DAMPING = BINDINGS

SMALL_ADR: dict[str, Any] = {
    "adr_queue_threshold_length": 2,
    "adr_objective_threshold_low": 0.2,
    "adr_objective_threshold_high": 0.5,
    "worker_adr_boundary_fraction": 0.5,
    "params": {
        "pole_mass": {"init_range": [1.0, 1.0], "limits": [0.5, 3.0], "delta": 0.25},
        "hinge_friction": {"init_range": [0.0, 0.0], "limits": [0.0, 0.1], "delta": 0.02},
        "cart_damping": {"init_range": [1.0, 1.0], "limits": [0.5, 2.0], "delta": 0.1},
    },
}
"""An ADR block for :data:`BINDINGS` whose bounds move fast (queues of 2 results)."""


def play(env: ManagerBasedRLEnv, steps: int) -> None:
    """Step every env with zero force."""
    actions = torch.zeros(env.num_envs, 1, device=env.device)
    for _ in range(steps):
        env.step(actions)


DEFAULTS = {"pole_mass": 1.0, "hinge_friction": 0.0, "cart_damping": 10.0}
"""What each bound field of :data:`BINDINGS` holds in the asset (the binding's operation
applies to it)."""
OPERATION = {"pole_mass": "scale", "hinge_friction": "abs", "cart_damping": "scale"}


def expected_field(name: str, values: torch.Tensor) -> torch.Tensor:
    """What the field that :data:`BINDINGS` binds ``name`` to must hold for engine values
    ``values`` (:func:`readbacks` reads it)."""
    default = DEFAULTS[name]
    return values * default if OPERATION[name] == "scale" else values


def readbacks(env: ManagerBasedRLEnv) -> Mapping[str, torch.Tensor]:
    """Per parameter, ``(N,)`` what the simulator holds (from the articulation's data)."""
    asset = env.scene["robot"]
    pole = asset.body_names.index("pole")
    hinge = asset.joint_names.index("cart_to_pole")
    slider = asset.joint_names.index("slider_to_cart")
    return {
        "pole_mass": asset.data.body_mass.torch[:, pole].clone(),
        "hinge_friction": asset.data.joint_friction_coeff.torch[:, hinge].clone(),
        "cart_damping": asset.data.joint_damping.torch[:, slider].clone(),
    }
