"""Validated config of the embedded ``Reorient`` task (``cfg/task/Reorient.yaml``).

The layout follows IsaacGymEnvs' task yamls: ``name``, an ``env`` block with
camelCase keys (snake_case names are accepted too) and a ``task.adr`` block
validated by :class:`adr_domain.ADRConfig`. Config is read once and never
mutated; the task keeps its runtime state elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adr_domain import ADRConfig
from adr_domain.config import validate_config

__all__ = ["ActionsMovingAverageConfig", "ReorientConfig", "ReorientEnvConfig"]

_FROZEN = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ActionsMovingAverageConfig(BaseModel):
    """The action moving average ``u = alpha * a + (1 - alpha) * u_prev``, annealed.

    As DeXtreme's ``actionsMovingAverage``: ``alpha`` starts at ``range[1]`` and
    moves linearly to ``range[0]`` over ``schedule_steps`` task steps, updated
    every ``schedule_freq`` steps (a step is one call of ``step()``).

    Attributes:
        range: ``[final, initial]`` alpha, each in ``(0, 1]``. Default ``[1, 1]`` (off).
        schedule_steps: steps over which alpha anneals (``> 0``). Default 1.
        schedule_freq: alpha changes every this many steps (``> 0``). Default 1.
    """

    model_config = _FROZEN

    range: tuple[float, float] = (1.0, 1.0)
    schedule_steps: int = Field(default=1, gt=0)
    schedule_freq: int = Field(default=1, gt=0)

    def alpha_at(self, frame: int) -> float:
        """The weight ``alpha`` after ``frame`` steps (DeXtreme's schedule)."""
        final, initial = self.range
        stepped = frame - frame % self.schedule_freq
        progress = min(stepped, self.schedule_steps) / self.schedule_steps
        return initial + (final - initial) * progress

    @model_validator(mode="after")
    def _alphas_in_unit_interval(self) -> ActionsMovingAverageConfig:
        for value in self.range:
            if not 0.0 < value <= 1.0:
                raise ValueError(f"range values must lie in (0, 1], got {list(self.range)}")
        return self


class ReorientEnvConfig(BaseModel):
    """The ``env`` block of the Reorient task.

    Attributes:
        num_envs (``numEnvs``): parallel envs (``> 0``). Default 4096.
        episode_length (``episodeLength``): steps until timeout (``> 0``). Default 200.
        max_steps_without_success (``maxStepsWithoutSuccess``): an episode also
            ends after this many steps without a success (``> 0``). Default 80.
        dt (``controlDt``): seconds per step (``> 0``). Default 0.05.
        max_torque (``maxTorque``): torque of action 1 at ``actuator_effort`` 1. Default 20.
        base_inertia (``baseInertia``): moment of inertia at mass and inertia
            scale 1 (the object is a cube: isotropic). Default 1.
        success_tolerance (``successTolerance``): rotation distance (rad)
            counted as reaching the goal. Default 0.4.
        rot_reward_scale (``rotRewardScale``), rot_eps (``rotEps``): per-step
            reward ``rot_reward_scale / (distance + rot_eps)``. Defaults 1, 0.1.
        dist_reward_scale (``distRewardScale``): per-step reward
            ``dist_reward_scale * distance`` (negative: a penalty). Default 0.
        reach_goal_bonus (``reachGoalBonus``): reward on success. Default 250.
        action_penalty_scale (``actionPenaltyScale``): times ``|a|^2``. Default -0.0002.
        no_success_penalty (``noSuccessPenalty``): reward when the episode ends
            for lack of success. Default 0.
        vel_obs_scale (``velObsScale``): scale of the angular velocity observation. Default 0.2.
        stagger_initial_progress (``staggerInitialProgress``): a full reset starts
            every env at a random step of its first episode, so episodes end
            spread out in time (as IsaacGymEnvs' ADR tasks). Default True.
        aver_factor (``averFactor``): weight of new episodes in the
            ``consecutive_successes`` moving average. Default 0.1.
        actions_moving_average (``actionsMovingAverage``): see
            :class:`ActionsMovingAverageConfig`.
    """

    model_config = _FROZEN

    num_envs: int = Field(default=4096, gt=0, alias="numEnvs")
    episode_length: int = Field(default=200, gt=0, alias="episodeLength")
    max_steps_without_success: int = Field(default=80, gt=0, alias="maxStepsWithoutSuccess")
    dt: float = Field(default=0.05, gt=0.0, alias="controlDt")
    max_torque: float = Field(default=20.0, gt=0.0, alias="maxTorque")
    base_inertia: float = Field(default=1.0, gt=0.0, alias="baseInertia")
    success_tolerance: float = Field(default=0.4, gt=0.0, alias="successTolerance")
    rot_reward_scale: float = Field(default=1.0, alias="rotRewardScale")
    rot_eps: float = Field(default=0.1, gt=0.0, alias="rotEps")
    dist_reward_scale: float = Field(default=0.0, alias="distRewardScale")
    reach_goal_bonus: float = Field(default=250.0, alias="reachGoalBonus")
    action_penalty_scale: float = Field(default=-0.0002, alias="actionPenaltyScale")
    no_success_penalty: float = Field(default=0.0, alias="noSuccessPenalty")
    vel_obs_scale: float = Field(default=0.2, alias="velObsScale")
    stagger_initial_progress: bool = Field(default=True, alias="staggerInitialProgress")
    aver_factor: float = Field(default=0.1, ge=0.0, le=1.0, alias="averFactor")
    actions_moving_average: ActionsMovingAverageConfig = Field(
        default_factory=ActionsMovingAverageConfig, alias="actionsMovingAverage"
    )


class _TaskBlock(BaseModel):
    model_config = _FROZEN

    adr: ADRConfig


class ReorientConfig(BaseModel):
    """The whole task config: ``name``, ``env`` and ``task.adr``."""

    model_config = _FROZEN

    name: str = "Reorient"
    env: ReorientEnvConfig = Field(default_factory=ReorientEnvConfig)
    task: _TaskBlock

    @property
    def adr(self) -> ADRConfig:
        """The validated ``task.adr`` block."""
        return self.task.adr

    @classmethod
    def from_mapping(cls, mapping: ReorientConfig | Mapping[str, Any]) -> ReorientConfig:
        """Validate a task config (plain dict, OmegaConf node, ...).

        Raises:
            ConfigError: listing every invalid field as ``path: problem``.
        """
        return validate_config(cls, mapping, what="Reorient task config", name="task config")
