"""Physical validity of ADR-driven model fields: the rule, free of any simulator.

A simulator field has a valid domain (a mass is > 0, a damping >= 0, ...).
An ADR parameter bound to it with an operation (``scale`` the default,
``add`` to it, or ``abs``) can take any value in its ``limits`` (the engine
never moves a bound past them, next limits included) and starts in its
``init_range``; :func:`find_violation` tells whether some value the parameter
may take would put some element of the field outside its domain.

Every operation is monotone in the parameter's value and every domain is an
interval, so the ends of the parameter's interval decide: checking
``init_range`` and (effective) ``limits`` bounds is the whole check. A value
equal to the element's compiled default is always accepted (the model was
compiled with it: e.g. ``scale`` of an axis whose default is 0).

The simulator bindings own their field tables (``adr_lab.mjlab.domains`` for
mjlab, ``adr_lab.isaaclab.domains`` for Isaac Lab's event terms) and use this
module to check a binding while the env is built.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

from adr_domain import ADRParamConfig

__all__ = [
    "ANY",
    "NON_NEGATIVE",
    "OPERATIONS",
    "POSITIVE",
    "SAME_SIGN",
    "UNIT_INTERVAL",
    "ValidDomain",
    "Violation",
    "find_violation",
    "operate",
    "param_bounds",
]

OPERATIONS = ("scale", "add", "abs")
"""How a parameter's value combines with a field's default: default x value,
default + value, or the value itself."""


@attrs.frozen
class ValidDomain:
    """The values a field's element may hold: an interval, open or closed at each end.

    Attributes:
        low: lower end (``-inf``: none).
        high: upper end (``inf``: none).
        low_open: the lower end itself is invalid (``> low``).
        high_open: the upper end itself is invalid (``< high``).
        keeps_sign: the value must be non-zero and of its default's sign
            (e.g. an actuator gear: 0 disables the motor, a sign flip reverses it).
    """

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    keeps_sign: bool = False

    def for_default(self, default: float) -> ValidDomain:
        """The domain of an element whose compiled default is ``default``."""
        if not self.keeps_sign or default == 0:
            return self
        if default > 0:
            return ValidDomain(low=0.0, low_open=True)
        return ValidDomain(high=0.0, high_open=True)

    def contains(self, value: float) -> bool:
        """Whether ``value`` is valid (NaN never is)."""
        if math.isnan(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def describe(self) -> str:
        """In words: ``"> 0"``, ``">= 0"``, ``"in [0, 1]"``, ``"any value"``."""
        if self.keeps_sign:
            return "non-zero and of its default's sign"
        low = "-inf" if math.isinf(self.low) else f"{self.low:g}"
        high = "inf" if math.isinf(self.high) else f"{self.high:g}"
        if math.isinf(self.low) and math.isinf(self.high):
            return "any value"
        if math.isinf(self.high):
            return f"{'>' if self.low_open else '>='} {low}"
        if math.isinf(self.low):
            return f"{'<' if self.high_open else '<='} {high}"
        return f"in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"


ANY = ValidDomain()
POSITIVE = ValidDomain(low=0.0, low_open=True)
NON_NEGATIVE = ValidDomain(low=0.0)
UNIT_INTERVAL = ValidDomain(low=0.0, high=1.0)
SAME_SIGN = ValidDomain(keeps_sign=True)


def operate(operation: str, default: float, value: float) -> float:
    """The field's element after ``operation`` with the parameter at ``value``.

    Raises:
        ValueError: ``operation`` is not one of :data:`OPERATIONS`.
    """
    if operation == "scale":
        return 0.0 if default == 0 else default * value
    if operation == "add":
        return default + value
    if operation == "abs":
        return value
    raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}; got {operation!r}")


def param_bounds(cfg: ADRParamConfig) -> tuple[tuple[str, float], ...]:
    """The ends of the values a parameter may take, named: init range first, then limits.

    Unbounded limits are the engine's effective ones (the largest value the
    parameter can hold), named as such.
    """
    init_lo, init_hi = cfg.init_range
    lim_lo, lim_hi = cfg.effective_limits
    open_lo, open_hi = (v is None or math.isinf(v) for v in cfg.limits)
    return (
        ("init_range lower bound", float(init_lo)),
        ("init_range upper bound", float(init_hi)),
        ("limits lower bound" + (" (unbounded)" if open_lo else ""), float(lim_lo)),
        ("limits upper bound" + (" (unbounded)" if open_hi else ""), float(lim_hi)),
    )


@attrs.frozen
class Violation:
    """A parameter value that would put an element of a field outside its domain.

    Attributes:
        bound: which end of the parameter's values, e.g. ``"limits lower bound"``.
        value: the parameter's value there.
        element: index into the ``defaults`` given to :func:`find_violation`.
        default: that element's compiled default.
        result: what the element would hold.
        domain: the element's valid domain.
    """

    bound: str
    value: float
    element: int
    default: float
    result: float
    domain: ValidDomain

    def describe(self, field: str, element: str, operation: str) -> str:
        """One line: which bound, what it does to which element, what is valid."""
        return (
            f"its {self.bound} {self.value:g} would make {field} of {element} {self.result:g} "
            f"(default {self.default:g}, operation {operation}); {field} must be "
            f"{self.domain.describe()}"
        )


def find_violation(
    domain: ValidDomain,
    operation: str,
    defaults: Sequence[float],
    bounds: Sequence[tuple[str, float]],
) -> Violation | None:
    """The first parameter bound that would put an element outside ``domain``, or None.

    Args:
        domain: the field's valid domain.
        operation: one of :data:`OPERATIONS`.
        defaults: the compiled defaults of the elements the parameter writes.
        bounds: the named ends of the parameter's values (:func:`param_bounds`).
    """
    for name, value in bounds:
        for element, default in enumerate(defaults):
            result = operate(operation, default, value)
            valid = domain.for_default(default)
            if result != default and not valid.contains(result):
                return Violation(name, value, element, default, result, valid)
    return None
