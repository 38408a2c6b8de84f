"""``Isaac-Velocity-Flat-Anymal-C-Adr``: Isaac Lab's flat Anymal-C velocity task under ADR.

Isaac Lab 3.0's ``IsaacContrib-Velocity-Flat-AnymalC`` with its randomization
of the base (mass x0.8..1.25, COM within +-5 cm in x and y, +-1 cm in z) and
its pushes (+-0.5 m/s every 10-15 s) replaced by ADR parameters that widen,
from the stock task's nominal values, as long as finished episodes keep
tracking the commanded velocity; ADR also widens the feet's friction, which
the stock task holds at 0.8. Runs on Newton (MuJoCo Warp), the default
physics of this variant: the per-env friction and COM terms of
:mod:`adr_lab.isaaclab.terms` write Newton's model.

The robot's USD and actuator network come from NVIDIA's asset CDN. Body names
(``base``, ``.*FOOT``) are the ones the stock task's own terms select; they are
checked against the robot when the env is built (a binding that names no body
fails then, naming it).
"""

from __future__ import annotations

from typing import Any

from isaaclab.envs import mdp
from isaaclab.managers import EventTermCfg, SceneEntityCfg
from isaaclab.utils import configclass
from isaaclab_tasks.contrib.velocity.config.anymal_c.agents.rsl_rl_ppo_cfg import (
    AnymalCFlatPPORunnerCfg,
)
from isaaclab_tasks.contrib.velocity.config.anymal_c.flat_env_cfg import AnymalCFlatEnvCfg

from adr_lab.isaaclab import terms
from adr_lab.isaaclab.bindings import EventBinding
from adr_lab.isaaclab.consumers import push_event
from adr_lab.isaaclab.rsl_rl import ADR_PPO
from adr_lab.isaaclab.term import AdrSpec, attach_adr, freeze_adr
from adr_lab.objectives import RewardSum

__all__ = [
    "ANYMAL_C_ADR",
    "BINDINGS",
    "OBJECTIVE",
    "REPLACED_EVENTS",
    "TASK_ID",
    "AnymalCFlatAdrEnvCfg",
    "AnymalCFlatAdrPPORunnerCfg",
]

TASK_ID = "Isaac-Velocity-Flat-Anymal-C-Adr"

ANYMAL_C_ADR: dict[str, Any] = {
    "adr_queue_threshold_length": 64,
    "adr_objective_threshold_low": 10.0,
    "adr_objective_threshold_high": 15.0,
    "worker_adr_boundary_fraction": 0.4,
    "adr_load_from_checkpoint": True,
    "params": {
        "base_mass": {"init_range": [1.0, 1.0], "limits": [0.5, 2.0], "delta": 0.05},
        "base_com_x": {"init_range": [0.0, 0.0], "limits": [-0.1, 0.1], "delta": 0.01},
        "base_com_y": {"init_range": [0.0, 0.0], "limits": [-0.1, 0.1], "delta": 0.01},
        "base_com_z": {"init_range": [0.0, 0.0], "limits": [-0.02, 0.02], "delta": 0.002},
        "foot_friction": {"init_range": [0.8, 0.8], "limits": [0.3, 1.6], "delta": 0.05},
        "push_velocity": {"init_range": [0.5, 0.5], "limits": [0.0, 1.5], "delta": 0.05},
    },
}
"""The ``task.adr`` block: thresholds on the episode's linear-velocity tracking reward.

The objective (:data:`OBJECTIVE`) is the episode sum of ``track_lin_vel_xy_exp``
(weight 1, ``exp(-|v_xy error|^2 / 0.25)`` per second, summed with the
step's duration): at most 20 for a 20 s episode tracked perfectly, and an
episode that ends in a fall scores only the seconds it lasted, so falls count
against a bound. A boundary queue above 15 (75 % of the best: an error of
about 0.27 m/s throughout, the robot never falling) widens its bound; below
10 (half: a fall halfway, or an error of about 0.42 m/s throughout) narrows
it. Queues of 64 results fill within about one episode
at Isaac Lab's 4096 envs (40 % boundary workers over 12 bounds).

Every range starts at the stock task's nominal value (base mass x1, COM
offset 0, friction 0.8, push strength 0.5 m/s) and may widen to about twice
the stock spread; the foot friction's lower limit is also the ground's
friction (:data:`GROUND_FRICTION`).
"""

OBJECTIVE = RewardSum("track_lin_vel_xy_exp")
"""The episode sum of the stock linear-velocity tracking reward (see :data:`ANYMAL_C_ADR`)."""

GROUND_FRICTION: float = ANYMAL_C_ADR["params"]["foot_friction"]["limits"][0]
"""The ground's friction: MuJoCo Warp takes the larger of two touching shapes'
friction, so a foot's friction counts only above the ground's (the stock
ground's 1.0 would hide every value below it)."""

REPLACED_EVENTS = ("add_base_mass", "base_com", "push_robot")
"""The stock event terms ADR replaces (the push by an ADR push of the same name)."""

BASE = SceneEntityCfg("robot", body_names="base")
FEET = SceneEntityCfg("robot", body_names=".*FOOT")
PUSH_INTERVAL_S = (10.0, 15.0)
"""Seconds between pushes, as in the stock task."""


def _binding(param: str, func: Any, range_arg: str, **params: Any) -> EventBinding:
    """``param`` through the reset event term ``func`` (its range is the engine's values)."""
    term = EventTermCfg(func=func, mode="reset", params={range_arg: (0.0, 0.0), **params})
    return EventBinding(param, term, range_arg)


def _com(axis: str) -> EventBinding:
    """The base's COM offset along ``axis`` (m, added to the built COM)."""
    return _binding(
        f"base_com_{axis}",
        terms.randomize_com,
        "com_distribution_params",
        asset_cfg=BASE,
        axes=(axis,),
        operation="add",
    )


BINDINGS = (
    _binding(
        "base_mass",
        mdp.randomize_rigid_body_mass,
        "mass_distribution_params",
        asset_cfg=BASE,
        operation="scale",
    ),
    *(_com(axis) for axis in terms.AXES),
    _binding(
        "foot_friction",
        terms.randomize_friction,
        "friction_distribution_params",
        asset_cfg=FEET,
        operation="abs",
    ),
)
"""Base mass (x built), base COM per axis (m, added), feet friction (absolute).

``push_velocity`` has no binding: the ``push_robot`` event reads it
(:func:`~adr_lab.isaaclab.consumers.adr_push`).
"""


@configclass
class AnymalCFlatAdrEnvCfg(AnymalCFlatEnvCfg):  # type: ignore[misc]
    """Isaac Lab's flat Anymal-C on Newton, its base and push randomization under ADR.

    Keeps the stock reset events, the zero external force, the observation
    noise (Isaac Lab's noise models cannot read a per-env value) and the
    startup friction of 0.8 on every body, which ADR's foot friction
    replaces for the feet at every reset.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.sim.physics.default = self.sim.physics.newton_mjwarp
        for material in (self.scene.terrain.physics_material, self.sim.physics_material):
            material.static_friction = GROUND_FRICTION
            material.dynamic_friction = GROUND_FRICTION
        for name in REPLACED_EVENTS:
            setattr(self.events, name, None)
        self.events.push_robot = push_event("push_velocity", PUSH_INTERVAL_S)
        attach_adr(self, AdrSpec(adr=ANYMAL_C_ADR, objective=OBJECTIVE, bindings=BINDINGS))

    def play_mode(self) -> None:
        """Isaac Lab's play settings (no pushes), and the ADR ranges frozen: ``isaaclab play``
        runs the policy at the ranges of the checkpoint it loads."""
        super().play_mode()
        freeze_adr(self)


@configclass
class AnymalCFlatAdrPPORunnerCfg(AnymalCFlatPPORunnerCfg):  # type: ignore[misc]
    """Isaac Lab's flat Anymal-C PPO settings, logging to ``logs/rsl_rl/anymal_c_flat_adr``.

    The algorithm is :class:`~adr_lab.isaaclab.rsl_rl.AdrPPO`, so every
    checkpoint carries the ADR state and a resume restores it.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.experiment_name = "anymal_c_flat_adr"
        self.algorithm.class_name = ADR_PPO
