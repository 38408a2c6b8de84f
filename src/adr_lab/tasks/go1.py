"""``Mjlab-Velocity-Flat-Unitree-Go1-Adr``: mjlab's Go1 flat velocity task under ADR.

ADR replaces four of the task's fixed randomizations: the feet's sliding
friction, a mass added to the trunk, the trunk's centre-of-mass offset
(x and y) and the strength of random pushes, each widened from a point as
long as finished episodes keep tracking the commanded velocity.
"""

from __future__ import annotations

from typing import Any

from mjlab.envs import ManagerBasedRlEnvCfg
from mjlab.managers.scene_entity_config import SceneEntityCfg
from mjlab.rl import RslRlOnPolicyRunnerCfg
from mjlab.tasks.velocity.config.go1.env_cfgs import unitree_go1_flat_env_cfg
from mjlab.tasks.velocity.config.go1.rl_cfg import unitree_go1_ppo_runner_cfg

from adr_lab.mjlab.consumers import push_event
from adr_lab.mjlab.fields import FieldBinding
from adr_lab.objectives import RewardSum
from adr_lab.tasks.common import renamed, with_adr

__all__ = ["GO1_ADR", "TASK_ID", "go1_flat_adr_env_cfg", "go1_flat_adr_runner_cfg"]

TASK_ID = "Mjlab-Velocity-Flat-Unitree-Go1-Adr"
FEET = tuple(f"{leg}_foot_collision" for leg in ("FR", "FL", "RR", "RL"))

GO1_ADR: dict[str, Any] = {
    "adr_queue_threshold_length": 64,
    "adr_objective_threshold_low": 0.8,
    "adr_objective_threshold_high": 1.4,
    "worker_adr_boundary_fraction": 0.4,
    "params": {
        "foot_friction": {"init_range": [0.9, 1.0], "limits": [0.2, 2.0], "delta": 0.05},
        "trunk_added_mass": {"init_range": [0.0, 0.0], "limits": [-1.0, 3.0], "delta": 0.1},
        "trunk_com_x": {"init_range": [0.0, 0.0], "limits": [-0.05, 0.05], "delta": 0.005},
        "trunk_com_y": {"init_range": [0.0, 0.0], "limits": [-0.05, 0.05], "delta": 0.005},
        "push_velocity": {"init_range": [0.0, 0.0], "limits": [0.0, 1.5], "delta": 0.05},
    },
}
"""The ``task.adr`` block: thresholds on the linear-velocity tracking reward per second
(weight 2, so in [0, 2])."""

OBJECTIVE = RewardSum("track_linear_velocity", per_second=True)
TRUNK = SceneEntityCfg("robot", body_names=("trunk",))
BINDINGS = (
    FieldBinding(
        "foot_friction",
        "geom_friction",
        SceneEntityCfg("robot", geom_names=FEET),
        operation="abs",
        axes=(0,),
    ),
    FieldBinding("trunk_added_mass", "body_mass", TRUNK, operation="add"),
    FieldBinding("trunk_com_x", "body_ipos", TRUNK, operation="add", axes=(0,)),
    FieldBinding("trunk_com_y", "body_ipos", TRUNK, operation="add", axes=(1,)),
)
REPLACED_EVENTS = ("foot_friction_slide", "base_com", "push_robot")


def go1_flat_adr_env_cfg(play: bool = False) -> ManagerBasedRlEnvCfg:
    """The env config; ``play`` evaluates at the checkpoint's ranges (no ADR updates, no pushes)."""
    cfg = unitree_go1_flat_env_cfg(play=play)
    for name in REPLACED_EVENTS:
        cfg.events.pop(name, None)
    if not play:
        cfg.events["push_robot"] = push_event(
            "push_velocity", SceneEntityCfg("robot"), interval_s=(1.0, 3.0)
        )
    return with_adr(cfg, GO1_ADR, OBJECTIVE, BINDINGS, play)


def go1_flat_adr_runner_cfg() -> RslRlOnPolicyRunnerCfg:
    """mjlab's Go1 PPO settings, logging to ``logs/rsl_rl/go1_velocity_adr``."""
    return renamed(unitree_go1_ppo_runner_cfg(), "go1_velocity_adr")
