"""The engine's serializable state: schema, version and migrations.

A state dict holds only CPU tensors, ``int``/``float``/``bool``/``str`` and
lists/dicts of them, so it loads with ``torch.load(weights_only=True)`` and
maps one-to-one onto HDF5 groups, datasets and attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

import torch

from adr_domain.errors import SchemaVersionError, StateError
from adr_domain.state_toolkit import Migration
from adr_domain.streams import SHARED_STREAMS

__all__ = [
    "SCHEMA_VERSION",
    "EngineState",
    "adopt_shared_state",
    "merge_engine_state",
    "migrate_engine_state",
    "split_engine_state",
]

SCHEMA_VERSION = 1
"""Version of :class:`EngineState` written by this code."""


class EngineState(TypedDict):
    """Complete state of an :class:`~adr_domain.engine.ADREngine` (schema 1).

    ``P`` parameters, ``N`` envs, queue length ``L``; queue ``q = 2n + b`` is
    bound ``b`` (0 low, 1 high) of parameter ``n``.
    """

    schema_version: int
    param_set_hash: str
    param_names: list[str]
    param_types: list[str]
    param_kinds: list[str]
    num_envs: int
    queue_length: int
    bounds: torch.Tensor
    """``(P, 2)`` float64 current ranges."""
    next_limits: torch.Tensor
    """``(P, 2)`` float64 one step beyond each bound."""
    queue_values: torch.Tensor
    """``(2P, L)`` float64 boundary results, oldest first, zero past the length."""
    queue_lengths: torch.Tensor
    """``(2P,)`` int64 number of results in each queue."""
    worker_types: torch.Tensor
    """``(N,)`` int64 :class:`~adr_domain.types.WorkerType` of each env."""
    adr_modes: torch.Tensor
    """``(N,)`` int64 queue each boundary worker evaluates."""
    tensor_values: dict[str, torch.Tensor]
    """Per tensor parameter: ``(N,)`` float32 (uniform) or int64 (categorical)."""
    rollout_perf: float
    rollout_perf_valid: bool
    step: int
    rng: dict[str, torch.Tensor]
    """``torch.Generator`` states (uint8) by stream name."""


# version N -> function turning a version-N state into version N+1. Each is a
# pure function of its input; see ``migrate_engine_state``.
MIGRATIONS: dict[int, Migration] = {}


def migrate_engine_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """Bring a state dict to :data:`SCHEMA_VERSION`, applying migrations in order.

    Raises:
        SchemaVersionError: the version is missing, newer than this code, or
            has no migration path.
        StateError: ``state`` is not a mapping.
    """
    if not isinstance(state, Mapping):
        raise StateError(f"ADR engine state must be a mapping, got {type(state).__name__}")
    version = state.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SchemaVersionError(
            f"ADR engine state has no integer schema_version (got {version!r})"
        )
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"ADR engine state has schema_version {version}, newer than this code "
            f"(reads up to {SCHEMA_VERSION}); upgrade the package"
        )
    out = dict(state)
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise SchemaVersionError(
                f"ADR engine state has schema_version {version}; no migration to "
                f"{SCHEMA_VERSION} exists"
            )
        out = step(out)
        version = out["schema_version"]
    return out


SHARED_KEYS = (
    "schema_version",
    "param_set_hash",
    "param_names",
    "param_types",
    "param_kinds",
    "queue_length",
    "bounds",
    "next_limits",
    "queue_values",
    "queue_lengths",
    "rollout_perf",
    "rollout_perf_valid",
    "step",
)
"""Entries every rank of a distributed run holds identically."""
PER_RANK_KEYS = ("num_envs", "worker_types", "adr_modes", "tensor_values")
"""Entries of one rank's own envs."""


def _require(state: Mapping[str, Any], keys: tuple[str, ...], what: str) -> Mapping[str, Any]:
    """``state``'s random streams, after checking it holds ``keys`` and them.

    Raises:
        StateError: an entry is missing, or ``rng`` is not a mapping.
    """
    missing = [k for k in (*keys, "rng") if k not in state]
    if missing:
        raise StateError(f"{what} lacks {', '.join(missing)}")
    rng = state["rng"]
    if not isinstance(rng, Mapping):
        raise StateError(f"{what}: 'rng' must be a mapping")
    return rng


def _per_rank_part(state: Mapping[str, Any], what: str) -> dict[str, Any]:
    """The per-rank part of a whole state, or of a per-rank part (its own entries)."""
    rng = _require(state, PER_RANK_KEYS, what)
    part = {k: state[k] for k in PER_RANK_KEYS}
    part["rng"] = {k: v for k, v in rng.items() if k not in SHARED_STREAMS}
    return part


def split_engine_state(state: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split an engine state into ``(shared, per_rank)`` parts.

    In a distributed run the shared part is the same on every rank (ranges,
    next limits, queues, rollout EMA, step, the decision stream), so a
    checkpoint stores it once, beside each rank's per-rank part (worker
    assignment, per-env values, assignment and sampling streams).

    Raises:
        StateError: an entry is missing.
    """
    rng = _require(state, (*SHARED_KEYS, *PER_RANK_KEYS), "ADR engine state")
    shared = {k: state[k] for k in SHARED_KEYS}
    shared["rng"] = {k: v for k, v in rng.items() if k in SHARED_STREAMS}
    return shared, _per_rank_part(state, "ADR engine state")


def adopt_shared_state(own: Mapping[str, Any], source: Mapping[str, Any]) -> dict[str, Any]:
    """One engine state: the shared part of ``source`` with the per-rank part of ``own``.

    That is ``source``'s ranges, next limits, queues, rollout EMA, update
    counter and decision stream, and ``own``'s envs, workers and their random
    streams: restoring only a checkpoint's curriculum into an engine of another
    number of envs or processes (``own`` its current state), or rebuilding a
    rank's state from the shared part stored once (``own`` only its per-rank
    part). Both must be of one schema version: migrate a ``source`` read from
    a file first (:func:`migrate_engine_state`).

    Raises:
        StateError: an entry is missing.
    """
    shared, _ = split_engine_state(source)
    return merge_engine_state(shared, _per_rank_part(own, "ADR engine state (own part)"))


def merge_engine_state(shared: Mapping[str, Any], per_rank: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`split_engine_state`.

    Raises:
        StateError: a part lacks an entry.
    """
    missing = [k for k in (*SHARED_KEYS, "rng") if k not in shared]
    missing += [k for k in (*PER_RANK_KEYS, "rng") if k not in per_rank]
    if missing:
        raise StateError(f"ADR engine state parts lack {', '.join(missing)}")
    state = {k: shared[k] for k in SHARED_KEYS}
    state.update({k: per_rank[k] for k in PER_RANK_KEYS})
    state["rng"] = {**dict(shared["rng"]), **dict(per_rank["rng"])}
    return state
