"""The one path type of the stores, file helpers and errors."""

from __future__ import annotations

import os

__all__ = ["PathLike"]

PathLike = str | os.PathLike[str]
"""Where a checkpoint lives: a ``str`` or any ``os.PathLike[str]`` (``pathlib.Path``)."""
