"""The checkpoint: policy part, hierarchical env state and metadata, as one typed value.

On disk every store writes the same *payload*, the dict rl_games itself saves
plus one key of ours::

    {"model": ..., "optimizer": ..., "epoch": int, "frame": int,
     "last_mean_rewards": float, <anything else rl_games put there>,
     "env_state": {"adr": <EngineState>, <task-level entries>...} | None,
     "adr_kit": {"format": "adr-kit-checkpoint", "format_version": 2,
                 "checksum": "sha256:...", "created_at": ..., "experiment": ...,
                 "param_set_hash": ..., "engine_schema_version": ..., "producer": ...,
                 "world_size": int, "adr_config": {validated ADR config} | None}}

``checksum`` is :func:`~adr_infra.tree.tree_digest` of the payload without the
checksum itself. The file format is versioned by ``format_version``,
independently of the engine state (which carries its own ``schema_version``);
older payloads are brought up to date by the pure functions of
:data:`adr_infra.payload.FORMAT_MIGRATIONS` (``migrate_v0_to_v1`` turns a plain rl_games /
IsaacGymEnvs checkpoint, which has no ``adr_kit`` entry, into version 1;
``migrate_v1_to_v2`` adds the world size and the ADR config slot).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from importlib import metadata
from typing import Any

import attrs

from adr_domain import ENGINE_STATE_KEY, is_int
from adr_infra.errors import CorruptCheckpointError, TreeError
from adr_infra.paths import PathLike
from adr_infra.tree import StateTree, normalize_tree, tree_digest

__all__ = [
    "CHECKSUM_PREFIX",
    "ENV_STATE_KEY",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "META_KEY",
    "Checkpoint",
    "CheckpointMeta",
    "Payload",
    "encode_payload",
    "engine_identity",
    "world_size_of",
]

FORMAT_NAME = "adr-kit-checkpoint"
"""Value of ``adr_kit.format`` in every checkpoint sim2real-adr writes."""
FORMAT_VERSION = 2
"""Checkpoint format version written by this code."""
CHECKSUM_PREFIX = "sha256:"
"""Algorithm prefix of the checksums this code writes and verifies."""
META_KEY = "adr_kit"
"""The one top-level key sim2real-adr adds to an rl_games checkpoint dict."""
ENV_STATE_KEY = "env_state"
"""Where rl_games keeps ``vec_env.get_env_state()``."""

Payload = dict[str, Any]
"""A checkpoint as stored: the rl_games dict with the ``adr_kit`` entry."""


DISTRIBUTION = "sim2real-adr"
"""This project's distribution name on PyPI (files written before 0.2 name it ``adr-kit``;
the file format, :data:`FORMAT_NAME` under :data:`META_KEY`, is unchanged, so they load)."""


def _producer() -> str:
    try:
        return f"{DISTRIBUTION} {metadata.version(DISTRIBUTION)}"
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return DISTRIBUTION


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _optional(kind: type, value: object) -> bool:
    return value is None or (isinstance(value, kind) and not isinstance(value, bool))


def world_size_of(env_state: object) -> int:
    """The number of processes whose state an env state holds (1 unless it says more)."""
    size = env_state.get("world_size") if isinstance(env_state, Mapping) else None
    return size if is_int(size) and size > 0 else 1


@attrs.frozen
class CheckpointMeta:
    """What sim2real-adr records about a checkpoint, beside its content.

    Attributes:
        created_at: ISO 8601 UTC time of creation; None for imported rl_games files.
        experiment: the experiment (run directory) name, if known.
        param_set_hash: the ADR parameter-set hash of the engine state, if any.
        engine_schema_version: ``schema_version`` of the engine state, if any.
        producer: what wrote it (``"sim2real-adr <version>"``, ``"adr-kit <version>"`` before
            the rename, or ``"rl_games"`` for imports).
        format_version: the checkpoint format version (see :data:`FORMAT_VERSION`).
        world_size: how many processes' state the checkpoint holds (1: one process).
        adr_config: the validated ADR config of the run, as a plain tree
            (``ADRConfig.model_dump(mode="json")``), if the run had one.
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
    world_size: int = attrs.field(default=1)
    adr_config: dict[str, Any] | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(dict))
    )

    @world_size.validator
    def _check_world_size(self, attribute: attrs.Attribute[int], value: object) -> None:
        if not is_int(value) or value < 1:
            raise ValueError(f"world_size must be an int >= 1, got {value!r}")

    @engine_schema_version.validator
    def _check_schema(self, attribute: attrs.Attribute[int | None], value: object) -> None:
        if not _optional(int, value):
            raise ValueError(f"engine_schema_version must be an int or None, got {value!r}")

    @format_version.validator
    def _check_format(self, attribute: attrs.Attribute[int], value: object) -> None:
        if not is_int(value) or value < 0:
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
            "world_size": self.world_size,
            "adr_config": self.adr_config,
        }

    @classmethod
    def from_tree(cls, tree: Mapping[str, Any], path: PathLike) -> CheckpointMeta:
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
                world_size=tree["world_size"],
                adr_config=tree["adr_config"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptCheckpointError(path, f"invalid '{META_KEY}' metadata: {exc}") from None


def engine_identity(env_state: object) -> tuple[str | None, int | None]:
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
        version if is_int(version) else None,
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
        adr_config: Mapping[str, Any] | None = None,
        world_size: int | None = None,
    ) -> Checkpoint:
        """A new checkpoint, with metadata filled in from its content.

        Args:
            policy: rl_games entries (``model``, ``optimizer``, ``epoch``, ...).
            env_state: ``vec_env.get_env_state()``; its ``"adr"`` entry, when
                present, provides ``param_set_hash`` and the engine schema version.
            experiment: the run directory name.
            created_at: ISO time; default now (UTC).
            adr_config: the run's validated ADR config as a plain tree, if any.
            world_size: processes whose state the checkpoint holds; default the
                env state's ``world_size`` entry, else 1.

        Raises:
            TreeError: a value that cannot be stored, named by its path.
        """
        digest, schema = engine_identity(env_state)
        config = None if adr_config is None else normalize_tree(adr_config, "adr_config")
        meta = CheckpointMeta(
            created_at=created_at or _now(),
            experiment=experiment,
            param_set_hash=digest,
            engine_schema_version=schema,
            world_size=world_size_of(env_state) if world_size is None else world_size,
            adr_config=config,
        )
        return cls(policy=policy, env_state=env_state, meta=meta)

    @classmethod
    def from_rl_games(
        cls,
        weights: Mapping[str, Any],
        *,
        experiment: str | None = None,
        adr_config: Mapping[str, Any] | None = None,
        world_size: int | None = None,
    ) -> Checkpoint:
        """A checkpoint from the dict rl_games' ``get_full_state_weights()`` returns.

        ``env_state`` becomes :attr:`env_state`; every other key stays in
        :attr:`policy`. The other arguments are those of :meth:`create`.
        """
        policy = {k: v for k, v in weights.items() if k not in (ENV_STATE_KEY, META_KEY)}
        return cls.create(
            policy,
            weights.get(ENV_STATE_KEY),
            experiment=experiment,
            adr_config=adr_config,
            world_size=world_size,
        )

    def to_rl_games(self) -> dict[str, Any]:
        """The dict rl_games' ``set_full_state_weights()`` reads (env state under ``env_state``).

        The returned dict shares tensors with this checkpoint.
        """
        return {**self.policy, ENV_STATE_KEY: self.env_state}

    @property
    def epoch(self) -> int | None:
        """rl_games' epoch counter (rsl_rl's ``iter``), if saved."""
        value = self.policy.get("epoch", self.policy.get("iter"))
        return value if is_int(value) else None

    @property
    def frame(self) -> int | None:
        """rl_games' frame counter, if saved."""
        value = self.policy.get("frame")
        return value if is_int(value) else None

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
