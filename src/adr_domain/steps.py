"""One step of one bound, on Python floats (the scalar twin of the engine's tables)."""

from __future__ import annotations

from enum import Enum

from adr_domain.types import DeltaStyle

__all__ = ["Direction", "step_bound"]

CHANGE_TOLERANCE = 1e-9
"""A step "changed" a bound when it moved it by more than this."""


class Direction(str, Enum):
    """Which way a bound moves."""

    UP = "up"
    DOWN = "down"


def step_bound(
    value: float,
    direction: Direction | str,
    delta: float,
    delta_style: DeltaStyle | str = DeltaStyle.ADDITIVE,
    limit: float | None = None,
) -> tuple[float, bool]:
    """Move ``value`` one step, never past ``limit``.

    Up is ``value + delta`` (additive) or ``value * delta`` (multiplicative),
    capped at ``limit``; down is ``value - delta`` or ``value / delta``,
    floored at ``limit``.

    Returns:
        ``(new_value, changed)``; ``changed`` is whether it moved by more than 1e-9.

    Raises:
        ValueError: unknown direction or style, a negative delta, or a
            multiplicative delta ``<= 1``.
    """
    try:
        direction = Direction(direction)
    except ValueError:
        raise ValueError(f"direction must be 'up' or 'down', got {direction!r}") from None
    try:
        style = DeltaStyle(delta_style)
    except ValueError:
        raise ValueError(
            f"delta_style must be 'additive' or 'multiplicative', got {delta_style!r}"
        ) from None
    if delta < 0:
        raise ValueError(f"delta must be >= 0, got {delta}")
    if style is DeltaStyle.MULTIPLICATIVE and delta <= 1.0:
        raise ValueError(f"delta must be > 1 with delta_style multiplicative, got {delta}")
    if direction is Direction.UP:
        new = value * delta if style is DeltaStyle.MULTIPLICATIVE else value + delta
        if limit is not None:
            new = min(new, limit)
    else:
        new = value / delta if style is DeltaStyle.MULTIPLICATIVE else value - delta
        if limit is not None:
            new = max(new, limit)
    return new, abs(new - value) > CHANGE_TOLERANCE
