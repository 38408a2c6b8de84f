"""``Mjlab-Cartpole-Balance-Adr``: mjlab's Cartpole balance task under ADR.

ADR widens, from none at all, the randomization of the pole's mass, the
hinge's damping, the cart motor's strength (gear) and the noise on actions
and on the actor's observations, as long as finished episodes keep a mean
upright reward above the high threshold. Episodes last 5 s instead of 50 s,
so that results reach the boundary queues every 100 steps.
"""

from __future__ import annotations

from typing import Any

from mjlab.envs import ManagerBasedRlEnvCfg
from mjlab.managers.observation_manager import ObservationTermCfg
from mjlab.managers.scene_entity_config import SceneEntityCfg
from mjlab.rl import RslRlOnPolicyRunnerCfg
from mjlab.tasks.cartpole.cartpole_env_cfg import (
    cartpole_balance_env_cfg,
    cartpole_ppo_runner_cfg,
)

from adr_lab.mjlab.consumers import AdrNoisyEffortActionCfg, noisy_observation
from adr_lab.mjlab.fields import FieldBinding
from adr_lab.objectives import RewardSum
from adr_lab.tasks.common import renamed, with_adr

__all__ = ["CARTPOLE_ADR", "TASK_ID", "cartpole_adr_env_cfg", "cartpole_adr_runner_cfg"]

TASK_ID = "Mjlab-Cartpole-Balance-Adr"
EPISODE_LENGTH_S = 5.0

CARTPOLE_ADR: dict[str, Any] = {
    "adr_queue_threshold_length": 32,
    "adr_objective_threshold_low": 0.5,
    "adr_objective_threshold_high": 0.8,
    "worker_adr_boundary_fraction": 0.5,
    "adr_load_from_checkpoint": True,
    "params": {
        "pole_mass": {"init_range": [1.0, 1.0], "limits": [0.5, 4.0], "delta": 0.1},
        "hinge_damping": {"init_range": [0.0, 0.0], "limits": [0.0, 0.05], "delta": 0.005},
        "motor_strength": {"init_range": [1.0, 1.0], "limits": [0.5, 1.5], "delta": 0.05},
        "action_noise": {"init_range": [0.0, 0.0], "limits": [0.0, 0.5], "delta": 0.025},
        "observation_noise": {"init_range": [0.0, 0.0], "limits": [0.0, 0.2], "delta": 0.01},
    },
}
"""The ``task.adr`` block: thresholds on the mean smooth reward per second (in [0, 1])."""

OBJECTIVE = RewardSum("smooth_reward", per_second=True)
BINDINGS = (
    FieldBinding("pole_mass", "body_mass", SceneEntityCfg("cartpole", body_names=("pole_1",))),
    FieldBinding(
        "hinge_damping",
        "dof_damping",
        SceneEntityCfg("cartpole", joint_names=("hinge_1",)),
        operation="add",
    ),
    FieldBinding(
        "motor_strength", "actuator_gear", SceneEntityCfg("cartpole", actuator_names=["slide"])
    ),
)


def _noisy_actor(cfg: ManagerBasedRlEnvCfg) -> None:
    """Actions and actor observations with ADR-scaled noise (the critic sees clean ones)."""
    cfg.actions["effort"] = AdrNoisyEffortActionCfg(
        entity_name="cartpole", actuator_names=("slider",), scale=1.0, noise_param="action_noise"
    )
    actor = cfg.observations["actor"]
    actor.terms = {name: _noisy(term, "observation_noise") for name, term in actor.terms.items()}


def _noisy(term: ObservationTermCfg, param: str) -> ObservationTermCfg:
    return noisy_observation(term.func, param, **term.params)


def cartpole_adr_env_cfg(play: bool = False) -> ManagerBasedRlEnvCfg:
    """The env config; ``play`` evaluates at the checkpoint's ranges (no ADR updates)."""
    cfg = cartpole_balance_env_cfg(play=play)
    if not play:
        cfg.episode_length_s = EPISODE_LENGTH_S
    _noisy_actor(cfg)
    return with_adr(cfg, CARTPOLE_ADR, OBJECTIVE, BINDINGS, play)


def cartpole_adr_runner_cfg() -> RslRlOnPolicyRunnerCfg:
    """mjlab's Cartpole PPO settings, logging to ``logs/rsl_rl/cartpole_adr``."""
    return renamed(cartpole_ppo_runner_cfg(), "cartpole_adr")
