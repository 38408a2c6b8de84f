"""Small value types shared by the ADR engine: worker kinds, bounds, styles."""

from __future__ import annotations

from enum import Enum, IntEnum

import attrs

__all__ = ["Bound", "Boundary", "DeltaStyle", "ParamType", "QueuePolicy", "WorkerType"]


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


class Bound(IntEnum):
    """Which end of a parameter's range."""

    LOW = 0
    HIGH = 1


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


@attrs.frozen
class Boundary:
    """One end of one parameter's range: ``(param_index, bound)``.

    The ``2n`` / ``2n + 1`` integer encoding ("ADR mode") of the reference
    implementation exists only at the compatibility edge, via :attr:`mode` and
    :meth:`from_mode`.
    """

    param: int = attrs.field(validator=attrs.validators.ge(0))
    bound: Bound = attrs.field(converter=Bound)

    @property
    def mode(self) -> int:
        """The reference's mode index: ``2 * param + bound``."""
        return 2 * self.param + int(self.bound)

    @classmethod
    def from_mode(cls, mode: int) -> Boundary:
        """Decode a reference mode index (``2n`` = lower, ``2n + 1`` = upper of param ``n``)."""
        if mode < 0:
            raise ValueError(f"mode must be >= 0, got {mode}")
        return cls(mode // 2, Bound(mode % 2))
