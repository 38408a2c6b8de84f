"""Validated ADR configuration.

:class:`ADRConfig` accepts the ``task.adr`` block of IsaacGymEnvs'
``AllegroHandDextremeADR.yaml`` unchanged (see ``cfg/adr/dextreme.yaml``) plus
a few options of this project (``queue_policy``, ``input_checks``). Config
is read once and never mutated: runtime state lives in the engine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from adr_domain.errors import ConfigError
from adr_domain.types import DeltaStyle, InputChecks, ParamType, QueuePolicy

__all__ = [
    "CATEGORICAL_MAX",
    "MIN_MAGNITUDE",
    "VALUE_MAX",
    "ADRConfig",
    "ADRParamConfig",
    "format_validation_errors",
    "to_plain",
    "validate_config",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

VALUE_MAX = 3.4028234663852886e38
"""The largest finite float32: per-env values of uniform parameters are float32,
and simulators take float32 properties, so no bound may grow past it."""
CATEGORICAL_MAX = float(2**53)
"""The largest integer every float64 holds exactly: categorical bounds stay within it."""
MIN_MAGNITUDE = 2.0**-60
"""The smallest non-zero magnitude a parameter's numbers may have. Bounds that
start from such numbers and move by such deltas are 0 or at least ``2**-112`` in
magnitude: never denormal, in float64 or float32."""


def _is_integer(value: float | None) -> bool:
    return value is None or (math.isfinite(value) and float(value).is_integer())


def _check_magnitude(value: float, what: str) -> None:
    """A parameter's number must be 0 or within ``[2**-60, 3.4e38]`` in magnitude."""
    if value != 0 and not MIN_MAGNITUDE <= abs(value) <= VALUE_MAX:
        raise ValueError(
            f"{what} must be 0 or between 2**-60 and 3.4e38 in magnitude (float32 values, "
            f"no denormals), got {value}"
        )


class ADRParamConfig(BaseModel):
    """One ADR parameter (an entry of ``adr.params``).

    Attributes:
        init_range: ``[lo, hi]`` at the start of training; ranges never shrink
            inside it.
        limits: ``[lo, hi]`` that ranges never grow past; a missing entry or
            ``null`` means unbounded on that side, where ranges stop at the
            largest value the parameter can hold (see :attr:`effective_limits`).
            Default: unbounded.
        delta: step by which a bound moves (``>= 0``; ``0`` disables the
            parameter for ADR and for the NPD metric).
        delta_style: ``additive`` (default) or ``multiplicative`` (``delta > 1``).
        type: ``uniform`` (default) or ``categorical`` (integer values; its
            ranges, limits and delta must be integers).
        range_path: dotted path of this parameter's ``range`` inside the
            built-in domain-randomization dict (e.g.
            ``actor_params.hand.dof_properties.damping.range``). Parameters with
            a ``range_path`` are applied by the simulator adapter; the others
            are *tensor parameters* whose per-env values the engine samples.
    """

    model_config = _FROZEN

    init_range: tuple[float, float]
    limits: tuple[float | None, float | None] = (None, None)
    delta: float
    delta_style: DeltaStyle = DeltaStyle.ADDITIVE
    type: ParamType = ParamType.UNIFORM
    range_path: str | None = None

    @field_validator("init_range")
    @classmethod
    def _init_range_ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        lo, hi = value
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"init_range must be finite, got [{lo}, {hi}]")
        if lo > hi:
            raise ValueError(f"init_range lower bound {lo} is above its upper bound {hi}")
        return value

    @field_validator("limits")
    @classmethod
    def _limits_ordered(
        cls, value: tuple[float | None, float | None]
    ) -> tuple[float | None, float | None]:
        lo, hi = value
        for side, v in (("lower", lo), ("upper", hi)):
            if v is not None and math.isnan(v):
                raise ValueError(f"limits {side} bound is NaN")
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"limits lower bound {lo} is above its upper bound {hi}")
        return value

    @field_validator("delta")
    @classmethod
    def _delta_non_negative(cls, value: float) -> float:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"delta must be a finite number >= 0, got {value}")
        _check_magnitude(value, "delta")
        return value

    @field_validator("init_range", "limits")
    @classmethod
    def _values_representable(
        cls, value: tuple[float | None, float | None]
    ) -> tuple[float | None, float | None]:
        for v in value:
            if v is not None and not math.isnan(v) and not math.isinf(v):
                _check_magnitude(v, "values")
        return value

    @field_validator("range_path")
    @classmethod
    def _range_path_well_formed(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(not part for part in value.split("."))):
            raise ValueError(f"range_path must be a dotted path like 'a.b.range', got {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ADRParamConfig:
        lo, hi = self.init_range
        lim_lo, lim_hi = self.limits
        if lim_lo is not None and lo < lim_lo:
            raise ValueError(f"init_range [{lo}, {hi}] starts below limits lower bound {lim_lo}")
        if lim_hi is not None and hi > lim_hi:
            raise ValueError(f"init_range [{lo}, {hi}] ends above limits upper bound {lim_hi}")
        if self.delta_style is DeltaStyle.MULTIPLICATIVE:
            if self.delta <= 1.0:
                raise ValueError(
                    f"delta must be > 1 with delta_style multiplicative, got {self.delta}"
                )
            if lo <= 0.0:
                raise ValueError(
                    f"delta_style multiplicative needs a positive init_range, got [{lo}, {hi}]"
                )
        if self.type is ParamType.CATEGORICAL:
            if not (_is_integer(lo) and _is_integer(hi)):
                raise ValueError(f"categorical init_range must hold integers, got [{lo}, {hi}]")
            if not all(v is None or math.isinf(v) or _is_integer(v) for v in self.limits):
                raise ValueError(f"categorical limits must be integers, got [{lim_lo}, {lim_hi}]")
            numbers = [lo, hi, *(v for v in self.limits if v is not None and math.isfinite(v))]
            if any(abs(v) > CATEGORICAL_MAX for v in numbers):
                raise ValueError(
                    f"categorical init_range and limits must lie within +-2**53, got "
                    f"[{lo}, {hi}] and [{lim_lo}, {lim_hi}]"
                )
            if self.delta_style is not DeltaStyle.ADDITIVE or not _is_integer(self.delta):
                raise ValueError(
                    "categorical parameters need an additive integer delta, got "
                    f"{self.delta_style.value} {self.delta}"
                )
        return self

    @property
    def effective_limits(self) -> tuple[float, float]:
        """The limits the engine applies: the configured ones, where an unbounded
        side (``null`` or infinite) stops at the largest value the parameter's
        values can hold (``+-3.4e38``, float32; ``+-2**53`` for categorical
        parameters) and a multiplicative parameter's lower side at ``2**-60``.
        Bounds, next limits, per-env values and NPD thus stay finite."""
        cap = CATEGORICAL_MAX if self.type is ParamType.CATEGORICAL else VALUE_MAX
        floor = MIN_MAGNITUDE if self.delta_style is DeltaStyle.MULTIPLICATIVE else -cap
        lo, hi = self.limits
        return (
            floor if lo is None or math.isinf(lo) else max(lo, floor),
            cap if hi is None or math.isinf(hi) else min(hi, cap),
        )

    @property
    def is_tensor(self) -> bool:
        """True for parameters sampled per env by the engine (no ``range_path``)."""
        return self.range_path is None


class ADRConfig(BaseModel):
    """The ``task.adr`` block.

    Attributes:
        use_adr: whether the task uses ADR at all (read by adapters). Default
            True here; the Isaac Gym task base, like IsaacGymEnvs, treats a
            ``task.adr`` block without ``use_adr`` as ADR off.
        update_adr_ranges: False freezes ranges (evaluation): finishing envs
            become rollout workers and no results are recorded. Default True.
        clear_other_queues: when a bound moves, clear every queue and
            reassign every boundary worker (only one parameter moves per
            update). Default False.
        adr_extended_boundary_sample: boundary workers play at the next limit
            (one delta beyond the bound) instead of at the bound. Default False.
        worker_adr_boundary_fraction: share of recycled envs that become
            boundary workers, in ``[0, 1]``. Default 0.4. (IsaacGymEnvs' code
            assigns this share to rollout workers instead; see README.)
        adr_queue_threshold_length: results a boundary queue needs before its
            bound may move (``> 0``). Default 256.
        adr_objective_threshold_low: a full queue whose mean is below this
            moves its bound inwards.
        adr_objective_threshold_high: a full queue whose mean is above this
            moves its bound outwards.
        adr_rollout_perf_alpha: EMA factor of the rollout-performance metric, in
            ``[0, 1]``. Default 0.99.
        adr_load_from_checkpoint: restore ranges, next limits and queues from a
            checkpoint (False: start them fresh from ``init_range``). Default True.
        queue_policy: ``sliding`` (default, IsaacGymEnvs) or
            ``clear_on_decision`` (OpenAI Algorithm 1).
        input_checks: what an update does with bad input values (env ids out
            of range or repeated, non-finite objectives of finished envs):
            ``deferred`` (default) keeps them out of the state and raises the
            first at the next ``engine.check()`` (no host sync in an update);
            ``eager`` raises at once, before anything changes (one host sync
            per update); ``off`` ignores out-of-range ids and non-finite
            results and does not detect repeated ids.
        validate_inputs: False is ``input_checks: off`` (kept from earlier
            versions). Default True.
        params: the parameters, by name, in a fixed order (at least one).
    """

    model_config = _FROZEN

    use_adr: bool = True
    update_adr_ranges: bool = True
    clear_other_queues: bool = False
    adr_extended_boundary_sample: bool = False
    worker_adr_boundary_fraction: float = Field(default=0.4, ge=0.0, le=1.0)
    adr_queue_threshold_length: int = Field(default=256, gt=0)
    adr_objective_threshold_low: float
    adr_objective_threshold_high: float
    adr_rollout_perf_alpha: float = Field(default=0.99, ge=0.0, le=1.0)
    adr_load_from_checkpoint: bool = True
    queue_policy: QueuePolicy = QueuePolicy.SLIDING
    input_checks: InputChecks = InputChecks.DEFERRED
    validate_inputs: bool = True
    params: dict[str, ADRParamConfig]

    @model_validator(mode="before")
    @classmethod
    def _validate_inputs_false_is_checks_off(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or data.get("validate_inputs", True) is not False:
            return data
        checks = data.get("input_checks", InputChecks.OFF.value)
        if checks not in (InputChecks.OFF, InputChecks.OFF.value):
            raise ValueError(
                f"validate_inputs: false means input_checks: off, but input_checks is {checks!r}"
            )
        return {**data, "input_checks": InputChecks.OFF.value}

    @model_validator(mode="after")
    def _checks_off_is_validate_inputs_false(self) -> ADRConfig:
        if self.input_checks is InputChecks.OFF and self.validate_inputs:
            object.__setattr__(self, "validate_inputs", False)
        return self

    @field_validator("params")
    @classmethod
    def _params_not_empty(cls, value: dict[str, ADRParamConfig]) -> dict[str, ADRParamConfig]:
        if not value:
            raise ValueError("at least one ADR parameter is needed")
        return value

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> ADRConfig:
        low, high = self.adr_objective_threshold_low, self.adr_objective_threshold_high
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"objective thresholds must be finite, got low={low}, high={high}")
        if low > high:
            raise ValueError(
                f"adr_objective_threshold_low ({low}) is above "
                f"adr_objective_threshold_high ({high})"
            )
        return self

    @property
    def param_names(self) -> tuple[str, ...]:
        """Parameter names in config order (index ``n`` of modes ``2n``/``2n+1``)."""
        return tuple(self.params)

    @classmethod
    def from_mapping(
        cls, mapping: ADRConfig | Mapping[str, Any], *, where: str = "adr"
    ) -> ADRConfig:
        """Validate a ``task.adr`` mapping (plain dict, OmegaConf node, ...).

        Args:
            mapping: the ``adr`` block.
            where: prefix used in error messages.

        Raises:
            ConfigError: listing every invalid field as ``where.path: problem``.
        """
        return validate_config(cls, mapping, what="ADR config", where=where)


def to_plain(value: Any) -> Any:
    """Recursively turn mappings and sequences (OmegaConf nodes too) into dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [to_plain(v) for v in value]
    return value


ModelT = TypeVar("ModelT", bound=BaseModel)


def validate_config(
    model: type[ModelT], mapping: object, *, what: str, where: str = "", name: str = ""
) -> ModelT:
    """``mapping`` (an instance already, a plain dict, an OmegaConf node, ...) as ``model``.

    Args:
        model: the pydantic config class.
        mapping: what to validate.
        what: the config's name in the heading of a validation error.
        where: prefix of every path in a validation error; none when empty.
        name: what a non-mapping error calls the config (default ``where``).

    Raises:
        ConfigError: not a mapping, or listing every invalid field as ``path: problem``.
    """
    if isinstance(mapping, model):
        return mapping
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{name or where}: expected a mapping, got {type(mapping).__name__}")
    try:
        return model.model_validate(to_plain(mapping))
    except ValidationError as exc:
        raise ConfigError(format_validation_errors(exc, what=what, where=where)) from None


def format_validation_errors(exc: ValidationError, *, what: str, where: str = "") -> str:
    """One ``path: problem`` line per invalid field of a pydantic error.

    Args:
        exc: the validation error.
        what: the config's name, for the heading ("invalid <what>:").
        where: prefix of every path (e.g. ``adr``); none when empty.
    """
    lines = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in ((where,) if where else ()) + tuple(err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] != "missing" and isinstance(
            err.get("input"), (str, int, float, bool, type(None))
        ):
            msg = f"{msg} (got {err['input']!r})"
        lines.append(f"{loc}: {msg}")
    return f"invalid {what}:\n  " + "\n  ".join(lines)
