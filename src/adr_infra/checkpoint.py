"""The checkpoint: policy part, hierarchical env state and metadata, as one typed value.

On disk every store writes the same *payload*, the dict rl_games itself saves
plus one key of ours::

    {"model": ..., "optimizer": ..., "epoch": int, "frame": int,
     "last_mean_rewards": float, <anything else rl_games put there>,
     "env_state": {"adr": <EngineState>, <task-level entries>...} | None,
     "adr_kit": {"format": "adr-kit-checkpoint", "format_version": 1,
                 "checksum": "sha256:...", "created_at": ..., "experiment": ...,
                 "param_set_hash": ..., "engine_schema_version": ..., "producer": ...}}

``checksum`` is :func:`~adr_infra.tree.tree_digest` of the payload without the
checksum itself. The file format is versioned by ``format_version``,
independently of the engine state (which carries its own ``schema_version``);
older payloads are brought up to date by the pure functions of
:data:`FORMAT_MIGRATIONS` (``migrate_v0_to_v1`` turns a plain rl_games /
IsaacGymEnvs checkpoint, which has no ``adr_kit`` entry, into version 1).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import attrs

from adr_domain import ENGINE_STATE_KEY
from adr_infra.errors import (
    CheckpointNotFoundError,
    CorruptCheckpointError,
    IncompatibleCheckpointError,
    TreeError,
    UnsupportedVersionError,
)
from adr_infra.tree import StateTree, normalize_tree, tree_digest

__all__ = [
    "ENV_STATE_KEY",
    "FORMAT_MIGRATIONS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "META_KEY",
    "Checkpoint",
    "CheckpointMeta",
    "checkpoint_file",
    "decode_payload",
    "encode_payload",
    "migrate_payload",
    "migrate_v0_to_v1",
]

FORMAT_NAME = "adr-kit-checkpoint"
"""Value of ``adr_kit.format`` in every checkpoint adr-kit writes."""
FORMAT_VERSION = 1
"""Checkpoint format version written by this code."""
CHECKSUM_PREFIX = "sha256:"
"""Algorithm prefix of the checksums this code writes and verifies."""
META_KEY = "adr_kit"
"""The one top-level key adr-kit adds to an rl_games checkpoint dict."""
ENV_STATE_KEY = "env_state"
"""Where rl_games keeps ``vec_env.get_env_state()``."""

Payload = dict[str, Any]
Migration = Callable[[Payload], Payload]


def _producer() -> str:
    try:
        return f"adr-kit {metadata.version('adr-kit')}"
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "adr-kit"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _optional(kind: type, value: object) -> bool:
    return value is None or (isinstance(value, kind) and not isinstance(value, bool))


@attrs.frozen
class CheckpointMeta:
    """What adr-kit records about a checkpoint, beside its content.

    Attributes:
        created_at: ISO 8601 UTC time of creation; None for imported rl_games files.
        experiment: the experiment (run directory) name, if known.
        param_set_hash: the ADR parameter-set hash of the engine state, if any.
        engine_schema_version: ``schema_version`` of the engine state, if any.
        producer: what wrote it (``"adr-kit <version>"``, or ``"rl_games"`` for imports).
        format_version: the checkpoint format version (see :data:`FORMAT_VERSION`).
    """

    created_at: str | None = attrs.field(
        validator=attrs.validators.optional(attrs.validators.instance_of(str))
    )
    experiment: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(str))
    )
    param_set_hash: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(str))
    )
    engine_schema_version: int | None = attrs.field(default=None)
    producer: str = attrs.field(factory=_producer, validator=attrs.validators.instance_of(str))
    format_version: int = attrs.field(default=FORMAT_VERSION)

    @engine_schema_version.validator
    def _check_schema(self, attribute: attrs.Attribute[int | None], value: object) -> None:
        if not _optional(int, value):
            raise ValueError(f"engine_schema_version must be an int or None, got {value!r}")

    @format_version.validator
    def _check_format(self, attribute: attrs.Attribute[int], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"format_version must be an int >= 0, got {value!r}")

    def to_tree(self) -> dict[str, Any]:
        """The ``adr_kit`` entry of the payload (without ``checksum``)."""
        return {
            "format": FORMAT_NAME,
            "format_version": self.format_version,
            "created_at": self.created_at,
            "experiment": self.experiment,
            "param_set_hash": self.param_set_hash,
            "engine_schema_version": self.engine_schema_version,
            "producer": self.producer,
        }

    @classmethod
    def from_tree(cls, tree: Mapping[str, Any], path: str | os.PathLike[str]) -> CheckpointMeta:
        """Read the ``adr_kit`` entry of a (migrated) payload.

        Raises:
            CorruptCheckpointError: a field is missing or has the wrong type.
        """
        if tree.get("format") != FORMAT_NAME:
            raise CorruptCheckpointError(
                path, f"'{META_KEY}.format' is {tree.get('format')!r}, expected {FORMAT_NAME!r}"
            )
        try:
            return cls(
                created_at=tree["created_at"],
                experiment=tree["experiment"],
                param_set_hash=tree["param_set_hash"],
                engine_schema_version=tree["engine_schema_version"],
                producer=tree["producer"],
                format_version=tree["format_version"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptCheckpointError(path, f"invalid '{META_KEY}' metadata: {exc}") from None


def _engine_identity(env_state: object) -> tuple[str | None, int | None]:
    """``(param_set_hash, schema_version)`` of the engine state inside an env state."""
    if not isinstance(env_state, Mapping):
        return None, None
    engine = env_state.get(ENGINE_STATE_KEY)
    if not isinstance(engine, Mapping):
        return None, None
    digest = engine.get("param_set_hash")
    version = engine.get("schema_version")
    return (
        digest if isinstance(digest, str) else None,
        version if isinstance(version, int) and not isinstance(version, bool) else None,
    )


def _env_state_converter(value: object) -> StateTree | None:
    if value is None:
        return None
    tree = normalize_tree(value, ENV_STATE_KEY)
    if not isinstance(tree, dict):
        raise TreeError(f"{ENV_STATE_KEY}: expected a dict or None, got {type(value).__name__}")
    return tree


def _policy_converter(value: object) -> StateTree:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TreeError(f"policy: expected a mapping, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise TreeError(f"policy: top-level keys must be strings, got {key!r}")
        if key in (ENV_STATE_KEY, META_KEY):
            raise TreeError(f"policy: key {key!r} is reserved; pass it separately")
    tree: StateTree = normalize_tree(value, "")
    return tree


@attrs.frozen(eq=False)
class Checkpoint:
    """One checkpoint: the policy part, the env state and metadata.

    Frozen (attributes cannot be rebound); the dicts it holds are plain
    state trees (see :mod:`adr_infra.tree`), normalized on construction.

    Attributes:
        policy: the rl_games entries (``model``, ``optimizer``, ``epoch``,
            ``frame``, ``last_mean_rewards`` and anything else rl_games saved),
            in their order.
        env_state: the hierarchical env state (``{"adr": EngineState, ...task
            entries}``), or None as rl_games saves for envs without state.
        meta: :class:`CheckpointMeta`.
    """

    policy: StateTree = attrs.field(converter=_policy_converter)
    env_state: StateTree | None = attrs.field(converter=_env_state_converter)
    meta: CheckpointMeta = attrs.field(validator=attrs.validators.instance_of(CheckpointMeta))

    @classmethod
    def create(
        cls,
        policy: Mapping[str, Any] | None = None,
        env_state: Mapping[str, Any] | None = None,
        *,
        experiment: str | None = None,
        created_at: str | None = None,
    ) -> Checkpoint:
        """A new checkpoint, with metadata filled in from its content.

        Args:
            policy: rl_games entries (``model``, ``optimizer``, ``epoch``, ...).
            env_state: ``vec_env.get_env_state()``; its ``"adr"`` entry, when
                present, provides ``param_set_hash`` and the engine schema version.
            experiment: the run directory name.
            created_at: ISO time; default now (UTC).

        Raises:
            TreeError: a value that cannot be stored, named by its path.
        """
        digest, schema = _engine_identity(env_state)
        meta = CheckpointMeta(
            created_at=created_at or _now(),
            experiment=experiment,
            param_set_hash=digest,
            engine_schema_version=schema,
        )
        return cls(policy=policy, env_state=env_state, meta=meta)

    @classmethod
    def from_rl_games(
        cls, weights: Mapping[str, Any], *, experiment: str | None = None
    ) -> Checkpoint:
        """A checkpoint from the dict rl_games' ``get_full_state_weights()`` returns.

        ``env_state`` becomes :attr:`env_state`; every other key stays in :attr:`policy`.
        """
        policy = {k: v for k, v in weights.items() if k not in (ENV_STATE_KEY, META_KEY)}
        return cls.create(policy, weights.get(ENV_STATE_KEY), experiment=experiment)

    def to_rl_games(self) -> dict[str, Any]:
        """The dict rl_games' ``set_full_state_weights()`` reads (env state under ``env_state``).

        The returned dict shares tensors with this checkpoint.
        """
        return {**self.policy, ENV_STATE_KEY: self.env_state}

    @property
    def epoch(self) -> int | None:
        """rl_games' epoch counter (rsl_rl's ``iter``), if saved."""
        value = self.policy.get("epoch", self.policy.get("iter"))
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def frame(self) -> int | None:
        """rl_games' frame counter, if saved."""
        value = self.policy.get("frame")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def last_mean_rewards(self) -> float | None:
        """rl_games' best mean reward so far, if saved."""
        value = self.policy.get("last_mean_rewards")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value)

    @property
    def engine_state(self) -> StateTree | None:
        """The ADR engine state (``env_state["adr"]``), if the checkpoint has one."""
        if self.env_state is None:
            return None
        state = self.env_state.get(ENGINE_STATE_KEY)
        return state if isinstance(state, dict) else None

    @property
    def param_set_hash(self) -> str | None:
        """The ADR parameter-set hash recorded with the checkpoint."""
        return self.meta.param_set_hash

    def content_digest(self) -> str:
        """Checksum of the whole payload (content and metadata), as stored in files."""
        return tree_digest(_unsigned_payload(self))


def _unsigned_payload(checkpoint: Checkpoint) -> Payload:
    return {**checkpoint.to_rl_games(), META_KEY: checkpoint.meta.to_tree()}


def encode_payload(checkpoint: Checkpoint) -> Payload:
    """The payload a store writes: the rl_games dict plus ``adr_kit`` with its checksum.

    Tensors are shared with ``checkpoint``, not copied.
    """
    payload = _unsigned_payload(checkpoint)
    payload[META_KEY]["checksum"] = tree_digest(payload)
    return payload


# Version N -> pure function turning a version-N payload into version N + 1.
FORMAT_MIGRATIONS: dict[int, Migration] = {}


def migrate_v0_to_v1(payload: Payload) -> Payload:
    """Version 0 (a plain rl_games checkpoint, no ``adr_kit`` entry) to version 1.

    Adds the metadata that can be read off the content (the engine state's
    parameter-set hash and schema version); the creation time is unknown.
    """
    digest, schema = _engine_identity(payload.get(ENV_STATE_KEY))
    meta = CheckpointMeta(
        created_at=None,
        param_set_hash=digest,
        engine_schema_version=schema,
        producer="rl_games",
        format_version=1,
    )
    return {**payload, META_KEY: meta.to_tree()}


FORMAT_MIGRATIONS[0] = migrate_v0_to_v1


def payload_version(payload: Mapping[str, Any], path: str | os.PathLike[str]) -> int:
    """Format version of a raw payload (0 when it has no ``adr_kit`` entry)."""
    meta = payload.get(META_KEY)
    if meta is None:
        return 0
    if not isinstance(meta, Mapping):
        raise CorruptCheckpointError(path, f"'{META_KEY}' is a {type(meta).__name__}, not a dict")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise CorruptCheckpointError(path, f"'{META_KEY}.format_version' is invalid: {version!r}")
    return version


def _check_not_newer(version: int, path: str | os.PathLike[str]) -> None:
    if version > FORMAT_VERSION:
        raise UnsupportedVersionError(
            path,
            f"checkpoint format version {version} is newer than this code "
            f"(reads up to {FORMAT_VERSION}); upgrade adr-kit",
        )


def migrate_payload(payload: Payload, path: str | os.PathLike[str]) -> Payload:
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


def verify_payload(payload: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
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
        # Written by a newer adr-kit with another checksum: report its version if newer.
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


def checkpoint_file(path: str | os.PathLike[str]) -> Path:
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


def decode_payload(
    payload: object, path: str | os.PathLike[str], *, require_meta: bool = False
) -> Checkpoint:
    """Verify, migrate and type a payload read by a store.

    Args:
        payload: what the store read (a dict for a valid file).
        path: the file, for error messages.
        require_meta: refuse payloads without an ``adr_kit`` entry (stores that
            only hold files written by adr-kit, such as HDF5).

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
            path, f"not an adr-kit checkpoint: no '{META_KEY}' metadata (a foreign file?)"
        )
    migrated = migrate_payload(dict(payload), path)
    meta = CheckpointMeta.from_tree(migrated[META_KEY], path)
    policy = {k: v for k, v in migrated.items() if k not in (ENV_STATE_KEY, META_KEY)}
    try:
        return Checkpoint(policy=policy, env_state=migrated.get(ENV_STATE_KEY), meta=meta)
    except TreeError as exc:
        raise IncompatibleCheckpointError(path, f"cannot be used as a checkpoint: {exc}") from None
