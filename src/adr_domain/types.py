"""Small value types shared by the ADR engine: worker kinds, bounds, styles."""

from __future__ import annotations

from enum import Enum, IntEnum

__all__ = ["DeltaStyle", "InputChecks", "ParamType", "QueuePolicy", "WorkerType"]


class WorkerType(IntEnum):
    """What an environment is doing in its current episode.

    The integer values are those of IsaacGymEnvs' ``RolloutWorkerModes`` so the
    ``worker_types`` tensor means the same thing in both implementations.
    """

    ROLLOUT = 0
    """Plays with parameters sampled from the current ranges."""
    BOUNDARY = 1
    """Plays with one parameter pinned to one bound; its result decides that bound."""
    TEST = 2
    """Plays with default parameters; never assigned by the engine."""


class DeltaStyle(str, Enum):
    """How a bound moves by one step."""

    ADDITIVE = "additive"
    """``x + delta`` / ``x - delta``."""
    MULTIPLICATIVE = "multiplicative"
    """``x * delta`` / ``x / delta`` (needs ``delta > 1``)."""


class ParamType(str, Enum):
    """How per-env values of a tensor parameter are drawn from its range."""

    UNIFORM = "uniform"
    """Real values, uniform on ``[lo, hi]`` (stored as float32)."""
    CATEGORICAL = "categorical"
    """Integers, uniform on ``{lo, ..., hi}`` (stored as int64)."""


class QueuePolicy(str, Enum):
    """When a full boundary queue is emptied."""

    SLIDING = "sliding"
    """IsaacGymEnvs: a full queue keeps sliding (oldest results drop out) and is
    re-evaluated at every update; it is cleared only when its bound moves."""
    CLEAR_ON_DECISION = "clear_on_decision"
    """OpenAI's Algorithm 1: a queue is cleared every time it is evaluated full,
    whether or not its bound moved."""


class InputChecks(str, Enum):
    """What an update does with bad input values (ids out of range or repeated,
    non-finite objectives of finished envs)."""

    DEFERRED = "deferred"
    """Keep them out of the state on the device and raise the first at the
    next ``engine.check()`` (no host sync in the update)."""
    EAGER = "eager"
    """Raise at once, before anything changes (one host sync per update)."""
    OFF = "off"
    """Do not check: out-of-range ids and non-finite results are ignored,
    repeated ids are not detected (no host sync)."""
