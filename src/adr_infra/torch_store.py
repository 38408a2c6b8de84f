"""The ``.pth`` store: rl_games-compatible checkpoint files, loaded without running code.

A file is what rl_games itself writes (``torch.save`` of a dict with ``model``,
``optimizer``, ``epoch``, ``frame``, ``last_mean_rewards``, ``env_state``, ...)
plus one ``adr_kit`` entry (format version and checksum), so rl_games' own
loader (``torch_ext.load_checkpoint`` + ``set_full_state_weights``) and its
players read it unchanged.

Loading never executes code from the file:

1. the zip archive's CRC-32 of every record is verified (torch itself does not
   check them), so a damaged record is reported before anything is unpickled;
2. ``torch.load(weights_only=True, map_location="cpu")`` reads it, allowing,
   besides tensors and containers, only numpy scalars (rl_games saves
   ``last_mean_rewards`` as a ``numpy.float32``); a pickle that would import
   anything else is refused with :class:`~adr_infra.errors.UnsafeCheckpointError`;
3. the content checksum in ``adr_kit`` is verified (files written by plain
   rl_games have none and are imported as format version 0).
"""

from __future__ import annotations

import importlib
import io
import os
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from adr_infra.checkpoint import Checkpoint, encode_payload
from adr_infra.errors import (
    CorruptCheckpointError,
    UnsafeCheckpointError,
)
from adr_infra.paths import PathLike
from adr_infra.payload import checkpoint_file, decode_payload, write_checkpoint_file

__all__ = ["TorchStore", "numpy_safe_globals", "read_torch_file"]


_NUMPY_DTYPE_CLASSES = (
    "BoolDType",
    "Int8DType",
    "Int16DType",
    "Int32DType",
    "Int64DType",
    "UInt8DType",
    "UInt16DType",
    "UInt32DType",
    "UInt64DType",
    "Float16DType",
    "Float32DType",
    "Float64DType",
    "LongDType",
    "ULongDType",
    "LongLongDType",
    "ULongLongDType",
)


def numpy_safe_globals() -> list[Any]:
    """The numpy globals a pickled numpy scalar needs (``numpy.float32(...)`` etc.).

    ``numpy.core.multiarray.scalar`` (files written with numpy 1.x) and
    ``numpy._core.multiarray.scalar`` (numpy 2.x) rebuild a scalar from a
    ``numpy.dtype`` and its raw bytes; the dtype classes are needed to restore
    the dtype's state. None of them can run code.
    """
    try:
        multiarray = importlib.import_module("numpy._core.multiarray")
    except ImportError:  # pragma: no cover - numpy < 2
        multiarray = importlib.import_module("numpy.core.multiarray")
    import numpy as np

    scalar = multiarray.scalar
    allowed: list[Any] = [
        scalar,
        (scalar, "numpy.core.multiarray.scalar"),
        (scalar, "numpy._core.multiarray.scalar"),
        np.dtype,
    ]
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        allowed += [getattr(dtypes, name) for name in _NUMPY_DTYPE_CLASSES if hasattr(dtypes, name)]
    return allowed


_GLOBAL_RE = re.compile(r"GLOBAL ([\w.]+(?: [\w.]+)?)")
_BUILD_RE = re.compile(r"but got (<class '[^']+'>)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_zip_records(path: Path) -> None:
    """Verify the CRC-32 of every record of a zip-format torch file."""
    try:
        if not zipfile.is_zipfile(path):
            return  # legacy (pre-zip) torch format, or not a torch file: torch.load decides
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.CRC == 0 and info.file_size > 0:
                    continue  # written with torch.serialization.set_crc32_options(False)
                with archive.open(info) as record:
                    while record.read(1 << 22):
                        pass
    except Exception as exc:  # zipfile raises BadZipFile, NotImplementedError, ... when damaged
        raise CorruptCheckpointError(path, f"damaged archive: {_first_line(exc)}") from None


def read_torch_file(path: PathLike) -> object:
    """``torch.load`` a file safely (see the module docstring), onto the CPU.

    Raises:
        CheckpointNotFoundError: no such file.
        UnsafeCheckpointError: its pickle would import something other than
            tensors, containers and numpy scalars (never executed).
        CorruptCheckpointError: empty, truncated, damaged, or not a torch file.
    """
    file = checkpoint_file(path)
    _check_zip_records(file)
    try:
        with torch.serialization.safe_globals(numpy_safe_globals()):
            return torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        message = str(exc)
        found = _GLOBAL_RE.search(message) or _BUILD_RE.search(message)
        if found is not None and "Weights only load failed" in message:
            raise UnsafeCheckpointError(
                file,
                f"refused: its pickle would import {found.group(1).replace(' ', '.')}, which "
                "could run code when loaded (only tensors, containers and numpy scalars are "
                "allowed); it was not executed",
            ) from None
        raise CorruptCheckpointError(
            file, f"not a readable torch file: {_first_line(exc)}"
        ) from None
    except Exception as exc:  # torch raises many types for damaged files
        raise CorruptCheckpointError(
            file, f"not a readable torch file ({type(exc).__name__}: {_first_line(exc)})"
        ) from None


class TorchStore:
    """Checkpoints as rl_games ``.pth`` files (``torch.save``), written atomically."""

    suffixes = (".pth", ".pt")

    def save(self, path: PathLike, checkpoint: Checkpoint) -> None:
        """Write ``checkpoint`` as an rl_games checkpoint dict with an ``adr_kit`` entry.

        The file is serialized in memory first and then written with plain OS
        calls, so a full disk or a denied permission is one clear error.

        Raises:
            CheckpointWriteError: the file could not be written (cause named).
        """
        buffer = io.BytesIO()
        torch.save(encode_payload(checkpoint), buffer)
        write_checkpoint_file(path, buffer.getbuffer())

    def load(self, path: PathLike) -> Checkpoint:
        """Read a checkpoint written by sim2real-adr or by rl_games (IsaacGymEnvs included).

        Raises:
            CheckpointNotFoundError, CorruptCheckpointError, UnsafeCheckpointError,
            UnsupportedVersionError: naming the file.
        """
        return decode_payload(read_torch_file(path), os.fspath(path))

    def exists(self, path: PathLike) -> bool:
        """Whether ``path`` is a file."""
        return Path(path).is_file()
