"""The vectorized ADR engine.

One :class:`ADREngine` holds the complete ADR state of ``N`` environments and
``P`` parameters as tensors on one device and updates it with a fixed number
of vectorized operations, whatever ``P`` and however many envs finish. No
operation of :meth:`ADREngine.update` copies data to the host, except the
single input check of ``validate_inputs=True`` (see
:class:`~adr_domain.config.ADRConfig`).

Queue ``q = 2n + b`` holds the boundary results of bound ``b`` (0 low,
1 high) of parameter ``n``; there are ``Q = 2P`` queues. Finished envs are
grouped by queue, with two more groups: ``Q`` (rollout workers, whose results
feed the rollout EMA) and ``Q + 1`` (ignored: test workers, invalid entries,
padding). The queue table has a trash row for each of those two groups and
every per-env buffer one trash slot (index ``N``): entries that must be
ignored are written there instead of being filtered out with a
data-dependent (host-synchronizing) operation.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from adr_domain.config import ADRConfig
from adr_domain.errors import IncompatibleStateError, StateError
from adr_domain.exchange import BoundaryExchange
from adr_domain.params import ParamTable, describe_param_set_differences
from adr_domain.report import UpdateReport, nats_per_dimension
from adr_domain.state import (
    SCHEMA_VERSION,
    SHARED_STREAMS,
    EngineState,
    merge_engine_state,
    migrate_engine_state,
    split_engine_state,
)
from adr_domain.stateful import checked_generator_state
from adr_domain.steps import CHANGE_TOLERANCE
from adr_domain.tables import SamplingRows, queue_of_code, step_tables
from adr_domain.types import ParamType, QueuePolicy, WorkerType

__all__ = ["ADREngine", "EnvIds"]

EnvIds = torch.Tensor | Sequence[int] | range
"""Env ids: a 1-D integer tensor, or a sequence of ints."""


_ROLLOUT = int(WorkerType.ROLLOUT)
_BOUNDARY = int(WorkerType.BOUNDARY)
RNG_STREAMS = ("decide", "assign", "sample")
"""The engine's random streams: decisions shared by every rank of a distributed
run (which parameter moves with ``clear_other_queues``, see
:data:`~adr_domain.state.SHARED_STREAMS`), and this rank's worker assignment and
parameter sampling."""


class ADREngine:
    """Automatic Domain Randomization over ``num_envs`` environments.

    Args:
        cfg: validated config (or a ``task.adr`` mapping).
        num_envs: ``N``, number of parallel environments (``> 0``).
        device: device of every state tensor.
        seed: seed of the engine's own random streams; the global torch RNG
            is never used. In a distributed run every rank passes the same seed
            (assignment and sampling streams are derived per rank).
        exchange: for a distributed run, the collective through which the
            ranks' engines share every update's boundary results, so that all
            ranks hold identical ranges, next limits and queues and make
            identical decisions (worker assignment, per-env values and their
            random streams stay per rank). None for a single process.

    Attributes:
        cfg: the config.
        params: the parameter table.
        num_envs: ``N``.
        device: the device.
        queue_length: ``L``, results a queue needs before its bound may move.
        bounds: ``(P, 2)`` float64 current ranges (read it, don't write it).
        next_limits: ``(P, 2)`` float64 one step beyond each bound.
        worker_types: ``(N,)`` int64 live view; writing valid
            :class:`~adr_domain.types.WorkerType` values reassigns workers.
        adr_modes: ``(N,)`` int64 live view; queue ``2n + b`` (in ``[0, 2P)``)
            each boundary worker evaluates.
        step: number of updates so far.
        generation: bumped whenever ranges, queues or the rollout EMA may have
            changed (every update and every load), for caches of derived values.

    At construction every env is a rollout worker (as in IsaacGymEnvs, until
    the first update or :meth:`recycle`) and every tensor parameter is sampled
    from its ``init_range``.
    """

    def __init__(
        self,
        cfg: ADRConfig | Mapping[str, Any],
        num_envs: int,
        *,
        device: torch.device | str = "cpu",
        seed: int = 0,
        exchange: BoundaryExchange | None = None,
    ) -> None:
        self.cfg = ADRConfig.from_mapping(cfg)
        self._exchange = exchange
        self.rank = 0 if exchange is None else exchange.rank
        self.world_size = 1 if exchange is None else exchange.world_size
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs <= 0:
            raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
        self.device = dev = torch.device(device)
        self.num_envs = N = num_envs
        self.params = ParamTable.from_config(self.cfg, dev)
        self.queue_length = L = self.cfg.adr_queue_threshold_length
        self.step = 0
        self.generation = 0
        P = self.params.num_params
        Q = 2 * P

        # Constants.
        self._inward, self._outward = step_tables(self.params)
        self._threshold_low = float(self.cfg.adr_objective_threshold_low)
        self._threshold_high = float(self.cfg.adr_objective_threshold_high)
        self._threshold_mid = (self._threshold_low + self._threshold_high) / 2
        self._queue_of_code = queue_of_code(Q, dev)
        # Group edges: queues 0..Q-1, then Q (rollout workers), Q+1 (ignored).
        self._queue_edges = torch.arange(Q + 3, device=dev)
        self._ema_tail = torch.tensor([1.0, 0.0], dtype=torch.float64, device=dev)
        self._arange_p = torch.arange(P, device=dev)
        self._fence_low = torch.full((1,), -1, dtype=torch.long, device=dev)
        self._fence_high = torch.full((1,), N, dtype=torch.long, device=dev)

        # Ranges, flat in queue order behind one leading dummy entry, so that
        # index ``pin code`` (mode + 1, or 0) reads a boundary worker's bound.
        self._bounds_ext = torch.zeros(Q + 1, dtype=torch.float64, device=dev)
        self._next_ext = torch.zeros(Q + 1, dtype=torch.float64, device=dev)
        self._bounds_flat = self._bounds_ext[1:]
        self._next_flat = self._next_ext[1:]
        self.bounds = self._bounds_flat.view(P, 2)
        self.next_limits = self._next_flat.view(P, 2)
        self.bounds.copy_(self.params.init)
        self._next_flat.copy_(self._outward.apply(self._bounds_flat))

        # Boundary queues: ring buffers, rows Q and Q+1 are trash; _qmeta rows
        # are lengths and heads (next write position).
        self._qvals = torch.zeros(Q + 2, L, dtype=torch.float64, device=dev)
        self._qmeta = torch.zeros(2, Q + 2, dtype=torch.long, device=dev)
        self._qlen, self._qhead = self._qmeta[0], self._qmeta[1]
        self._qvals_q, self._qmeta_q, self._qlen_q = (
            self._qvals[:Q],
            self._qmeta[:, :Q],
            self._qlen[:Q],
        )

        # Workers, slot N is trash; codes are ``mode + (Q + 1) * type``.
        self._types_buf = torch.full((N + 1,), _ROLLOUT, dtype=torch.long, device=dev)
        self._modes_buf = torch.zeros(N + 1, dtype=torch.long, device=dev)
        self.worker_types = self._types_buf[:N]
        self.adr_modes = self._modes_buf[:N]
        self._env_code = torch.empty(N + 1, dtype=torch.long, device=dev)
        self._env_stale = torch.empty(N + 1, dtype=torch.bool, device=dev)
        # True at the codes of boundary workers whose queue's bound just moved.
        self._stale_by_code = torch.zeros(3 * (Q + 1), dtype=torch.bool, device=dev)
        self._stale_boundary = self._stale_by_code[Q + 1 : 2 * Q + 1]

        # Per-env values of tensor parameters: one row per parameter plus a
        # trash row, one column per env plus the trash column.
        self._u_rows = SamplingRows.build(self.params.uniform_index, Q, dev)
        self._c_rows = SamplingRows.build(self.params.categorical_index, Q, dev)
        self._uvals = torch.zeros(self._u_rows.num_rows + 1, N + 1, device=dev)
        self._cvals = torch.zeros(self._c_rows.num_rows + 1, N + 1, dtype=torch.long, device=dev)
        self._tensor_slot: dict[str, tuple[torch.Tensor, int]] = {}
        for rows, buf in ((self._u_rows, self._uvals), (self._c_rows, self._cvals)):
            for row, n in enumerate(rows.index_ext[:-1].tolist()):
                self._tensor_slot[self.params.names[n]] = (buf, row)
        self._single_rows: dict[str, SamplingRows] = {}

        # Rollout performance EMA: the first mean replaces the initial 0
        # (weight 1), later ones blend in with weight 1 - alpha.
        self._perf = torch.zeros((), dtype=torch.float64, device=dev)
        self._perf_weight = torch.ones((), dtype=torch.float64, device=dev)
        self._perf_valid = torch.zeros((), dtype=torch.bool, device=dev)

        self._exchange_pad: dict[torch.dtype, torch.Tensor] = {}
        self._gens = {name: torch.Generator(device=dev) for name in RNG_STREAMS}
        self.seed(seed)
        if exchange is not None:
            self._check_ranks_agree(exchange)
        all_envs = torch.arange(N, device=dev)
        self._resample(all_envs, self._pin_codes(all_envs))

    # ------------------------------------------------------------------ reading

    @property
    def num_params(self) -> int:
        """``P``, the number of ADR parameters."""
        return self.params.num_params

    @property
    def param_names(self) -> tuple[str, ...]:
        """Parameter names in config order."""
        return self.params.names

    @property
    def tensor_param_names(self) -> tuple[str, ...]:
        """Names of the parameters whose per-env values the engine samples."""
        return self.params.tensor_names

    @property
    def queue_lengths(self) -> torch.Tensor:
        """``(P, 2)`` int64 number of results in each boundary queue (a live view)."""
        return self._qlen_q.view(-1, 2)

    @property
    def rollout_perf(self) -> torch.Tensor:
        """``()`` float64 EMA of finishing rollout workers' objective (0 until the first)."""
        return self._perf

    @property
    def rollout_perf_valid(self) -> bool:
        """Whether a rollout worker has finished yet (copies to the host)."""
        return bool(self._perf_valid.item())

    def seed(self, seed: int) -> None:
        """Reseed the engine's random streams: the shared decision stream from
        ``seed`` alone, the others from ``seed`` and this rank."""
        for i, name in enumerate(RNG_STREAMS):
            rank = 0 if name in SHARED_STREAMS else self.rank + 1
            mixed = ((int(seed) * 0x9E3779B1 + rank) * len(RNG_STREAMS) + i) % (2**63)
            self._gens[name].manual_seed(mixed)

    def queue_means(self) -> torch.Tensor:
        """``(P, 2)`` float64 mean of each boundary queue (0 when empty)."""
        return (self._qvals_q.sum(1) / self._qlen_q.clamp(min=1)).view(-1, 2)

    def queue_contents(self, param: int, bound: int) -> torch.Tensor:
        """Results in the queue of ``(param, bound)``, oldest first (a copy)."""
        q = 2 * param + bound
        return self._chronological_queues()[q, : int(self._qlen[q].item())].clone()

    def npd(self) -> torch.Tensor:
        """``()`` float64 nats per dimension: mean over parameters of
        ``log(max(hi - lo, 1e-3))``, parameters with ``delta == 0`` counting 0."""
        return nats_per_dimension(self.bounds, self.params.enabled)

    def check(self) -> None:
        """Raise the first invalid input kept out of the state since the last check.

        With ``input_checks: deferred`` (the default) invalid entries of
        :meth:`update` (ids out of range or repeated, non-finite objectives)
        never reach the state and the first offence is remembered on the
        device; this reads it (one host sync) and raises it. Call it once per
        epoch or log interval. A no-op with ``eager`` (already raised) and
        ``off`` (never checked).

        Raises:
            ValueError: naming the argument, the env id and the value.
        """

    # ------------------------------------------------------------------ update

    @torch.inference_mode()
    def update(self, done_env_ids: EnvIds, objective: torch.Tensor) -> UpdateReport:
        """Record finished episodes, move bounds, recycle and resample the finished envs.

        In one call, in this order: the objective of every finished boundary
        worker is appended to its queue (in ascending env id order; when more
        arrive than fit, the last ones are kept); every full queue is evaluated
        (mean below ``adr_objective_threshold_low``: the bound moves inwards,
        never past ``init_range``; above ``adr_objective_threshold_high``: it
        moves outwards, never past ``limits``); a bound that moved clears its
        queue, updates its next limit and turns the boundary workers still
        evaluating it into rollout workers; the rollout-performance EMA takes in
        finishing rollout workers; the finished envs get new worker types and
        modes and fresh values of every tensor parameter.

        With ``update_adr_ranges=False`` finished envs just become rollout
        workers and are resampled.

        Args:
            done_env_ids: ``(K,)`` ids of the envs whose episode ended (a tensor
                or a sequence of ints), unique, in ``[0, N)``.
            objective: ``(N,)`` per-env objective (e.g. consecutive successes);
                only the entries of ``done_env_ids`` are read.

        Returns:
            What happened, as tensors on the engine's device. They are computed
            under ``torch.inference_mode`` (read-only outside it; clone to edit).

        Raises:
            ValueError: naming ``done_env_ids`` or ``objective`` when they have the
                wrong type, shape or dtype, or (with ``validate_inputs``) ids out
                of range or duplicated, or non-finite objective values of
                finished envs (not read with ``update_adr_ranges=False``). The
                state is untouched.
        """
        ids = self._as_env_ids(done_env_ids, "done_env_ids")
        obj = self._as_objective(objective)
        N, P = self.num_envs, self.num_params
        if ids.numel() > N:
            raise ValueError(f"done_env_ids: {ids.numel()} ids for {N} envs (ids repeat)")
        if not self.cfg.update_adr_ranges:
            return self._update_frozen(ids)

        Q = 2 * P
        code = torch.add(self._modes_buf, self._types_buf, alpha=Q + 1, out=self._env_code)
        record: torch.Tensor | None = None
        if self.cfg.validate_inputs:
            gather = ids.clamp(0, N - 1)
            in_range = (gather == ids).all()
            obj_d = obj.index_select(0, gather).to(torch.float64)
            key = self._queue_of_code.index_select(0, code.index_select(0, gather))
        else:
            # Sanitize without host syncs: out-of-range ids go to the trash
            # slot, non-finite objectives are not recorded.
            valid = (ids >= 0) & (ids < N)
            gather = torch.where(valid, ids, N)
            obj_d = obj.index_select(0, gather.clamp(max=N - 1)).to(torch.float64)
            record = valid & torch.isfinite(obj_d)
            obj_d = torch.where(record, obj_d, 0.0)
            key = torch.where(
                record, self._queue_of_code.index_select(0, code.index_select(0, gather)), Q + 1
            )
        # Sort by (queue, env id): groups each queue's results in ascending
        # env id order, and puts repeated ids side by side.
        by_queue_then_env, order = torch.sort(torch.add(gather, key, alpha=N + 1))
        if record is None:
            finite = torch.isfinite(obj_d)
            unique = (by_queue_then_env.diff() != 0).all()
            if not (in_range & unique & finite.all()).item():  # the one host sync
                self._raise_for_update(ids, obj_d, finite)
        else:
            record = record.index_select(0, order)
        safe = gather.index_select(0, order)
        obj_d = obj_d.index_select(0, order)

        key = key.index_select(0, order)
        if self._exchange is None:
            recorded = self._record(key, obj_d)
            means, changed, bounds, next_limits, lengths = self._decide()
            self._convert_stale_boundary_workers(changed, code)
            perf = self._update_rollout_perf(safe, record, obj_d)
        else:
            keys, values = self._exchange_results(self._exchange, key, obj_d, obj.dtype)
            recorded, group_sums, group_counts = self._record_gathered(keys, values)
            means, changed, bounds, next_limits, lengths = self._decide()
            self._convert_stale_boundary_workers(changed, code)
            perf = self._blend_rollout_perf(group_sums, group_counts, changed)
        pins = self._recycle_after_update(safe, changed)
        self._resample(safe, pins)
        self.step += 1
        self.generation += 1
        return UpdateReport(
            step=self.step,
            moved=changed.view(P, 2),
            bounds=bounds.view(P, 2),
            next_limits=next_limits.view(P, 2),
            queue_means=means.view(P, 2),
            queue_lengths=lengths.view(P, 2),
            rollout_perf=perf,
            num_boundary_results=recorded,
            npd_enabled=self.params.enabled,
            param_names=self.params.names,
        )

    def _update_frozen(self, ids: torch.Tensor) -> UpdateReport:
        """``update`` with ``update_adr_ranges=False``: finished envs become
        rollout workers and are resampled; nothing is recorded."""
        safe = self._checked_or_trashed(ids, "done_env_ids")
        self._types_buf.index_fill_(0, safe, _ROLLOUT)
        self._resample(safe, torch.zeros_like(safe))
        self.step += 1
        self.generation += 1
        return self.report()

    def report(self) -> UpdateReport:
        """The current state as an :class:`UpdateReport` with nothing moved and
        nothing recorded (snapshots; each boundary ``queue_means`` entry is the
        mean of what the queue holds now)."""
        P = self.num_params
        return UpdateReport(
            step=self.step,
            moved=torch.zeros(P, 2, dtype=torch.bool, device=self.device),
            bounds=self.bounds.clone(),
            next_limits=self.next_limits.clone(),
            queue_means=self.queue_means(),
            queue_lengths=self.queue_lengths.clone(),
            rollout_perf=self._perf.clone(),
            num_boundary_results=torch.zeros((), dtype=torch.long, device=self.device),
            npd_enabled=self.params.enabled,
            param_names=self.params.names,
        )

    def _record(self, key: torch.Tensor, obj_d: torch.Tensor) -> torch.Tensor:
        """Append results to their queues (ring buffers).

        Args:
            key: ``(K,)`` sorted group of each result (a queue, or ``Q`` /
                ``Q + 1`` for results that are not recorded).
            obj_d: ``(K,)`` float64 results, each queue's in arrival order.

        Returns:
            ``()`` int64, the number of results recorded.
        """
        Q, L = 2 * self.num_params, self.queue_length
        edges = torch.searchsorted(key, self._queue_edges)
        self._qmeta.add_(edges.diff())
        self._qlen.clamp_(max=L)
        self._qhead.remainder_(L)
        # A result ``back`` places from the end of its group goes ``back``
        # slots before its queue's new head; only the last L of a group fit.
        ends = torch.searchsorted(key, key, right=True)
        back = ends - torch.arange(key.numel(), device=self.device)
        slot = torch.add((self._qhead.index_select(0, key) - back) % L, key, alpha=L)
        self._qvals.view(-1).index_put_((torch.where(back <= L, slot, Q * L),), obj_d)
        return edges[Q]

    def _exchange_results(
        self,
        exchange: BoundaryExchange,
        key: torch.Tensor,
        obj_d: torch.Tensor,
        objective_dtype: torch.dtype,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Every rank's sorted (group, result) pairs, padded to a common width.

        The width is ``N`` (one fixed-size collective, no host sync) unless the
        exchange is blocking (gloo on CPU: a collective returns only when every
        rank has contributed, so reading its result costs nothing): then the
        ranks first agree on the largest number of finished envs and send only
        that many entries. Results travel at the objective's own precision (at
        least float32, in which the group numbers are exact too).

        Returns:
            ``(W, C)`` int64 groups (padding: ``Q + 1``) and ``(W, C)`` float64
            results, row ``r`` from rank ``r``.
        """
        dtype = torch.promote_types(objective_dtype, torch.float32)
        if not dtype.is_floating_point:
            dtype = torch.float32
        width = self.num_envs
        if exchange.blocking:
            count = torch.full((1,), key.numel(), dtype=torch.long, device=self.device)
            width = int(exchange.all_gather(count).max().item())
        pad = self._exchange_pad.get(dtype)
        if pad is None:
            pad = torch.zeros(2, self.num_envs, dtype=dtype, device=self.device)
            pad[0] = 2 * self.num_params + 1  # the ignored group
            self._exchange_pad[dtype] = pad
        packed = torch.cat(
            [torch.stack([key.to(dtype), obj_d.to(dtype)]), pad[:, : width - key.numel()]], dim=1
        )
        gathered = exchange.all_gather(packed)
        if gathered.shape != (self.world_size, *packed.shape):
            raise RuntimeError(
                f"ADR exchange returned shape {tuple(gathered.shape)}, expected "
                f"{(self.world_size, *packed.shape)}"
            )
        return gathered[:, 0].to(torch.long), gathered[:, 1].to(torch.float64)

    def _record_gathered(
        self, keys: torch.Tensor, values: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Append every rank's results to the queues, rank after rank.

        Args:
            keys: ``(W, C)`` groups, each row sorted.
            values: ``(W, C)`` float64 results.

        Returns:
            ``()`` number of results recorded, and per group ``(Q + 2,)`` the
            sum and the number of results over all ranks.
        """
        Q, L = 2 * self.num_params, self.queue_length
        W, C = keys.shape
        edges = torch.searchsorted(keys, self._queue_edges.expand(W, -1).contiguous())
        counts = edges.diff(dim=1)
        totals = counts.sum(0)
        self._qmeta.add_(totals)
        self._qlen.clamp_(max=L)
        self._qhead.remainder_(L)
        # Place in the group: ranks before this one, then position in its own group.
        before = counts.cumsum(0) - counts
        pos = torch.arange(C, device=self.device)
        global_rank = before.gather(1, keys) + pos - edges.gather(1, keys)
        flat_keys = keys.reshape(-1)
        back = totals.index_select(0, flat_keys).view(W, C) - global_rank
        head = self._qhead.index_select(0, flat_keys).view(W, C)
        slot = torch.add((head - back) % L, keys, alpha=L)
        self._qvals.view(-1).index_put_(
            (torch.where(back <= L, slot, Q * L).reshape(-1),), values.reshape(-1)
        )
        # Per-group sums from each row's running sum (a fixed summation order,
        # so every rank computes the same numbers).
        running = torch.nn.functional.pad(values.cumsum(1), (1, 0))
        sums = (running.gather(1, edges[:, 1:]) - running.gather(1, edges[:, :-1])).sum(0)
        return totals[:Q].sum(), sums, totals

    def _blend_rollout_perf(
        self, group_sums: torch.Tensor, group_counts: torch.Tensor, changed: torch.Tensor
    ) -> torch.Tensor:
        """EMA update from per-group totals: rollout workers (group ``Q``) plus
        the finished boundary workers of queues whose bound moved."""
        weights = torch.cat([changed.to(torch.float64), self._ema_tail])
        count = torch.dot(group_counts.to(torch.float64), weights)
        return self._blend_into_perf(count, torch.dot(group_sums, weights))

    def _blend_into_perf(self, count: torch.Tensor, total: torch.Tensor) -> torch.Tensor:
        """Blend the mean ``total / count`` into the EMA (unchanged when ``count`` is 0);
        returns a snapshot of the new value."""
        mean = total / count.clamp(min=1)
        has = count > 0
        perf = torch.addcmul(self._perf, has * self._perf_weight, mean - self._perf)
        self._perf.copy_(perf)
        self._perf_weight.masked_fill_(has, 1.0 - self.cfg.adr_rollout_perf_alpha)
        self._perf_valid |= has
        return perf

    def _check_ranks_agree(self, exchange: BoundaryExchange) -> None:
        """Every rank of a distributed run must run the same ADR set-up."""
        digest = int(self.params.fingerprint()[:15], 16)
        config = int(hashlib.sha256(self.cfg.model_dump_json().encode()).hexdigest()[:15], 16)
        facts = [self.num_envs, self.queue_length, self.num_params, digest, config]
        mine = torch.tensor(facts, dtype=torch.long, device=self.device)
        everyone = exchange.all_gather(mine).cpu().tolist()
        names = (
            "num_envs",
            "adr_queue_threshold_length",
            "number of parameters",
            "parameter set",
            "ADR config (thresholds, deltas, limits, options)",
        )
        for what, column in zip(names, zip(*everyone, strict=True), strict=True):
            if len(set(column)) > 1:
                per_rank = ", ".join(f"rank {r}: {v}" for r, v in enumerate(column))
                raise ValueError(
                    f"ADR engines of a distributed run differ in {what} ({per_rank}); "
                    "every rank needs the same ADR config and number of envs"
                )

    def _decide(
        self,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Evaluate every full queue and move bounds.

        Returns:
            ``(2P,)`` tensors: queue means as evaluated, which bounds changed,
            and snapshots of the new bounds, next limits and queue lengths.
        """
        qlen = self._qlen_q
        means = self._qvals_q.sum(1) / qlen.clamp(min=1)
        full = qlen >= self.queue_length
        # Queues that are not full count as in between the thresholds.
        judged = torch.where(full, means, self._threshold_mid)
        contract = judged < self._threshold_low
        decided = contract | (judged > self._threshold_high)
        x = self._bounds_flat
        candidate = torch.where(contract, self._inward.apply(x), self._outward.apply(x))
        changed = decided & ((candidate - x).abs() > CHANGE_TOLERANCE)
        if self.cfg.clear_other_queues:
            # The reference visits parameters in random order and stops at the
            # first that moves: one parameter, chosen uniformly among those
            # that would move, moves.
            param_changed = changed.view(-1, 2).any(1)
            priority = torch.rand(
                self.num_params, generator=self._gens["decide"], device=self.device
            )
            chosen = torch.where(param_changed, priority, -1.0).argmax()
            changed &= ((self._arange_p == chosen) & param_changed).repeat_interleave(2)
            bounds = torch.where(changed, candidate, x)
            clear = changed.any().expand_as(changed)
        else:
            # As the reference, a decided bound takes its candidate value even
            # when it moved by less than the tolerance (no queue clearing then).
            bounds = torch.where(decided, candidate, x)
            clear = changed
        if self.cfg.queue_policy is QueuePolicy.CLEAR_ON_DECISION:
            clear = clear | full
        x.copy_(bounds)
        keep = ~clear
        self._qvals_q.mul_(keep.unsqueeze(1))
        meta = self._qmeta_q * keep
        self._qmeta_q.copy_(meta)
        next_limits = torch.where(changed, self._outward.apply(x), self._next_flat)
        self._next_flat.copy_(next_limits)
        return means, changed, bounds, next_limits, meta[0]

    def _convert_stale_boundary_workers(self, changed: torch.Tensor, code: torch.Tensor) -> None:
        """Boundary workers of a bound that moved become rollout workers."""
        self._stale_boundary.copy_(changed)
        stale = torch.index_select(self._stale_by_code, 0, code, out=self._env_stale)
        self._types_buf.masked_fill_(stale, _ROLLOUT)

    def _update_rollout_perf(
        self, safe: torch.Tensor, record: torch.Tensor | None, obj_d: torch.Tensor
    ) -> torch.Tensor:
        """Blend the mean objective of finishing rollout workers into the EMA;
        returns a snapshot of the new value."""
        is_rollout = self._types_buf.index_select(0, safe) == _ROLLOUT
        if record is not None:
            is_rollout &= record
        return self._blend_into_perf(is_rollout.sum(), (obj_d * is_rollout).sum())

    def _recycle_after_update(self, safe: torch.Tensor, changed: torch.Tensor) -> torch.Tensor:
        """Reassign workers; returns the finished envs' new pin codes."""
        if not self.cfg.clear_other_queues:
            return self._assign(safe)
        # When a bound moved, every boundary worker is reassigned and the
        # finished rollout workers stay rollout workers (as the reference).
        N = self.num_envs
        done = torch.zeros(N + 1, dtype=torch.bool, device=self.device)
        done.index_fill_(0, safe, True)
        target = torch.where(changed.any(), self.worker_types == _BOUNDARY, done[:N])
        is_boundary, modes = self._draw_assignment(N)
        self.worker_types.copy_(torch.where(target, is_boundary.long(), self.worker_types))
        self.adr_modes.copy_(torch.where(target, modes, self.adr_modes))
        return self._pin_codes(safe)

    def _draw_assignment(self, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(count,)`` bool "becomes a boundary worker" and int64 modes."""
        gen = self._gens["assign"]
        u = torch.rand(count, generator=gen, device=self.device)
        modes = torch.randint(0, 2 * self.num_params, (count,), generator=gen, device=self.device)
        return u < self.cfg.worker_adr_boundary_fraction, modes

    def _assign(self, slots: torch.Tensor) -> torch.Tensor:
        """Draw new worker types and modes for ``slots``; returns their pin codes."""
        is_boundary, modes = self._draw_assignment(slots.numel())
        # WorkerType.BOUNDARY == 1 and WorkerType.ROLLOUT == 0.
        self._types_buf.index_put_((slots,), is_boundary.long())
        self._modes_buf.index_put_((slots,), modes)
        return torch.where(is_boundary, modes + 1, 0)

    def _pin_codes(self, slots: torch.Tensor) -> torch.Tensor:
        """``(K,)`` ``mode + 1`` for boundary workers at ``slots``, else 0."""
        types = self._types_buf.index_select(0, slots)
        return torch.where(types == _BOUNDARY, self._modes_buf.index_select(0, slots) + 1, 0)

    # ------------------------------------------------------------------ sampling

    def _resample(self, slots: torch.Tensor, pins: torch.Tensor) -> None:
        """Fresh values of every tensor parameter for the envs at ``slots``
        whose pin codes are ``pins``."""
        n_u, n_c = self._u_rows.num_rows, self._c_rows.num_rows
        if n_u + n_c == 0:
            return
        rows = (n_u + 1 if n_u else 0) + (n_c + 1 if n_c else 0)
        u = torch.rand((rows, slots.numel()), generator=self._gens["sample"], device=self.device)
        if n_u:
            u_u = u if not n_c else u[: n_u + 1]
            values = self._draw(u_u, pins, self._u_rows, categorical=False)
            self._uvals.index_copy_(1, slots, values.to(torch.float32))
        if n_c:
            u_c = u if not n_u else u[n_u + 1 :]
            values = self._draw(u_c, pins, self._c_rows, categorical=True)
            self._cvals.index_copy_(1, slots, values.to(torch.long))

    def _draw(
        self, u: torch.Tensor, pins: torch.Tensor, rows: SamplingRows, *, categorical: bool
    ) -> torch.Tensor:
        """``(T + 1, K)`` float64 values from ``(T + 1, K)`` float32 uniforms ``u``.

        Row ``t`` is parameter ``rows.index_ext[t]``, the last row is trash.
        Every env draws from the current range, then each boundary worker of
        one of these parameters gets that parameter's bound (or next limit)
        written over its draw.
        """
        rng = self.bounds.index_select(0, rows.index_ext)
        lo, width = rng[:, :1], rng.diff(dim=1)
        if categorical:
            values = torch.minimum(lo + torch.floor(u * (width + 1.0)), lo + width)
        else:
            # u < 1 in float32, so lo + u * width stays below hi in float64.
            values = torch.addcmul(lo, u, width)
        pinned = self._next_ext if self.cfg.adr_extended_boundary_sample else self._bounds_ext
        columns = torch.arange(pins.numel(), device=self.device)
        values.index_put_(
            (rows.row_of_pin_code.index_select(0, pins), columns), pinned.index_select(0, pins)
        )
        return values

    @torch.inference_mode()
    def sample(self, param_name: str, env_ids: EnvIds | None = None) -> torch.Tensor:
        """Draw new values of one tensor parameter for some envs and store them.

        Boundary workers evaluating this parameter get its bound (its next
        limit with ``adr_extended_boundary_sample``); every other env draws
        from the current range (uniform: real; categorical: integers).

        Args:
            param_name: a tensor parameter (one without ``range_path``).
            env_ids: ``(K,)`` envs to sample; None for all.

        Returns:
            ``(K,)`` the new values, in the order of ``env_ids`` (float32 for
            uniform, int64 for categorical parameters).

        Raises:
            ValueError: unknown or non-tensor parameter, bad env ids.
        """
        buf, row = self._slot_of(param_name)
        ids = self._env_ids_or_all(env_ids)
        n = self.params.index(param_name)
        rows = self._single_rows.get(param_name)
        if rows is None:
            index = torch.tensor([n], device=self.device)
            rows = SamplingRows.build(index, 2 * self.num_params, self.device)
            self._single_rows[param_name] = rows
        u = torch.rand((2, ids.numel()), generator=self._gens["sample"], device=self.device)
        categorical = self.params.types[n] is ParamType.CATEGORICAL
        values = self._draw(u, self._pin_codes(ids), rows, categorical=categorical)[0]
        values = values.to(buf.dtype)
        buf[row].index_copy_(0, ids, values)
        return values

    def get(self, param_name: str, env_ids: EnvIds | None = None) -> torch.Tensor:
        """Current values of a tensor parameter.

        Returns:
            With ``env_ids`` None, the live ``(N,)`` tensor (float32 or int64);
            else ``(K,)`` values of those envs (a copy).

        Raises:
            ValueError: unknown or non-tensor parameter, bad env ids.
        """
        buf, row = self._slot_of(param_name)
        if env_ids is None:
            return buf[row, : self.num_envs]
        return buf[row].index_select(0, self._env_ids_or_all(env_ids))

    def tensor_values(self) -> dict[str, torch.Tensor]:
        """Live ``(N,)`` value tensors of every tensor parameter, by name."""
        return {name: self.get(name) for name in self.params.tensor_names}

    @torch.inference_mode()
    def recycle(self, env_ids: EnvIds) -> None:
        """Give envs new worker types and modes (values are not resampled).

        Each env becomes a boundary worker with probability
        ``worker_adr_boundary_fraction``, evaluating a uniformly chosen bound.

        Raises:
            ValueError: bad env ids.
        """
        self._assign(self._env_ids_or_all(env_ids))

    def _slot_of(self, param_name: str) -> tuple[torch.Tensor, int]:
        slot = self._tensor_slot.get(param_name)
        if slot is None:
            self.params.index(param_name)  # raises for unknown names
            raise ValueError(
                f"param_name: ADR parameter {param_name!r} has a range_path; its values are "
                "applied by the simulator adapter, not sampled as a tensor"
            )
        return slot

    # ------------------------------------------------------------------ input checks

    def _as_env_ids(self, value: EnvIds, name: str) -> torch.Tensor:
        if isinstance(value, torch.Tensor):
            if value.dtype == torch.bool or value.is_floating_point() or value.is_complex():
                raise ValueError(f"{name}: expected integer env ids, got a {value.dtype} tensor")
            if value.dim() != 1:
                raise ValueError(
                    f"{name}: expected a 1-D tensor of env ids, got shape {tuple(value.shape)}"
                )
            return value.to(device=self.device, dtype=torch.long)
        if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, range)):
            raise ValueError(
                f"{name}: expected a 1-D integer tensor or a sequence of ints, "
                f"got {type(value).__name__}"
            )
        items = list(value)
        for item in items:
            if isinstance(item, bool) or not hasattr(item, "__index__"):
                raise ValueError(f"{name}: env ids must be ints, got {item!r}")
        return torch.tensor([int(i) for i in items], dtype=torch.long, device=self.device)

    def _env_ids_or_all(self, env_ids: EnvIds | None) -> torch.Tensor:
        if env_ids is None:
            return torch.arange(self.num_envs, device=self.device)
        return self._checked_or_trashed(self._as_env_ids(env_ids, "env_ids"), "env_ids")

    def _checked_or_trashed(self, ids: torch.Tensor, name: str) -> torch.Tensor:
        """Validated ids, or (unchecked) ids with out-of-range ones sent to the trash slot."""
        if self.cfg.validate_inputs:
            self._check_ids(torch.sort(ids).values, name)
            return ids
        return torch.where((ids >= 0) & (ids < self.num_envs), ids, self.num_envs)

    def _as_objective(self, objective: torch.Tensor) -> torch.Tensor:
        if not isinstance(objective, torch.Tensor):
            raise ValueError(
                f"objective: expected a ({self.num_envs},) tensor, got {type(objective).__name__}"
            )
        if objective.dtype == torch.bool or objective.is_complex():
            raise ValueError(f"objective: expected a real-valued tensor, got {objective.dtype}")
        if tuple(objective.shape) != (self.num_envs,):
            raise ValueError(
                f"objective: expected shape ({self.num_envs},), got {tuple(objective.shape)}"
            )
        return objective.to(self.device)

    def _check_ids(self, ids_sorted: torch.Tensor, name: str) -> None:
        """Raise if sorted ids leave ``[0, N)`` or repeat (one host sync)."""
        if ids_sorted.numel() == 0:
            return
        fenced = torch.cat([self._fence_low, ids_sorted, self._fence_high])
        if (fenced.diff() > 0).all().item():  # strictly increasing from -1 to N
            return
        lo, hi = int(ids_sorted[0]), int(ids_sorted[-1])
        if lo < 0 or hi >= self.num_envs:
            raise ValueError(
                f"{name}: env ids must lie in [0, {self.num_envs}), got ids from {lo} to {hi}"
            )
        repeated = ids_sorted[1:][ids_sorted[1:] == ids_sorted[:-1]]
        dup = sorted(set(repeated.tolist()))[:8]
        raise ValueError(f"{name}: duplicated env ids {dup}")

    def _raise_for_update(
        self, ids: torch.Tensor, obj_d: torch.Tensor, finite: torch.Tensor
    ) -> None:
        """Explain why ``update``'s inputs failed the check (syncs freely)."""
        self._check_ids(torch.sort(ids).values, "done_env_ids")
        bad_ids = ids[~finite][:8].tolist()
        bad_vals = obj_d[~finite][:8].tolist()
        listing = ", ".join(f"env {i}: {v}" for i, v in zip(bad_ids, bad_vals, strict=True))
        raise ValueError(f"objective: non-finite values for finished envs ({listing})")

    # ------------------------------------------------------------------ state

    def _chronological_queues(self) -> torch.Tensor:
        """``(2P, L)`` queue contents oldest first, zero past each length."""
        Q, L = 2 * self.num_params, self.queue_length
        qlen, head = self._qlen_q, self._qhead[:Q]
        pos = torch.arange(L, device=self.device)
        idx = (head.unsqueeze(1) - qlen.unsqueeze(1) + pos) % L
        values = self._qvals_q.gather(1, idx)
        return torch.where(pos < qlen.unsqueeze(1), values, 0.0)

    def state_dict(self) -> EngineState:
        """The complete engine state (CPU tensors and primitives; copies)."""
        identity = self.params.identity()
        return EngineState(
            schema_version=SCHEMA_VERSION,
            param_set_hash=self.params.fingerprint(),
            param_names=[p["name"] for p in identity],
            param_types=[p["type"] for p in identity],
            param_kinds=[p["kind"] for p in identity],
            num_envs=self.num_envs,
            queue_length=self.queue_length,
            bounds=self.bounds.cpu().clone(),
            next_limits=self.next_limits.cpu().clone(),
            queue_values=self._chronological_queues().cpu(),
            queue_lengths=self._qlen_q.cpu().clone(),
            worker_types=self.worker_types.cpu().clone(),
            adr_modes=self.adr_modes.cpu().clone(),
            tensor_values={k: v.cpu().clone() for k, v in self.tensor_values().items()},
            rollout_perf=float(self._perf.item()),
            rollout_perf_valid=bool(self._perf_valid.item()),
            step=self.step,
            rng={name: gen.get_state() for name, gen in self._gens.items()},
        )

    def load_state_dict(
        self, state: Mapping[str, Any], *, restore_ranges: bool | None = None
    ) -> None:
        """Restore a state from :meth:`state_dict` (possibly of another process).

        Everything is checked before anything is changed: on error the engine
        is untouched. A state saved with another ``adr_queue_threshold_length``
        keeps each queue's newest results.

        Args:
            state: a state dict (older schema versions are migrated).
            restore_ranges: restore ranges, next limits and queues (True) or keep
                them fresh from ``init_range`` (False); everything else is
                restored either way, except that boundary workers then become
                rollout workers (their bounds are gone). Default:
                ``cfg.adr_load_from_checkpoint``.

        Raises:
            SchemaVersionError: unknown schema version.
            IncompatibleStateError: another parameter set (the message lists the
                differences) or another number of envs.
            StateError: a malformed or inconsistent state (message says what).
        """
        if restore_ranges is None:
            restore_ranges = self.cfg.adr_load_from_checkpoint
        staged = _StagedState.build(self, migrate_engine_state(state), restore_ranges)
        staged.commit(self)

    def load_shared_state(self, state: Mapping[str, Any]) -> None:
        """Restore only the shared part of a state (ranges, next limits, queues,
        rollout EMA, update counter, decision stream), keeping this engine's own
        envs, workers and random streams: for a checkpoint of another number
        of envs or processes, or to evaluate a policy at a checkpoint's ranges.

        Raises:
            the errors of :meth:`load_state_dict`.
        """
        shared, _ = split_engine_state(migrate_engine_state(state))
        _, mine = split_engine_state(self.state_dict())
        self.load_state_dict(merge_engine_state(shared, mine), restore_ranges=True)


def _tensor(
    state: Mapping[str, Any], key: str, shape: tuple[int, ...], dtype: torch.dtype
) -> torch.Tensor:
    value = state.get(key)
    if not isinstance(value, torch.Tensor):
        raise StateError(f"ADR engine state: '{key}' must be a tensor, got {type(value).__name__}")
    if tuple(value.shape) != shape:
        raise StateError(
            f"ADR engine state: '{key}' has shape {tuple(value.shape)}, expected {shape}"
        )
    if value.dtype != dtype:
        raise StateError(f"ADR engine state: '{key}' has dtype {value.dtype}, expected {dtype}")
    return value.detach().cpu()


def _int(state: Mapping[str, Any], key: str) -> int:
    value = state.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise StateError(f"ADR engine state: '{key}' must be an int, got {value!r}")
    return value


def _float(state: Mapping[str, Any], key: str) -> float:
    value = state.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise StateError(f"ADR engine state: '{key}' must be a finite number, got {value!r}")
    return float(value)


def _bool(state: Mapping[str, Any], key: str) -> bool:
    value = state.get(key)
    if not isinstance(value, bool):
        raise StateError(f"ADR engine state: '{key}' must be a bool, got {value!r}")
    return value


def _string_list(state: Mapping[str, Any], key: str) -> list[str]:
    value = state.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise StateError(f"ADR engine state: '{key}' must be a list of strings")
    return value


class _StagedState:
    """A fully validated state, ready to be copied into an engine."""

    def __init__(
        self,
        tensors: dict[str, torch.Tensor],
        values: dict[str, torch.Tensor],
        rng: dict[str, torch.Tensor],
        scalars: tuple[float, bool, int],
        restore_ranges: bool,
    ) -> None:
        self.tensors = tensors
        self.values = values
        self.rng = rng
        self.perf, self.perf_valid, self.step = scalars
        self.restore_ranges = restore_ranges

    @classmethod
    def build(cls, engine: ADREngine, st: Mapping[str, Any], restore_ranges: bool) -> _StagedState:
        _check_identity(engine, st)
        P, N = engine.num_params, engine.num_envs
        Q = 2 * P
        saved_len = _int(st, "queue_length")
        if saved_len <= 0:
            raise StateError(f"ADR engine state: queue_length must be > 0, got {saved_len}")
        bounds = _tensor(st, "bounds", (P, 2), torch.float64)
        next_limits = _tensor(st, "next_limits", (P, 2), torch.float64)
        qvals = _tensor(st, "queue_values", (Q, saved_len), torch.float64)
        qlen = _tensor(st, "queue_lengths", (Q,), torch.long)
        types = _tensor(st, "worker_types", (N,), torch.long)
        modes = _tensor(st, "adr_modes", (N,), torch.long)
        if not bool(torch.isfinite(bounds).all()) or not bool(torch.isfinite(qvals).all()):
            raise StateError("ADR engine state: bounds and queue values must be finite")
        if bool(torch.isnan(next_limits).any()):
            raise StateError("ADR engine state: next_limits contain NaN")
        if bool((bounds[:, 0] > bounds[:, 1]).any()):
            raise StateError("ADR engine state: a range has its lower bound above its upper bound")
        if bool(((qlen < 0) | (qlen > saved_len)).any()):
            raise StateError(f"ADR engine state: queue_lengths must lie in [0, {saved_len}]")
        valid_types = sorted(int(t) for t in WorkerType)
        if not bool(torch.isin(types, torch.tensor(valid_types)).all()):
            raise StateError(f"ADR engine state: worker_types must be in {valid_types}")
        if bool(((modes < 0) | (modes >= Q)).any()):
            raise StateError(f"ADR engine state: adr_modes must lie in [0, {Q})")
        if restore_ranges:
            _check_ranges_fit_config(engine, bounds)

        # Keep each queue's newest results (all of them unless the configured
        # queue length shrank since the state was saved).
        L = engine.queue_length
        kept = qlen.clamp(max=L)
        pos = torch.arange(L)
        src = ((qlen - kept).unsqueeze(1) + pos).clamp(max=saved_len - 1)
        resized = torch.where(pos < kept.unsqueeze(1), qvals.gather(1, src), 0.0)
        tensors = {
            "bounds": bounds,
            "next_limits": next_limits,
            "queue_values": resized,
            "queue_meta": torch.stack([kept, kept % L]),
            "worker_types": types,
            "adr_modes": modes,
        }

        values_in = st.get("tensor_values")
        if not isinstance(values_in, Mapping):
            raise StateError("ADR engine state: 'tensor_values' must be a mapping")
        expected = set(engine.params.tensor_names)
        if set(values_in) != expected:
            raise StateError(
                "ADR engine state: 'tensor_values' has parameters "
                f"{sorted(values_in)}, expected {sorted(expected)}"
            )
        values = {}
        for name in engine.params.tensor_names:
            buf, _ = engine._slot_of(name)
            value = _tensor(values_in, name, (N,), buf.dtype)
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                raise StateError(f"ADR engine state: tensor_values '{name}' must be finite")
            values[name] = value

        rng_in = st.get("rng")
        if not isinstance(rng_in, Mapping) or set(rng_in) != set(RNG_STREAMS):
            raise StateError(f"ADR engine state: 'rng' must hold the streams {list(RNG_STREAMS)}")
        rng = {}
        for name in RNG_STREAMS:
            rng[name] = checked_generator_state(
                rng_in[name], f"ADR engine state: rng '{name}'", engine.device
            )
        scalars = (_float(st, "rollout_perf"), _bool(st, "rollout_perf_valid"), _int(st, "step"))
        return cls(tensors, values, rng, scalars, restore_ranges)

    def commit(self, engine: ADREngine) -> None:
        """Copy into the engine's existing buffers (live views stay valid)."""
        dev = engine.device
        t = {k: v.to(dev) for k, v in self.tensors.items()}
        if self.restore_ranges:
            engine.bounds.copy_(t["bounds"])
            engine.next_limits.copy_(t["next_limits"])
            engine._qvals_q.copy_(t["queue_values"])
            engine._qmeta_q.copy_(t["queue_meta"])
        else:
            engine.bounds.copy_(engine.params.init)
            engine._next_flat.copy_(engine._outward.apply(engine._bounds_flat))
            engine._qvals.zero_()
            engine._qmeta.zero_()
        engine.worker_types.copy_(t["worker_types"])
        engine.adr_modes.copy_(t["adr_modes"])
        if not self.restore_ranges:
            # Their bounds are gone with the checkpoint's ranges: their results
            # must not enter the fresh queues.
            engine.worker_types.masked_fill_(engine.worker_types == _BOUNDARY, _ROLLOUT)
        for name, value in self.values.items():
            buf, row = engine._slot_of(name)
            buf[row, : engine.num_envs].copy_(value.to(dev))
        for name, gen_state in self.rng.items():
            engine._gens[name].set_state(gen_state)
        engine._perf.fill_(self.perf)
        engine._perf_valid.fill_(self.perf_valid)
        alpha = engine.cfg.adr_rollout_perf_alpha
        engine._perf_weight.fill_(1.0 - alpha if self.perf_valid else 1.0)
        engine.step = self.step
        engine.generation += 1


def _check_identity(engine: ADREngine, st: Mapping[str, Any]) -> None:
    names, ptypes, kinds = (
        _string_list(st, k) for k in ("param_names", "param_types", "param_kinds")
    )
    if not len(names) == len(ptypes) == len(kinds):
        raise StateError("ADR engine state: param_names, param_types, param_kinds differ in length")
    saved = [
        {"name": n, "type": t, "kind": k} for n, t, k in zip(names, ptypes, kinds, strict=True)
    ]
    diffs = describe_param_set_differences(saved, engine.params.identity())
    if diffs:
        raise IncompatibleStateError(
            "ADR engine state belongs to another parameter set:\n  " + "\n  ".join(diffs)
        )
    if st.get("param_set_hash") != engine.params.fingerprint():
        raise StateError(
            "ADR engine state: param_set_hash does not match its parameter list "
            "(the state was altered)"
        )
    saved_envs = _int(st, "num_envs")
    if saved_envs != engine.num_envs:
        raise IncompatibleStateError(
            f"ADR engine state holds {saved_envs} envs, this engine has {engine.num_envs}"
        )


def _check_ranges_fit_config(engine: ADREngine, bounds: torch.Tensor) -> None:
    init, limits = engine.params.init.cpu(), engine.params.limits.cpu()
    problems = []
    for n, name in enumerate(engine.params.names):
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
            "ADR engine state does not fit the current config (change the config, or set "
            "adr_load_from_checkpoint: false to start ranges fresh):\n  " + "\n  ".join(problems)
        )
