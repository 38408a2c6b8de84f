"""Reading a stored payload back: checksum, format migrations, typing; writing its bytes.

Every store hands what it read to :func:`decode_payload` (verify the checksum,
migrate older formats with the pure functions of :data:`FORMAT_MIGRATIONS`,
build the :class:`~adr_infra.checkpoint.Checkpoint`) and its serialized bytes
to :func:`write_checkpoint_file` (atomic, every OS error one
:class:`~adr_infra.errors.CheckpointWriteError`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adr_domain import Migration, is_int
from adr_infra.atomic import atomic_write_bytes, is_temp_file
from adr_infra.checkpoint import (
    CHECKSUM_PREFIX,
    ENV_STATE_KEY,
    FORMAT_NAME,
    FORMAT_VERSION,
    META_KEY,
    Checkpoint,
    CheckpointMeta,
    Payload,
    engine_identity,
    world_size_of,
)
from adr_infra.errors import (
    CheckpointNotFoundError,
    CheckpointWriteError,
    CorruptCheckpointError,
    IncompatibleCheckpointError,
    TreeError,
    UnsupportedVersionError,
)
from adr_infra.paths import PathLike
from adr_infra.tree import tree_digest

__all__ = [
    "FORMAT_MIGRATIONS",
    "checkpoint_file",
    "decode_payload",
    "migrate_payload",
    "migrate_v0_to_v1",
    "migrate_v1_to_v2",
    "verify_payload",
    "write_checkpoint_file",
]

# Version N -> pure function turning a version-N payload into version N + 1.
FORMAT_MIGRATIONS: dict[int, Migration] = {}


def migrate_v0_to_v1(payload: Payload) -> Payload:
    """Version 0 (a plain rl_games checkpoint, no ``adr_kit`` entry) to version 1.

    Adds the metadata that can be read off the content (the engine state's
    parameter-set hash and schema version); the creation time is unknown.
    """
    digest, schema = engine_identity(payload.get(ENV_STATE_KEY))
    meta = {
        "format": FORMAT_NAME,
        "format_version": 1,
        "created_at": None,
        "experiment": None,
        "param_set_hash": digest,
        "engine_schema_version": schema,
        "producer": "rl_games",
    }
    return {**payload, META_KEY: meta}


def migrate_v1_to_v2(payload: Payload) -> Payload:
    """Version 1 to version 2: the metadata records the world size and the ADR config.

    The world size is read off the env state (its ``world_size`` entry, else 1);
    version 1 did not keep the ADR config, so it is None.
    """
    meta = dict(payload[META_KEY])
    meta.update(
        format_version=2,
        world_size=world_size_of(payload.get(ENV_STATE_KEY)),
        adr_config=None,
    )
    return {**payload, META_KEY: meta}


FORMAT_MIGRATIONS[0] = migrate_v0_to_v1
FORMAT_MIGRATIONS[1] = migrate_v1_to_v2


def payload_version(payload: Mapping[str, Any], path: PathLike) -> int:
    """Format version of a raw payload (0 when it has no ``adr_kit`` entry)."""
    meta = payload.get(META_KEY)
    if meta is None:
        return 0
    if not isinstance(meta, Mapping):
        raise CorruptCheckpointError(path, f"'{META_KEY}' is a {type(meta).__name__}, not a dict")
    version = meta.get("format_version")
    if not is_int(version) or version < 0:
        raise CorruptCheckpointError(path, f"'{META_KEY}.format_version' is invalid: {version!r}")
    return version


def _check_not_newer(version: int, path: PathLike) -> None:
    if version > FORMAT_VERSION:
        raise UnsupportedVersionError(
            path,
            f"checkpoint format version {version} is newer than this code "
            f"(reads up to {FORMAT_VERSION}); upgrade sim2real-adr",
        )


def migrate_payload(payload: Payload, path: PathLike) -> Payload:
    """Bring a verified payload to :data:`FORMAT_VERSION` with :data:`FORMAT_MIGRATIONS`.

    Raises:
        UnsupportedVersionError: the version is newer than this code or has no migration.
    """
    version = payload_version(payload, path)
    _check_not_newer(version, path)
    while version < FORMAT_VERSION:
        step = FORMAT_MIGRATIONS.get(version)
        if step is None:
            raise UnsupportedVersionError(
                path, f"checkpoint format version {version} has no migration to {FORMAT_VERSION}"
            )
        payload = step(payload)
        version = payload_version(payload, path)
    return payload


def verify_payload(payload: Mapping[str, Any], path: PathLike) -> None:
    """Check the stored checksum of a payload that has an ``adr_kit`` entry.

    Raises:
        CorruptCheckpointError: no checksum, or it does not match the content.
    """
    meta = payload.get(META_KEY)
    if not isinstance(meta, Mapping):
        raise CorruptCheckpointError(path, f"no '{META_KEY}' metadata")
    stored = meta.get("checksum")
    if not isinstance(stored, str):
        raise CorruptCheckpointError(path, f"no checksum in '{META_KEY}'")
    if not stored.startswith(CHECKSUM_PREFIX):
        # Written by a newer sim2real-adr with another checksum: report its version if newer.
        _check_not_newer(payload_version(payload, path), path)
        raise CorruptCheckpointError(path, f"unknown checksum algorithm in {stored!r}")
    unsigned = dict(payload)
    unsigned[META_KEY] = {k: v for k, v in meta.items() if k != "checksum"}
    try:
        actual = tree_digest(unsigned)
    except TreeError as exc:
        raise CorruptCheckpointError(path, f"unreadable content: {exc}") from None
    if actual != stored:
        raise CorruptCheckpointError(
            path, f"checksum mismatch (stored {stored}, content {actual}): the file is damaged"
        )


def checkpoint_file(path: PathLike) -> Path:
    """``path`` as a :class:`~pathlib.Path`, once it names a non-empty regular file.

    Raises:
        CheckpointNotFoundError: nothing there, or a directory.
        CorruptCheckpointError: an empty file.
    """
    file = Path(path)
    if not file.is_file():
        reason = "is a directory, not a checkpoint file" if file.is_dir() else "no such file"
        raise CheckpointNotFoundError(file, reason)
    if file.stat().st_size == 0:
        raise CorruptCheckpointError(file, "empty file")
    return file


def _os_reason(exc: OSError, target: Path) -> str:
    """The cause of a failed write in words, naming another file only when it matters."""
    cause = exc.strerror or type(exc).__name__
    if exc.filename is None or is_temp_file(exc.filename):
        return cause
    culprit = Path(os.fspath(exc.filename))
    return cause if culprit == target else f"{cause} ({culprit})"


def write_checkpoint_file(path: PathLike, data: bytes | memoryview) -> None:
    """Write a serialized checkpoint atomically (temp file, fsync, rename).

    Raises:
        CheckpointWriteError: any OS error (disk full, permission denied, ...),
            naming the file and the cause; nothing is left behind and the
            previous file at ``path`` is intact.
    """
    target = Path(path)
    try:
        atomic_write_bytes(target, data)
    except OSError as exc:
        raise CheckpointWriteError(
            target, f"cannot save the checkpoint: {_os_reason(exc, target)}"
        ) from None


def decode_payload(payload: object, path: PathLike, *, require_meta: bool = False) -> Checkpoint:
    """Verify, migrate and type a payload read by a store.

    Args:
        payload: what the store read (a dict for a valid file).
        path: the file, for error messages.
        require_meta: refuse payloads without an ``adr_kit`` entry (stores that
            only hold files written by sim2real-adr, such as HDF5).

    Raises:
        CorruptCheckpointError: not a dict with string keys, no metadata when
            required, a checksum mismatch, or invalid metadata.
        UnsupportedVersionError: a newer format version.
        IncompatibleCheckpointError: the content cannot form a checkpoint
            (e.g. ``env_state`` is neither a dict nor None).
    """
    if not isinstance(payload, dict):
        raise CorruptCheckpointError(
            path, f"not a checkpoint: the file holds a {type(payload).__name__}, not a dict"
        )
    if not all(isinstance(k, str) for k in payload):
        raise CorruptCheckpointError(path, "not a checkpoint: top-level keys are not all strings")
    if META_KEY in payload:
        verify_payload(payload, path)
    elif require_meta:
        raise CorruptCheckpointError(
            path, f"not a sim2real-adr checkpoint: no '{META_KEY}' metadata (a foreign file?)"
        )
    migrated = migrate_payload(dict(payload), path)
    meta = CheckpointMeta.from_tree(migrated[META_KEY], path)
    policy = {k: v for k, v in migrated.items() if k not in (ENV_STATE_KEY, META_KEY)}
    try:
        return Checkpoint(policy=policy, env_state=migrated.get(ENV_STATE_KEY), meta=meta)
    except TreeError as exc:
        raise IncompatibleCheckpointError(path, f"cannot be used as a checkpoint: {exc}") from None
