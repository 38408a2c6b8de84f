"""Errors of the persistence layer. All are ``ValueError`` subclasses naming the file.

Every error carries the ``path`` it is about and a ``reason``; its message is
``"<path>: <reason>"`` so that a one-line report is enough to act on it.
"""

from __future__ import annotations

import os

from adr_infra.paths import PathLike

__all__ = [
    "CheckpointError",
    "CheckpointNotFoundError",
    "CheckpointWriteError",
    "CorruptCheckpointError",
    "IncompatibleCheckpointError",
    "TreeError",
    "UnknownFormatError",
    "UnsafeCheckpointError",
    "UnsupportedVersionError",
]


class TreeError(ValueError):
    """A value cannot be stored in a checkpoint; the message names where it sits and why."""


class CheckpointError(ValueError):
    """A checkpoint cannot be found, read, written or restored.

    Args:
        path: the file (or store location) concerned.
        reason: what is wrong with it, in words.

    Attributes:
        path: the file as a string.
        reason: the problem.
    """

    def __init__(self, path: PathLike, reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[type[CheckpointError], tuple[str, str]]:
        return (type(self), (self.path, self.reason))


class CheckpointNotFoundError(CheckpointError):
    """No checkpoint at the path (or none in an experiment's directory)."""


class CheckpointWriteError(CheckpointError):
    """A checkpoint could not be written (disk full, permission denied, any OS error).

    The reason names the cause; the previous file at the path, if any, is intact
    and no temp file is left behind.
    """


class UnknownFormatError(CheckpointError):
    """The path's suffix or ``scheme://`` prefix belongs to no registered store."""


class CorruptCheckpointError(CheckpointError):
    """The file is not a valid checkpoint: truncated, damaged (checksum), or foreign."""


class UnsafeCheckpointError(CorruptCheckpointError):
    """The file's pickle would import code when loaded; it was refused, never executed.

    A special case of :class:`CorruptCheckpointError`: sim2real-adr never writes such
    a file, so it is either damaged or was made by something else.
    """


class UnsupportedVersionError(CheckpointError):
    """The checkpoint (or the engine state in it) has a format version this code cannot read."""


class IncompatibleCheckpointError(CheckpointError):
    """The checkpoint is valid but does not fit the engine or task it is restored into."""
