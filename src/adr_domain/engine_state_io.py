"""An engine's state out of and into its buffers.

:func:`export_engine_state` writes an :class:`~adr_domain.engine_state.EngineState`.
:func:`stage_engine_state` reads a (migrated) one with a
:class:`~adr_domain.state_toolkit.StateReader`, checks it against the engine it
goes into, and returns a :class:`StagedEngineState`; nothing of the engine
changes until :meth:`StagedEngineState.apply` (stage, then commit).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import torch

from adr_domain.buffers import Buffers
from adr_domain.engine_state import SCHEMA_VERSION, EngineState
from adr_domain.errors import IncompatibleStateError, StateError
from adr_domain.params import ParamTable, describe_param_set_differences
from adr_domain.queues import chronological
from adr_domain.state_toolkit import Commit, StateReader
from adr_domain.tables import StepTable
from adr_domain.types import WorkerType

__all__ = ["StagedEngineState", "export_engine_state", "fresh_ranges", "stage_engine_state"]

WHAT = "ADR engine state"
_ROLLOUT = int(WorkerType.ROLLOUT)
_BOUNDARY = int(WorkerType.BOUNDARY)


@attrs.frozen(eq=False)
class StagedEngineState:
    """A fully checked engine state, ready to be copied in (CPU tensors).

    Attributes:
        ranges: ``(bounds, next_limits, queue_values, queue_meta)``, or None
            to start ranges fresh from ``init_range``.
        worker_types, adr_modes: ``(N,)`` int64.
        values: ``{name: (N,) tensor}`` per tensor parameter.
        rng: the random streams' commit.
        rollout_perf, rollout_perf_valid, step: the scalars.
    """

    ranges: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None
    worker_types: torch.Tensor
    adr_modes: torch.Tensor
    values: dict[str, torch.Tensor]
    rng: Commit
    rollout_perf: float
    rollout_perf_valid: bool
    step: int

    def apply(
        self,
        buffers: Buffers,
        params: ParamTable,
        outward: StepTable,
        slot_of: dict[str, tuple[torch.Tensor, int]],
        alpha: float,
    ) -> None:
        """Copy into the engine's existing buffers (live views stay valid)."""
        dev = buffers.types.device
        if self.ranges is None:
            fresh_ranges(buffers, params, outward)
        else:
            bounds, next_limits, qvals, qmeta = (t.to(dev) for t in self.ranges)
            buffers.bounds.copy_(bounds)
            buffers.next_limits.copy_(next_limits)
            buffers.queue_values.copy_(qvals)
            buffers.queue_meta.copy_(qmeta)
        buffers.worker_types.copy_(self.worker_types.to(dev))
        buffers.adr_modes.copy_(self.adr_modes.to(dev))
        if self.ranges is None:
            # Their bounds are gone with the checkpoint's ranges: their results
            # must not enter the fresh queues.
            workers = buffers.worker_types
            workers.masked_fill_(workers == _BOUNDARY, _ROLLOUT)
        for name, value in self.values.items():
            table, row = slot_of[name]
            table[row, : buffers.num_envs].copy_(value.to(dev))
        self.rng()
        buffers.perf.fill_(self.rollout_perf)
        buffers.perf_valid.fill_(self.rollout_perf_valid)
        buffers.perf_weight.fill_(1.0 - alpha if self.rollout_perf_valid else 1.0)


def export_engine_state(
    params: ParamTable,
    buffers: Buffers,
    tensor_values: dict[str, torch.Tensor],
    rng: dict[str, torch.Tensor],
    step: int,
) -> EngineState:
    """The complete state: CPU tensors (copies) and primitives, queues oldest first."""
    b = buffers
    identity = params.identity()
    return EngineState(
        schema_version=SCHEMA_VERSION,
        param_set_hash=params.fingerprint(),
        param_names=[p["name"] for p in identity],
        param_types=[p["type"] for p in identity],
        param_kinds=[p["kind"] for p in identity],
        num_envs=b.num_envs,
        queue_length=b.queue_length,
        bounds=b.bounds.cpu().clone(),
        next_limits=b.next_limits.cpu().clone(),
        queue_values=chronological(b.queue_values, b.queue_meta).cpu(),
        queue_lengths=b.lengths.cpu().clone(),
        worker_types=b.worker_types.cpu().clone(),
        adr_modes=b.adr_modes.cpu().clone(),
        tensor_values={k: v.cpu().clone() for k, v in tensor_values.items()},
        rollout_perf=float(b.perf.item()),
        rollout_perf_valid=bool(b.perf_valid.item()),
        step=step,
        rng=rng,
    )


def fresh_ranges(buffers: Buffers, params: ParamTable, outward: StepTable) -> None:
    """Ranges at ``init_range``, next limits one step beyond, queues empty."""
    buffers.bounds.copy_(params.init)
    buffers.next_flat.copy_(outward.apply(buffers.bounds_flat))
    buffers.qvals.zero_()
    buffers.qmeta.zero_()


def stage_engine_state(
    state: Mapping[str, Any],
    *,
    params: ParamTable,
    buffers: Buffers,
    slot_of: dict[str, tuple[torch.Tensor, int]],
    stage_rng: Any,
    restore_ranges: bool,
) -> StagedEngineState:
    """Check a migrated state against an engine; nothing changes.

    Args:
        state: the state (current schema).
        params: the engine's parameter table.
        buffers: the engine's buffers (read for sizes and dtypes only).
        slot_of: ``{name: (value table, row)}`` of each tensor parameter.
        stage_rng: ``(states, what) -> Commit`` of the engine's streams.
        restore_ranges: restore ranges, next limits and queues.

    Raises:
        IncompatibleStateError: another parameter set or number of envs.
        StateError: a malformed or inconsistent entry (the message names it).
    """
    read = StateReader(state, WHAT)
    _check_identity(read, params, buffers.num_envs)
    P, N, Q = params.num_params, buffers.num_envs, buffers.num_queues
    saved_len = read.int("queue_length")
    if saved_len <= 0:
        raise StateError(f"{WHAT}: queue_length must be > 0, got {saved_len}")
    bounds = read.tensor("bounds", (P, 2), torch.float64)
    next_limits = read.tensor("next_limits", (P, 2), torch.float64)
    qvals = read.tensor("queue_values", (Q, saved_len), torch.float64)
    qlen = read.tensor("queue_lengths", (Q,), torch.long)
    types = read.tensor("worker_types", (N,), torch.long)
    modes = read.tensor("adr_modes", (N,), torch.long)
    _check_consistent(bounds, next_limits, qvals, qlen, types, modes, saved_len)
    if restore_ranges:
        _check_ranges_fit_config(params, bounds)
    return StagedEngineState(
        ranges=(
            (bounds, next_limits, *_resized_queues(qvals, qlen, buffers.queue_length))
            if restore_ranges
            else None
        ),
        worker_types=types,
        adr_modes=modes,
        values=_tensor_values(read, params, slot_of, N),
        rng=stage_rng(state.get("rng"), WHAT),
        rollout_perf=read.float("rollout_perf"),
        rollout_perf_valid=read.bool("rollout_perf_valid"),
        step=read.int("step"),
    )


def _check_consistent(
    bounds: torch.Tensor,
    next_limits: torch.Tensor,
    qvals: torch.Tensor,
    qlen: torch.Tensor,
    types: torch.Tensor,
    modes: torch.Tensor,
    saved_len: int,
) -> None:
    if not bool(torch.isfinite(bounds).all()) or not bool(torch.isfinite(qvals).all()):
        raise StateError(f"{WHAT}: bounds and queue values must be finite")
    if bool(torch.isnan(next_limits).any()):
        raise StateError(f"{WHAT}: next_limits contain NaN")
    if bool((bounds[:, 0] > bounds[:, 1]).any()):
        raise StateError(f"{WHAT}: a range has its lower bound above its upper bound")
    if bool(((qlen < 0) | (qlen > saved_len)).any()):
        raise StateError(f"{WHAT}: queue_lengths must lie in [0, {saved_len}]")
    valid_types = sorted(int(t) for t in WorkerType)
    if not bool(torch.isin(types, torch.tensor(valid_types)).all()):
        raise StateError(f"{WHAT}: worker_types must be in {valid_types}")
    Q = qlen.shape[0]
    if bool(((modes < 0) | (modes >= Q)).any()):
        raise StateError(f"{WHAT}: adr_modes must lie in [0, {Q})")


def _resized_queues(
    qvals: torch.Tensor, qlen: torch.Tensor, length: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each queue's newest results in ring buffers of ``length`` (all of them
    unless the configured queue length shrank since the state was saved);
    returns ``(Q, length)`` values and ``(2, Q)`` lengths and heads."""
    saved_len = qvals.shape[1]
    kept = qlen.clamp(max=length)
    pos = torch.arange(length)
    src = ((qlen - kept).unsqueeze(1) + pos).clamp(max=saved_len - 1)
    resized = torch.where(pos < kept.unsqueeze(1), qvals.gather(1, src), 0.0)
    return resized, torch.stack([kept, kept % length])


def _tensor_values(
    read: StateReader,
    params: ParamTable,
    slot_of: dict[str, tuple[torch.Tensor, int]],
    num_envs: int,
) -> dict[str, torch.Tensor]:
    values = read.child("tensor_values")
    expected = set(params.tensor_names)
    if set(values.names()) != expected:
        raise StateError(
            f"{WHAT}: 'tensor_values' has parameters {sorted(values.names())}, "
            f"expected {sorted(expected)}"
        )
    return {
        name: values.tensor(name, (num_envs,), slot_of[name][0].dtype, finite=True)
        for name in params.tensor_names
    }


def _check_identity(read: StateReader, params: ParamTable, num_envs: int) -> None:
    names, ptypes, kinds = (read.str_list(k) for k in ("param_names", "param_types", "param_kinds"))
    if not len(names) == len(ptypes) == len(kinds):
        raise StateError(f"{WHAT}: param_names, param_types, param_kinds differ in length")
    saved = [
        {"name": n, "type": t, "kind": k} for n, t, k in zip(names, ptypes, kinds, strict=True)
    ]
    diffs = describe_param_set_differences(saved, params.identity())
    if diffs:
        raise IncompatibleStateError(
            f"{WHAT} belongs to another parameter set:\n  " + "\n  ".join(diffs)
        )
    if read.state.get("param_set_hash") != params.fingerprint():
        raise StateError(
            f"{WHAT}: param_set_hash does not match its parameter list (the state was altered)"
        )
    saved_envs = read.int("num_envs")
    if saved_envs != num_envs:
        raise IncompatibleStateError(f"{WHAT} holds {saved_envs} envs, this engine has {num_envs}")


def _check_ranges_fit_config(params: ParamTable, bounds: torch.Tensor) -> None:
    init, limits = params.init.cpu(), params.effective_limits.cpu()
    problems = []
    for n, name in enumerate(params.names):
        lo, hi = bounds[n].tolist()
        ilo, ihi = init[n].tolist()
        llo, lhi = limits[n].tolist()
        if not (llo <= lo <= ilo and ihi <= hi <= lhi):
            problems.append(
                f"{name}: range [{lo}, {hi}] must contain init_range [{ilo}, {ihi}] "
                f"and lie within limits [{llo}, {lhi}]"
            )
    if problems:
        raise StateError(
            f"{WHAT} does not fit the current config (change the config, or set "
            "adr_load_from_checkpoint: false to start ranges fresh):\n  " + "\n  ".join(problems)
        )
