"""Exceptions raised by the ADR engine. All are ``ValueError`` subclasses."""

from __future__ import annotations

__all__ = ["ConfigError", "IncompatibleStateError", "SchemaVersionError", "StateError"]


class ConfigError(ValueError):
    """An ADR config is invalid; the message names each offending field."""


class StateError(ValueError):
    """A state dict cannot be loaded; the message says what is wrong with it."""


class SchemaVersionError(StateError):
    """A state dict was written with a schema version this code does not know."""


class IncompatibleStateError(StateError):
    """A state dict belongs to another parameter set or another number of envs."""
