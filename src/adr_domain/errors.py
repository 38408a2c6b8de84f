"""Exceptions raised by the ADR engine. All are ``ValueError`` subclasses."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "IncompatibleStateError",
    "InputError",
    "SchemaVersionError",
    "StateError",
]


class ConfigError(ValueError):
    """An ADR config is invalid; the message names each offending field."""


class StateError(ValueError):
    """A state dict cannot be loaded; the message says what is wrong with it."""


class SchemaVersionError(StateError):
    """A state dict was written with a schema version this code does not know."""


class IncompatibleStateError(StateError):
    """A state dict belongs to another parameter set or another number of envs."""


class InputError(ValueError):
    """Bad input values of an engine call (env ids out of range or repeated,
    non-finite objectives); the message names the argument, the env id and
    the value. Raised at once with ``input_checks: eager``, at the next
    ``engine.check()`` with ``deferred``."""
