"""Embedded tasks: pure-torch, vectorized, ADR-randomized environments that run on any CPU."""

from adr_app.tasks.config import ActionsMovingAverageConfig, ReorientConfig, ReorientEnvConfig
from adr_app.tasks.reorient import (
    CATEGORICAL_PARAMS,
    NUM_ACTIONS,
    OBS_DIM,
    REORIENT_ADR_PARAMS,
    STATE_SCHEMA_VERSION,
    ReorientState,
    ReorientTask,
    ReorientTaskState,
    StepResult,
)

__all__ = [
    "CATEGORICAL_PARAMS",
    "NUM_ACTIONS",
    "OBS_DIM",
    "REORIENT_ADR_PARAMS",
    "STATE_SCHEMA_VERSION",
    "ActionsMovingAverageConfig",
    "ReorientConfig",
    "ReorientEnvConfig",
    "ReorientState",
    "ReorientTask",
    "ReorientTaskState",
    "StepResult",
]
