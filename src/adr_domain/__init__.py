"""Pure, vectorized Automatic Domain Randomization (ADR).

Imports torch, pydantic, attrs and the standard library only: no file IO, no
simulator, no training framework, no global random state.
"""

from adr_domain.adr_log_keys import adr_log_keys, adr_log_tensors, adr_log_values
from adr_domain.config import ADRConfig, ADRParamConfig
from adr_domain.engine import ADREngine, EnvIds
from adr_domain.engine_state import (
    SCHEMA_VERSION,
    EngineState,
    adopt_shared_state,
    merge_engine_state,
    migrate_engine_state,
    split_engine_state,
)
from adr_domain.env_state_keys import ENGINE_STATE_KEY, REFERENCE_PARAMS_KEY, SCHEMA_VERSION_KEY
from adr_domain.errors import (
    ConfigError,
    IncompatibleStateError,
    InputError,
    SchemaVersionError,
    StateError,
)
from adr_domain.exchange import BoundaryExchange
from adr_domain.params import ParamTable
from adr_domain.reference_params import reference_param_entry, reference_params
from adr_domain.report import UpdateReport
from adr_domain.state_toolkit import (
    Commit,
    Migration,
    StagedLoad,
    Stateful,
    StateReader,
    checked_generator_state,
    commit_all,
    is_int,
)
from adr_domain.steps import Direction, step_bound
from adr_domain.types import DeltaStyle, InputChecks, ParamType, QueuePolicy, WorkerType

__all__ = [
    "ENGINE_STATE_KEY",
    "REFERENCE_PARAMS_KEY",
    "SCHEMA_VERSION",
    "SCHEMA_VERSION_KEY",
    "ADRConfig",
    "ADREngine",
    "ADRParamConfig",
    "BoundaryExchange",
    "Commit",
    "ConfigError",
    "DeltaStyle",
    "Direction",
    "EngineState",
    "EnvIds",
    "IncompatibleStateError",
    "InputChecks",
    "InputError",
    "Migration",
    "ParamTable",
    "ParamType",
    "QueuePolicy",
    "SchemaVersionError",
    "StagedLoad",
    "StateError",
    "StateReader",
    "Stateful",
    "UpdateReport",
    "WorkerType",
    "adopt_shared_state",
    "adr_log_keys",
    "adr_log_tensors",
    "adr_log_values",
    "checked_generator_state",
    "commit_all",
    "is_int",
    "merge_engine_state",
    "migrate_engine_state",
    "reference_param_entry",
    "reference_params",
    "split_engine_state",
    "step_bound",
]
