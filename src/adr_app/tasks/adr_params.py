"""The Reorient task's ADR parameter set, and the check that a config fits it."""

from __future__ import annotations

import logging
import math
from typing import Final

from adr_domain import ADRConfig, ConfigError, ParamType

__all__ = ["CATEGORICAL_PARAMS", "REORIENT_ADR_PARAMS", "checked_adr_config"]

logger = logging.getLogger(__name__)

REORIENT_ADR_PARAMS: Final[tuple[str, ...]] = (
    "object_mass",
    "object_inertia",
    "object_damping",
    "actuator_effort",
    "action_latency",
    "action_delay_prob",
    "cube_obs_delay_prob",
    "cube_pose_refresh_rate",
    "affine_action_scaling",
    "affine_action_additive",
    "affine_action_white",
    "affine_cube_pose_scaling",
    "affine_cube_pose_additive",
    "affine_cube_pose_white",
)
"""ADR parameters the task reads; the config must define exactly these (any order)."""

CATEGORICAL_PARAMS: Final[tuple[str, ...]] = ("action_latency", "cube_pose_refresh_rate")
"""Parameters that must be ``type: categorical`` (integer steps)."""


def checked_adr_config(cfg: ADRConfig) -> ADRConfig:
    """The ADR config the task runs (``use_adr: false`` freezes ranges at ``init_range``).

    Raises:
        ConfigError: the parameter set does not fit the task.
    """
    problems = []
    names = set(cfg.params)
    missing = [n for n in REORIENT_ADR_PARAMS if n not in names]
    unknown = sorted(names - set(REORIENT_ADR_PARAMS))
    if missing:
        problems.append(f"missing parameters: {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown parameters (the task reads none of them): {', '.join(unknown)}")
    for name, spec in cfg.params.items():
        if spec.range_path is not None:
            problems.append(f"{name}: the Reorient task has no range_path parameters")
        expected = ParamType.CATEGORICAL if name in CATEGORICAL_PARAMS else ParamType.UNIFORM
        if name in REORIENT_ADR_PARAMS and spec.type is not expected:
            problems.append(f"{name}: type must be {expected.value}, got {spec.type.value}")
    latency = cfg.params.get("action_latency")
    if latency is not None:
        hi = latency.limits[1]
        if hi is None or not math.isfinite(hi):
            problems.append("action_latency: limits need a finite upper bound (queue size)")
        if latency.limits[0] is None or latency.limits[0] < 0:
            problems.append("action_latency: limits need a lower bound >= 0")
    if problems:
        raise ConfigError("task.adr does not fit the Reorient task:\n  " + "\n  ".join(problems))
    if not cfg.use_adr and cfg.update_adr_ranges:
        logger.info("use_adr is false: ADR ranges stay at init_range (plain randomization)")
        return cfg.model_copy(update={"update_adr_ranges": False})
    return cfg
