"""Embedded tasks: pure-torch, vectorized, ADR-randomized environments that run on any CPU."""

from adr_app.tasks.adr_params import CATEGORICAL_PARAMS, REORIENT_ADR_PARAMS
from adr_app.tasks.config import ActionsMovingAverageConfig, ReorientConfig, ReorientEnvConfig
from adr_app.tasks.reorient import ReorientTask, StepResult
from adr_app.tasks.reorient_state import (
    NUM_ACTIONS,
    OBS_DIM,
    STATE_SCHEMA_VERSION,
    ReorientState,
    ReorientTaskState,
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
