"""``Isaac-Cartpole-Adr``: Isaac Lab's manager-based Cartpole under ADR.

ADR widens, from none at all, the randomization of the pole's mass, the
hinge's friction, the cart's joint damping and the noise on the policy's
joint-velocity observations, as long as finished episodes survive (the cart
stays on its rail) often enough. Every value goes through Isaac Lab's own
event terms (:class:`~adr_lab.isaaclab.EventBinding`) or, for the noise, a
small observation term reading :func:`~adr_lab.isaaclab.adr_value`.
"""

from __future__ import annotations

from typing import Any

import torch
from isaaclab.envs import ManagerBasedRLEnv, mdp
from isaaclab.managers import EventTermCfg, ObservationTermCfg, SceneEntityCfg
from isaaclab.utils import configclass
from isaaclab_tasks.core.cartpole.agents.rsl_rl_ppo_cfg import CartpolePPORunnerCfg
from isaaclab_tasks.core.cartpole.cartpole_manager_env_cfg import CartpoleEnvCfg

from adr_lab.isaaclab.bindings import EventBinding
from adr_lab.isaaclab.rsl_rl import ADR_PPO
from adr_lab.isaaclab.term import AdrSpec, attach_adr, find_adr_term, freeze_adr
from adr_lab.objectives import Survived

__all__ = ["BINDINGS", "CARTPOLE_ADR", "TASK_ID", "CartpoleAdrEnvCfg", "CartpoleAdrPPORunnerCfg"]

TASK_ID = "Isaac-Cartpole-Adr"

CARTPOLE_ADR: dict[str, Any] = {
    "adr_queue_threshold_length": 16,
    "adr_objective_threshold_low": 0.5,
    "adr_objective_threshold_high": 0.8,
    "worker_adr_boundary_fraction": 0.5,
    "adr_load_from_checkpoint": True,
    "params": {
        "pole_mass": {"init_range": [1.0, 1.0], "limits": [0.5, 3.0], "delta": 0.1},
        "hinge_friction": {"init_range": [0.0, 0.0], "limits": [0.0, 0.05], "delta": 0.005},
        "cart_damping": {"init_range": [1.0, 1.0], "limits": [0.5, 2.0], "delta": 0.05},
        "observation_noise": {"init_range": [0.0, 0.0], "limits": [0.0, 0.2], "delta": 0.01},
    },
}
"""The ``task.adr`` block: thresholds on the share of episodes the cart survives."""


def _binding(
    param: str, func: Any, range_arg: str, asset_cfg: SceneEntityCfg, **params: Any
) -> EventBinding:
    """``param`` through the reset event term ``func`` (its range is the engine's values)."""
    term_params = {"asset_cfg": asset_cfg, range_arg: (1.0, 1.0), **params}
    return EventBinding(param, EventTermCfg(func=func, mode="reset", params=term_params), range_arg)


BINDINGS = (
    _binding(
        "pole_mass",
        mdp.randomize_rigid_body_mass,
        "mass_distribution_params",
        SceneEntityCfg("robot", body_names=["pole"]),
        operation="scale",
    ),
    _binding(
        "hinge_friction",
        mdp.randomize_joint_parameters,
        "friction_distribution_params",
        SceneEntityCfg("robot", joint_names=["cart_to_pole"]),
        operation="abs",
    ),
    _binding(
        "cart_damping",
        mdp.randomize_actuator_gains,
        "damping_distribution_params",
        SceneEntityCfg("robot", joint_names=["slider_to_cart"]),
        operation="scale",
    ),
)
"""Pole mass (x default), hinge friction (absolute), cart joint damping (x default)."""


def noisy_joint_vel_rel(env: ManagerBasedRLEnv, param: str = "observation_noise") -> torch.Tensor:
    """``mdp.joint_vel_rel`` plus Gaussian noise of each env's ADR standard deviation.

    Draws from the ADR term's own noise stream (saved with the ADR state).
    Clean while the env is built (the observation manager sizes its terms
    before the curriculum manager exists).
    """
    clean: torch.Tensor = mdp.joint_vel_rel(env)
    term = find_adr_term(env)
    if term is None:
        return clean
    noise = torch.randn(clean.shape, generator=term.core.noise, device=clean.device)
    return clean + noise * term.engine.get(param).unsqueeze(1)


@configclass
class CartpoleAdrEnvCfg(CartpoleEnvCfg):  # type: ignore[misc]
    """Isaac Lab's Cartpole with the ADR curriculum term and noisy joint velocities."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.observations.policy.joint_vel_rel = ObservationTermCfg(func=noisy_joint_vel_rel)
        attach_adr(self, AdrSpec(adr=CARTPOLE_ADR, objective=Survived(), bindings=BINDINGS))

    def play_mode(self) -> None:
        """Isaac Lab's play settings, and the ADR ranges frozen: ``isaaclab play`` runs the
        policy at the ranges of the checkpoint it loads."""
        super().play_mode()
        freeze_adr(self)


@configclass
class CartpoleAdrPPORunnerCfg(CartpolePPORunnerCfg):  # type: ignore[misc]
    """Isaac Lab's Cartpole PPO settings, logging to ``logs/rsl_rl/cartpole_adr``.

    The algorithm is :class:`~adr_lab.isaaclab.rsl_rl.AdrPPO`, so every
    checkpoint carries the ADR state and a resume restores it.
    """

    experiment_name = "cartpole_adr"

    def __post_init__(self) -> None:
        self.algorithm.class_name = ADR_PPO
