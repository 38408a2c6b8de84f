"""Restoring an :class:`~adr_domain.ADREngine` from a checkpoint's env state.

Two kinds of env state are understood:

* sim2real-adr's: ``{"adr": EngineState, ...task entries}``, restored completely
  by :meth:`ADREngine.load_state_dict` (``adr_load_from_checkpoint: false``
  keeps ranges, next limits and queues fresh and restores the rest);
* IsaacGymEnvs' DeXtreme tasks': ``{"adr_params": {name: {"range": [lo, hi],
  "next_limits": [lo, hi], "init_range", "limits", "delta", "delta_style",
  ...}}, "act_moving_average": float}``. Only ranges and next limits exist
  there: they are restored, everything else starts fresh, and a warning says
  what was missing.

Engine errors are re-raised as :class:`~adr_infra.errors.CheckpointError`
subclasses that name the file.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from enum import Enum
from typing import Any

import attrs
import torch

from adr_domain import (
    ENGINE_STATE_KEY,
    REFERENCE_PARAMS_KEY,
    ADREngine,
    SchemaVersionError,
    StateError,
    step_bound,
)
from adr_domain.errors import IncompatibleStateError
from adr_infra.checkpoint import Checkpoint
from adr_infra.errors import IncompatibleCheckpointError, UnsupportedVersionError
from adr_infra.paths import PathLike

__all__ = [
    "REFERENCE_MISSING",
    "RestoreReport",
    "RestoreSource",
    "import_isaacgymenvs_env_state",
    "import_isaacgymenvs_ranges",
    "is_isaacgymenvs_env_state",
    "restore_engine",
]

log = logging.getLogger(__name__)


REFERENCE_MISSING = (
    "boundary queues",
    "worker types and modes",
    "per-env sampled values",
    "rollout performance EMA",
    "update counter",
    "random generator states",
)
"""Engine state an IsaacGymEnvs checkpoint does not hold (it starts fresh on import)."""


class RestoreSource(str, Enum):
    """What kind of ADR state a checkpoint provided."""

    COMPLETE = "complete"
    """A complete engine state."""
    ISAACGYMENVS = "isaacgymenvs"
    """IsaacGymEnvs' ``adr_params`` (ranges and next limits only)."""
    NONE = "none"
    """No ADR state at all; the engine was left as it was."""


@attrs.frozen
class RestoreReport:
    """What :func:`restore_engine` did.

    Attributes:
        source: the kind of ADR state found.
        ranges_restored: whether ranges (and next limits) came from the checkpoint.
        missing: parts of the engine state the checkpoint lacked (left fresh).
        ignored_params: parameters in the checkpoint that the engine does not have.
        task_entries: the env state's other top-level keys, for the task to restore.
    """

    source: RestoreSource
    ranges_restored: bool
    missing: tuple[str, ...] = ()
    ignored_params: tuple[str, ...] = ()
    task_entries: tuple[str, ...] = ()


def _task_entries(env_state: Mapping[str, Any], *own: str) -> tuple[str, ...]:
    return tuple(str(k) for k in env_state if k not in own)


def restore_engine(
    engine: ADREngine,
    source: Checkpoint | Mapping[str, Any] | None,
    *,
    path: PathLike = "checkpoint",
    restore_ranges: bool | None = None,
) -> RestoreReport:
    """Restore ``engine`` from a checkpoint or an env state dict.

    Args:
        engine: the engine to restore (built from the current config).
        source: a checkpoint, its ``env_state``, or None.
        path: the checkpoint's file, named in errors and log messages.
        restore_ranges: restore ranges, next limits and queues (True) or keep
            them fresh (False); default ``engine.cfg.adr_load_from_checkpoint``.

    Returns:
        What was restored. With no ADR state in ``source`` nothing changes and a
        warning is logged.

    Raises:
        UnsupportedVersionError: the engine state's schema version is unknown.
        IncompatibleCheckpointError: another parameter set (the differences are
            listed), another number of envs, ranges outside the config's limits,
            or a malformed state. The engine is unchanged.
    """
    env_state = source.env_state if isinstance(source, Checkpoint) else source
    if restore_ranges is None:
        restore_ranges = engine.cfg.adr_load_from_checkpoint
    if env_state is None or not isinstance(env_state, Mapping):
        log.warning("%s: the checkpoint has no env state; ADR starts fresh", os.fspath(path))
        return RestoreReport(RestoreSource.NONE, False)
    state = env_state.get(ENGINE_STATE_KEY)
    if state is not None and not isinstance(state, Mapping):
        raise IncompatibleCheckpointError(
            path,
            f"env_state['{ENGINE_STATE_KEY}'] is a {type(state).__name__}, not an engine state",
        )
    if isinstance(state, Mapping):
        _load_engine_state(engine, state, path, restore_ranges)
        return _complete_restored(env_state, path, restore_ranges)
    if is_isaacgymenvs_env_state(env_state):
        return import_isaacgymenvs_env_state(
            engine, env_state, path=path, restore_ranges=restore_ranges
        )
    log.warning(
        "%s: the env state holds no ADR state (keys: %s); ADR starts fresh",
        os.fspath(path),
        ", ".join(map(str, env_state)) or "none",
    )
    return RestoreReport(RestoreSource.NONE, False, task_entries=_task_entries(env_state))


def _complete_restored(
    env_state: Mapping[str, Any], path: PathLike, restore_ranges: bool
) -> RestoreReport:
    """The report (and the log line) of a complete engine state loaded from ``env_state``."""
    if not restore_ranges:
        log.info(
            "%s: adr_load_from_checkpoint is false: ADR ranges, next limits and queues "
            "start fresh; everything else was restored",
            os.fspath(path),
        )
    return RestoreReport(
        RestoreSource.COMPLETE,
        restore_ranges,
        task_entries=_task_entries(env_state, ENGINE_STATE_KEY),
    )


def _load_engine_state(
    engine: ADREngine, state: Mapping[str, Any], path: PathLike, restore_ranges: bool
) -> None:
    try:
        engine.load_state_dict(state, restore_ranges=restore_ranges)
    except SchemaVersionError as exc:
        raise UnsupportedVersionError(path, str(exc)) from None
    except IncompatibleStateError as exc:
        raise IncompatibleCheckpointError(path, str(exc)) from None
    except StateError as exc:
        raise IncompatibleCheckpointError(path, f"cannot restore the ADR engine: {exc}") from None


def is_isaacgymenvs_env_state(env_state: object) -> bool:
    """True for an env state shaped like IsaacGymEnvs' (``adr_params``, no ``adr``)."""
    return (
        isinstance(env_state, Mapping)
        and ENGINE_STATE_KEY not in env_state
        and isinstance(env_state.get(REFERENCE_PARAMS_KEY), Mapping)
    )


def import_isaacgymenvs_env_state(
    engine: ADREngine,
    env_state: Mapping[str, Any],
    *,
    path: PathLike = "checkpoint",
    restore_ranges: bool | None = None,
) -> RestoreReport:
    """Restore ranges and next limits from an IsaacGymEnvs env state.

    See :func:`import_isaacgymenvs_ranges`; the env state's other entries
    (e.g. ``act_moving_average``) are reported in ``task_entries`` for the
    task to restore.
    """
    params = env_state.get(REFERENCE_PARAMS_KEY)
    if not isinstance(params, Mapping):
        raise IncompatibleCheckpointError(path, f"env state has no '{REFERENCE_PARAMS_KEY}' dict")
    report = import_isaacgymenvs_ranges(engine, params, path=path, restore_ranges=restore_ranges)
    return attrs.evolve(report, task_entries=_task_entries(env_state, REFERENCE_PARAMS_KEY))


def number_pair(value: object) -> tuple[float | None, float | None] | None:
    """Two numbers (or None) from a list, tuple or 2-element tensor; None if malformed."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 2:
            return None
        value = value.reshape(-1).tolist()
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    out: list[float | None] = []
    for item in value:
        if item is None:
            out.append(None)
        elif isinstance(item, bool) or not isinstance(item, (int, float)):
            return None
        else:
            out.append(float(item))
    return out[0], out[1]


def _check_reference_params(
    engine: ADREngine, params: Mapping[str, Any], path: PathLike
) -> list[str]:
    """Problems that make ``params`` unusable for ``engine`` (empty when usable)."""
    problems: list[str] = []
    missing = [n for n in engine.param_names if n not in params]
    if missing:
        problems.append(f"only in the config: {', '.join(missing)}")
    for ident in engine.params.identity():
        entry = params.get(ident["name"])
        if entry is None:
            continue
        if not isinstance(entry, Mapping):
            problems.append(f"{ident['name']}: not a dict in the checkpoint")
            continue
        saved_type = entry.get("type", "uniform")
        saved_kind = "range_path" if entry.get("range_path") else "tensor"
        for field, saved in (("type", saved_type), ("kind", saved_kind)):
            if saved != ident[field]:
                problems.append(
                    f"{ident['name']}: {field} {saved} in the checkpoint, "
                    f"{ident[field]} in the config"
                )
        rng = number_pair(entry.get("range"))
        if rng is None or None in rng or not all(math.isfinite(v) for v in rng if v is not None):
            problems.append(f"{ident['name']}: no valid 'range' [lo, hi] ({entry.get('range')!r})")
    return problems


def import_isaacgymenvs_ranges(
    engine: ADREngine,
    adr_params: Mapping[str, Any],
    *,
    path: PathLike = "checkpoint",
    restore_ranges: bool | None = None,
) -> RestoreReport:
    """Restore ranges and next limits from IsaacGymEnvs' ``adr_params`` dict.

    Queues are cleared; worker assignment, per-env values, the rollout EMA, the
    update counter and the random streams are left as they are (fresh in a
    newly built engine). A warning lists what the checkpoint did not hold.
    Missing ``next_limits`` (saved before the reference's first update) are
    computed one step beyond the imported range, as the reference does.

    Args:
        engine: the engine to restore.
        adr_params: ``{name: {"range": [lo, hi], "next_limits": [lo, hi], ...}}``.
        path: the checkpoint's file, for messages.
        restore_ranges: False imports nothing (ranges stay at ``init_range``);
            default ``engine.cfg.adr_load_from_checkpoint``.

    Raises:
        IncompatibleCheckpointError: parameters of the config missing from the
            checkpoint, another type or kind, malformed ranges, or ranges outside
            the config's limits (the message lists every problem). The engine is
            unchanged.
    """
    if restore_ranges is None:
        restore_ranges = engine.cfg.adr_load_from_checkpoint
    ignored = _checked_reference_params(engine, adr_params, path)
    if not restore_ranges:
        log.info(
            "%s: adr_load_from_checkpoint is false: IsaacGymEnvs ADR ranges not imported",
            os.fspath(path),
        )
        return RestoreReport(
            RestoreSource.ISAACGYMENVS, False, missing=REFERENCE_MISSING, ignored_params=ignored
        )
    state = _with_reference_ranges(engine, adr_params, path)
    _load_engine_state(engine, state, path, restore_ranges=True)
    log.warning(
        "%s: imported an IsaacGymEnvs ADR checkpoint: ranges and next limits of %d parameters "
        "restored; not in the checkpoint, these start fresh: %s",
        os.fspath(path),
        engine.num_params,
        ", ".join(REFERENCE_MISSING),
    )
    return RestoreReport(
        RestoreSource.ISAACGYMENVS, True, missing=REFERENCE_MISSING, ignored_params=ignored
    )


def _checked_reference_params(
    engine: ADREngine, adr_params: Mapping[str, Any], path: PathLike
) -> tuple[str, ...]:
    """The names of ``adr_params`` not in the config (logged), after checking the others.

    Raises:
        IncompatibleCheckpointError: listing every problem of the config's parameters.
    """
    problems = _check_reference_params(engine, adr_params, path)
    if problems:
        raise IncompatibleCheckpointError(
            path,
            "IsaacGymEnvs ADR parameters do not match the config:\n  " + "\n  ".join(problems),
        )
    ignored = tuple(str(n) for n in adr_params if n not in engine.param_names)
    if ignored:
        log.warning(
            "%s: ignoring parameters not in the config: %s", os.fspath(path), ", ".join(ignored)
        )
    return ignored


def _with_reference_ranges(
    engine: ADREngine, adr_params: Mapping[str, Any], path: PathLike
) -> dict[str, Any]:
    """The engine's state with the checked reference ranges and next limits (missing
    next limits one step beyond the range, as the reference computes them), queues empty."""
    bounds: list[list[float]] = []
    nexts: list[list[float]] = []
    for name in engine.param_names:
        entry = adr_params[name]
        lo, hi = number_pair(entry["range"]) or (None, None)
        if lo is None or hi is None:  # excluded by _check_reference_params
            raise IncompatibleCheckpointError(path, f"{name}: no valid 'range'")
        spec = engine.cfg.params[name]
        next_lo, next_hi = number_pair(entry.get("next_limits")) or (None, None)
        if next_lo is None:
            next_lo, _ = step_bound(lo, "down", spec.delta, spec.delta_style, spec.limits[0])
        if next_hi is None:
            next_hi, _ = step_bound(hi, "up", spec.delta, spec.delta_style, spec.limits[1])
        bounds.append([lo, hi])
        nexts.append([next_lo, next_hi])

    state: dict[str, Any] = dict(engine.state_dict())
    state["bounds"] = torch.tensor(bounds, dtype=torch.float64)
    state["next_limits"] = torch.tensor(nexts, dtype=torch.float64)
    state["queue_values"] = torch.zeros_like(state["queue_values"])
    state["queue_lengths"] = torch.zeros_like(state["queue_lengths"])
    return state
