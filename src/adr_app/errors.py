"""Errors of the ``adr-train`` application and the exit statuses they map to."""

from __future__ import annotations

__all__ = ["EXIT_FAILED", "EXIT_USAGE", "UsageError"]

EXIT_FAILED = 1
"""A run that started and failed (a save failed, a checkpoint is corrupt, a peer died)."""
EXIT_USAGE = 2
"""Refused before any work: the command line, the config, the checkpoint to resume, or
another run owning the run directory."""


class UsageError(ValueError):
    """A problem with the command line, the config or the run directory (exit code 2)."""
