"""A readable summary of a checkpoint: metadata, per-parameter ranges and queues, workers.

Init ranges, limits and deltas belong to the config, not to the engine state:
they are read from the ADR config when one is given, else from the config the
checkpoint carries (format 2 and later), else from the env state's
``adr_params`` (which sim2real-adr's Isaac adapter and IsaacGymEnvs both save).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import torch

from adr_domain import REFERENCE_PARAMS_KEY, ADRConfig, WorkerType, is_int
from adr_infra.checkpoint import Checkpoint
from adr_infra.restore import RestoreSource, number_pair
from adr_infra.tree import tensor_nbytes

__all__ = ["CheckpointSummary", "ParamSummary", "WorkerSplit", "summarize"]

Pair = tuple[float | None, float | None]


@attrs.frozen
class ParamSummary:
    """One ADR parameter in a checkpoint (None where the checkpoint does not say).

    Attributes:
        name: parameter name.
        type: ``uniform`` or ``categorical``.
        kind: ``tensor`` (sampled by the engine) or ``range_path`` (applied by the simulator).
        init_range: ``(lo, hi)`` from the config.
        range: current ``(lo, hi)``.
        next_limits: ``(lo, hi)`` one step beyond the range.
        limits: ``(lo, hi)`` from the config (None side: unbounded).
        delta: the step of a bound, from the config.
        delta_style: ``additive`` or ``multiplicative``.
        queue_fill: results in the ``(low, high)`` boundary queues.
        boundary_workers: envs evaluating the ``(low, high)`` bound.
    """

    name: str
    type: str | None = None
    kind: str | None = None
    init_range: Pair | None = None
    range: Pair | None = None
    next_limits: Pair | None = None
    limits: Pair | None = None
    delta: float | None = None
    delta_style: str | None = None
    queue_fill: tuple[int, int] | None = None
    boundary_workers: tuple[int, int] | None = None


@attrs.frozen
class WorkerSplit:
    """How many envs are rollout, boundary and test workers."""

    rollout: int
    boundary: int
    test: int

    @property
    def total(self) -> int:
        """Number of envs."""
        return self.rollout + self.boundary + self.test


@attrs.frozen
class CheckpointSummary:
    """What ``adr-ckpt inspect`` shows.

    Attributes:
        format_version: checkpoint format version.
        producer: what wrote the file.
        created_at: ISO creation time, if known.
        experiment: experiment name, if recorded.
        world_size: processes whose state the checkpoint holds.
        config_source: where init ranges, limits and deltas came from
            (``"argument"``, ``"checkpoint"``, ``"env state"`` or ``"none"``).
        epoch: rl_games epoch.
        frame: rl_games frame.
        last_mean_rewards: rl_games' best mean reward.
        param_set_hash: ADR parameter-set hash.
        engine_schema_version: schema version of the engine state.
        source: kind of ADR state in the env state.
        num_envs: envs of the engine state.
        step: engine update counter.
        queue_length: queue capacity ``adr_queue_threshold_length``.
        rollout_perf: rollout performance EMA (None until valid).
        workers: the worker split.
        params: one row per ADR parameter.
        env_state_keys: the env state's top-level keys.
        tensor_bytes: raw bytes of all tensors in the checkpoint.
    """

    format_version: int
    producer: str
    created_at: str | None
    experiment: str | None
    world_size: int
    config_source: str
    epoch: int | None
    frame: int | None
    last_mean_rewards: float | None
    param_set_hash: str | None
    engine_schema_version: int | None
    source: RestoreSource
    num_envs: int | None
    step: int | None
    queue_length: int | None
    rollout_perf: float | None
    workers: WorkerSplit | None
    params: tuple[ParamSummary, ...]
    env_state_keys: tuple[str, ...]
    tensor_bytes: int


def _int(value: object) -> int | None:
    return value if is_int(value) else None


def _tensor(state: Mapping[str, Any], key: str, shape: tuple[int, ...]) -> torch.Tensor | None:
    value = state.get(key)
    if isinstance(value, torch.Tensor) and tuple(value.shape) == shape:
        return value
    return None


def _config_rows(config: ADRConfig | Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    if config is None:
        return {}
    cfg = ADRConfig.from_mapping(config)
    return {
        name: {
            "init_range": tuple(p.init_range),
            "limits": tuple(p.limits),
            "delta": p.delta,
            "delta_style": p.delta_style.value,
            "type": p.type.value,
            "kind": "tensor" if p.range_path is None else "range_path",
        }
        for name, p in cfg.params.items()
    }


def _engine_rows(
    state: Mapping[str, Any],
) -> tuple[list[str], dict[str, dict[str, Any]], WorkerSplit | None]:
    names = state.get("param_names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return [], {}, None
    P = len(names)
    types = state.get("param_types")
    kinds = state.get("param_kinds")
    bounds = _tensor(state, "bounds", (P, 2))
    nexts = _tensor(state, "next_limits", (P, 2))
    lengths = _tensor(state, "queue_lengths", (2 * P,))
    worker_types = state.get("worker_types")
    modes = state.get("adr_modes")
    split: WorkerSplit | None = None
    per_queue: list[int] | None = None
    if isinstance(worker_types, torch.Tensor) and worker_types.dim() == 1:
        wt = worker_types.long()
        counts = [int((wt == int(t)).sum()) for t in WorkerType]
        split = WorkerSplit(
            rollout=counts[WorkerType.ROLLOUT],
            boundary=counts[WorkerType.BOUNDARY],
            test=counts[WorkerType.TEST],
        )
        if isinstance(modes, torch.Tensor) and modes.shape == worker_types.shape:
            boundary_modes = modes.long()[wt == int(WorkerType.BOUNDARY)]
            boundary_modes = boundary_modes[(boundary_modes >= 0) & (boundary_modes < 2 * P)]
            per_queue = torch.bincount(boundary_modes, minlength=2 * P).tolist()
    rows: dict[str, dict[str, Any]] = {}
    for n, name in enumerate(names):
        row: dict[str, Any] = {}
        if isinstance(types, list) and len(types) == P:
            row["type"] = types[n]
        if isinstance(kinds, list) and len(kinds) == P:
            row["kind"] = kinds[n]
        if bounds is not None:
            row["range"] = number_pair(bounds[n])
        if nexts is not None:
            row["next_limits"] = number_pair(nexts[n])
        if lengths is not None:
            row["queue_fill"] = (int(lengths[2 * n]), int(lengths[2 * n + 1]))
        if per_queue is not None:
            row["boundary_workers"] = (per_queue[2 * n], per_queue[2 * n + 1])
        rows[name] = row
    return list(names), rows, split


def _reference_rows(params: object) -> tuple[list[str], dict[str, dict[str, Any]]]:
    if not isinstance(params, Mapping):
        return [], {}
    rows: dict[str, dict[str, Any]] = {}
    for name, entry in params.items():
        if not isinstance(entry, Mapping):
            continue
        rows[str(name)] = {
            "range": number_pair(entry.get("range")),
            "next_limits": number_pair(entry.get("next_limits")),
            "init_range": number_pair(entry.get("init_range")),
            "limits": number_pair(entry.get("limits")),
            "delta": entry.get("delta") if isinstance(entry.get("delta"), (int, float)) else None,
            "type": entry.get("type", "uniform"),
            "kind": "range_path" if entry.get("range_path") else "tensor",
        }
    return list(rows), rows


def _config_source(argument: bool, stored: bool, reference: bool) -> str:
    """Where the summary's init ranges, limits and deltas come from, first found first."""
    for source, found in (("argument", argument), ("checkpoint", stored), ("env state", reference)):
        if found:
            return source
    return "none"


def _param_summary(name: str, *layers: Mapping[str, dict[str, Any]]) -> ParamSummary:
    """One parameter's row, later layers' known values over earlier ones."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update({k: v for k, v in layer.get(name, {}).items() if v is not None})
    return ParamSummary(name=name, **merged)


def _rollout_perf(engine: Mapping[str, Any] | None) -> float | None:
    """The engine state's rollout EMA once a rollout worker has finished, else None."""
    if engine is None or engine.get("rollout_perf_valid") is not True:
        return None
    value = engine.get("rollout_perf")
    return float(value) if isinstance(value, (int, float)) else None


def summarize(
    checkpoint: Checkpoint, *, adr_config: ADRConfig | Mapping[str, Any] | None = None
) -> CheckpointSummary:
    """Summarize a checkpoint (nothing is validated beyond what the store checked).

    Args:
        checkpoint: the checkpoint.
        adr_config: the ADR config the run used, for init ranges, limits and
            deltas (optional; the config stored in the checkpoint, else the env
            state's ``adr_params`` is used otherwise).

    Raises:
        ConfigError: ``adr_config`` is not a valid ADR config.
    """
    env_state = checkpoint.env_state or {}
    engine = checkpoint.engine_state
    reference_names, reference = _reference_rows(env_state.get(REFERENCE_PARAMS_KEY))
    stored = checkpoint.meta.adr_config
    configured = _config_rows(adr_config if adr_config is not None else stored)
    config_source = _config_source(adr_config is not None, stored is not None, bool(reference))
    split: WorkerSplit | None = None
    if engine is not None:
        source = RestoreSource.COMPLETE
        names, rows, split = _engine_rows(engine)
    elif reference:
        source = RestoreSource.ISAACGYMENVS
        names, rows = reference_names, {}
    else:
        source = RestoreSource.NONE
        names, rows = list(configured), {}
    params = [_param_summary(name, reference, configured, rows) for name in names]
    meta = checkpoint.meta
    return CheckpointSummary(
        format_version=meta.format_version,
        producer=meta.producer,
        created_at=meta.created_at,
        experiment=meta.experiment,
        world_size=meta.world_size,
        config_source=config_source,
        epoch=checkpoint.epoch,
        frame=checkpoint.frame,
        last_mean_rewards=checkpoint.last_mean_rewards,
        param_set_hash=meta.param_set_hash,
        engine_schema_version=meta.engine_schema_version,
        source=source,
        num_envs=_int(engine.get("num_envs")) if engine is not None else None,
        step=_int(engine.get("step")) if engine is not None else None,
        queue_length=_int(engine.get("queue_length")) if engine is not None else None,
        rollout_perf=_rollout_perf(engine),
        workers=split,
        params=tuple(params),
        env_state_keys=tuple(str(k) for k in env_state),
        tensor_bytes=tensor_nbytes(checkpoint.to_rl_games()),
    )
