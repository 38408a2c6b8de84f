"""The vectorized ADR engine: buffers, rules and their fixed order.

One :class:`ADREngine` holds the complete ADR state of ``N`` environments and
``P`` parameters as tensors on one device (:mod:`adr_domain.buffers`) and
updates it with a fixed number of vectorized operations, whatever ``P`` and
however many envs finish. :meth:`ADREngine.update` is the fixed sequence of
the rules of ``docs/engine.md``, each a small function of its own module:

* inputs (types and shapes at once, bad values deferred): :mod:`adr_domain.inputs`;
* record: :mod:`adr_domain.queues`;
* evaluate, move, choose one parameter, clear, next limits: :mod:`adr_domain.decisions`;
* stale workers, recycle: :mod:`adr_domain.workers`;
* rollout EMA: :mod:`adr_domain.rollout_perf`;
* sample: :mod:`adr_domain.sampling`; NPD: :mod:`adr_domain.report`.

Random draws come from :mod:`adr_domain.streams` before the tensor work, so
the tensor work is a pure function of buffers, inputs and draws.

No operation of an update copies data to the host with the default
``input_checks: deferred``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from adr_domain import inputs, queues, update, workers
from adr_domain.buffers import Buffers
from adr_domain.compiled import UpdateRules
from adr_domain.config import ADRConfig
from adr_domain.engine_state import EngineState, adopt_shared_state, migrate_engine_state
from adr_domain.engine_state_io import export_engine_state, fresh_ranges, stage_engine_state
from adr_domain.env_values import EnvValueAccess
from adr_domain.exchange import BoundaryExchange, check_ranks_agree, share_results
from adr_domain.inputs import EnvIds
from adr_domain.params import ParamTable
from adr_domain.report import UpdateReport, nats_per_dimension
from adr_domain.state_toolkit import Commit, StagedLoad, is_int
from adr_domain.streams import RNG_STREAMS, RandomStreams
from adr_domain.tables import EngineTables
from adr_domain.types import InputChecks, WorkerType

__all__ = ["RNG_STREAMS", "ADREngine", "EnvIds"]

_ROLLOUT = int(WorkerType.ROLLOUT)


class ADREngine(StagedLoad):
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
            identical decisions. None for a single process.
        compile_update: run the update's tensor work through ``torch.compile``
            (True: inductor; a string: that backend; see :mod:`adr_domain.compiled`).

    Attributes:
        cfg, params, num_envs, device: the set-up.
        queue_length: ``L``, results a queue needs before its bound may move.
        buffers: every state tensor (:class:`~adr_domain.buffers.Buffers`).
        values: reads and draws the per-env values of tensor parameters
            (:class:`~adr_domain.env_values.EnvValueAccess`; :meth:`sample`,
            :meth:`get`, :meth:`tensor_values` and :meth:`recycle` are its).
        bounds: ``(P, 2)`` float64 current ranges (a live view; read it).
        next_limits: ``(P, 2)`` float64 one step beyond each bound (live).
        worker_types: ``(N,)`` int64 live view; writing valid
            :class:`~adr_domain.types.WorkerType` values reassigns workers.
        adr_modes: ``(N,)`` int64 live view; queue ``2n + b`` each boundary
            worker evaluates.
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
        compile_update: bool | str = False,
    ) -> None:
        self.cfg = ADRConfig.from_mapping(cfg)
        if not is_int(num_envs) or num_envs <= 0:
            raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
        self.device = torch.device(device)
        self.num_envs = num_envs
        self.params = ParamTable.from_config(self.cfg, self.device)
        self.queue_length = self.cfg.adr_queue_threshold_length
        self._rules = UpdateRules(compile_update)
        self._start(exchange, seed)

    def _start(self, exchange: BoundaryExchange | None, seed: int) -> None:
        """Every state tensor fresh (init ranges, empty queues, rollout workers), for
        this process's place in the run; tensor parameters drawn from the init ranges."""
        self._exchange = exchange
        self.rank = 0 if exchange is None else exchange.rank
        self.world_size = 1 if exchange is None else exchange.world_size
        dev, num_envs = self.device, self.num_envs
        self.step = 0
        self.generation = 0
        self.tables = EngineTables.build(self.params, num_envs, self.world_size, dev)
        P, L, plan = self.params.num_params, self.queue_length, self.tables.sampling
        self.buffers = b = Buffers.allocate(
            num_envs=num_envs, num_params=P, queue_length=L, sampling=plan, device=dev
        )
        self.options = update.Options.from_config(self.cfg)
        self.bounds, self.next_limits = b.bounds, b.next_limits
        self.worker_types, self.adr_modes = b.worker_types, b.adr_modes
        self.streams = RandomStreams(dev, self.rank, b.num_queues)
        self.streams.seed(seed)
        self.values = EnvValueAccess(
            self.cfg, self.params, b, self.tables, self.streams, self.options, num_envs
        )
        self._pads: dict[torch.dtype, torch.Tensor] = {}
        fresh_ranges(b, self.params, self.tables.outward)
        if exchange is not None:
            check_ranks_agree(exchange, self.cfg, self.params, num_envs, dev)
        everyone = self.tables.positions[:num_envs]
        self.values.resample(everyone, workers.pin_codes(b.types, b.modes, everyone))

    def join(self, exchange: BoundaryExchange, seed: int) -> None:
        """Start afresh as one rank of a distributed run (a collective on every rank).

        For an engine built before the run's process group existed (a trainer
        that makes the group after the env): as if built with ``exchange`` and
        ``seed`` (the seed every rank agreed on); what it held before is dropped.

        Raises:
            ValueError: the ranks' configs, parameter sets or env counts differ.
        """
        self._start(exchange, seed)

    # ------------------------------------------------------------------ per-env values

    def sample(self, param_name: str, env_ids: EnvIds | None = None) -> torch.Tensor:
        """See :meth:`EnvValueAccess.sample`."""
        return self.values.sample(param_name, env_ids)

    def get(self, param_name: str, env_ids: EnvIds | None = None) -> torch.Tensor:
        """See :meth:`EnvValueAccess.get`."""
        return self.values.get(param_name, env_ids)

    def pin(self, param_name: str, values: torch.Tensor, env_ids: EnvIds | None = None) -> None:
        """See :meth:`EnvValueAccess.pin` (with ``update_adr_ranges=False`` and no env
        finishing, pinned values stay: what an evaluation needs)."""
        self.values.pin(param_name, values, env_ids)

    def tensor_values(self) -> dict[str, torch.Tensor]:
        """See :meth:`EnvValueAccess.tensor_values`."""
        return self.values.tensor_values()

    def recycle(self, env_ids: EnvIds) -> None:
        """See :meth:`EnvValueAccess.recycle`."""
        self.values.recycle(env_ids)

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
        return self.buffers.lengths.view(-1, 2)

    @property
    def rollout_perf(self) -> torch.Tensor:
        """``()`` float64 EMA of finishing rollout workers' objective (0 until the first)."""
        return self.buffers.perf.view(())

    @property
    def rollout_perf_valid(self) -> bool:
        """Whether a rollout worker has finished yet (reads the host; checks first)."""
        self.check()
        return bool(self.buffers.perf_valid.item())

    def seed(self, seed: int) -> None:
        """Reseed the random streams: the shared decision stream from ``seed``
        alone, the others from ``seed`` and this rank."""
        self.streams.seed(seed)

    def queue_means(self) -> torch.Tensor:
        """``(P, 2)`` float64 mean of each boundary queue (0 when empty)."""
        b = self.buffers
        return queues.queue_means(b.queue_values, b.lengths).view(-1, 2)

    def queue_contents(self, param: int, bound: int) -> torch.Tensor:
        """Results in the queue of ``(param, bound)``, oldest first (a copy; checks first)."""
        self.check()
        q = 2 * param + bound
        contents = queues.chronological(self.buffers.queue_values, self.buffers.queue_meta)
        return contents[q, : int(self.buffers.lengths[q].item())].clone()

    def npd(self) -> torch.Tensor:
        """``()`` float64 nats per dimension: mean over parameters of
        ``log(max(hi - lo, 1e-3))``, parameters with ``delta == 0`` counting 0."""
        return nats_per_dimension(self.bounds, self.params.enabled)

    def check(self) -> None:
        """Raise the first bad input kept out of the state since the last check.

        With ``input_checks: deferred`` (the default) bad entries of
        :meth:`update` (ids out of range or repeated, non-finite objectives)
        never reach the state and the first is remembered on the device; this
        reads it (one host sync), forgets it and raises it. Call it once per
        epoch or log interval; every engine method that reads to the host
        calls it too. Nothing to raise with ``eager`` (already raised) and
        ``off`` (never checked).

        Raises:
            ValueError: naming the argument, the env id and the value.
        """
        if self.cfg.input_checks is InputChecks.DEFERRED:
            inputs.raise_offence(self.buffers.offence, self.num_envs)

    def report(self) -> UpdateReport:
        """The current state as an :class:`UpdateReport` with nothing moved and
        nothing recorded (snapshots; each boundary ``queue_means`` entry is the
        mean of what the queue holds now)."""
        outcome = update.Outcome.unchanged(self.buffers)
        return UpdateReport.from_outcome(outcome, step=self.step, params=self.params)

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
            ValueError: naming ``done_env_ids`` or ``objective`` when they have
                the wrong type, shape or dtype, or more ids than envs (at once,
                state untouched). Bad values (ids out of range or repeated,
                non-finite objectives of finished envs): with ``input_checks:
                eager`` at once, state untouched; with ``deferred`` at the
                next :meth:`check`, kept out of the state meanwhile.
        """
        ids, obj = inputs.as_update_inputs(done_env_ids, objective, self.num_envs, self.device)
        if not self.cfg.update_adr_ranges:
            return self._update_frozen(ids)
        b, t, options, count = self.buffers, self.tables, self.options, ids.numel()
        results, codes, ok = self._rules.screen(count, b, t, options, ids, obj)
        if ok is not None:  # input_checks: eager, the one host sync
            inputs.raise_if_bad_update(ids, obj, ok, self.num_envs)
        if self._exchange is not None:
            pads, trash = self._pads, b.num_queues + 1
            results = share_results(self._exchange, results, obj.dtype, self.num_envs, trash, pads)
        draws = update.draw(self.streams, t, options, self.num_envs, count)
        outcome = self._rules.apply(count, b, t, options, results, codes, draws)
        self.step += 1
        self.generation += 1
        return UpdateReport.from_outcome(outcome, step=self.step, params=self.params)

    def _update_frozen(self, ids: torch.Tensor) -> UpdateReport:
        """``update`` with ``update_adr_ranges=False``: finished envs become
        rollout workers and are resampled; nothing is recorded."""
        slots = self.values.checked_or_trashed(ids, "done_env_ids", deferred=True)
        self.buffers.types.index_fill_(0, slots, _ROLLOUT)
        self.values.resample(slots, torch.zeros_like(slots))
        self.step += 1
        self.generation += 1
        return self.report()

    # ------------------------------------------------------------------ state

    def state_dict(self) -> EngineState:
        """The complete engine state (CPU tensors and primitives; copies; checks first)."""
        self.check()
        return export_engine_state(
            self.params, self.buffers, self.tensor_values(), self.streams.state_dict(), self.step
        )

    def stage_state_dict(
        self, state: Mapping[str, Any], *, restore_ranges: bool | None = None
    ) -> Commit:
        """Check a state from :meth:`state_dict` completely; the commit loads it.

        Args:
            state: a state dict (older schema versions are migrated).
            restore_ranges: restore ranges, next limits and queues (True) or
                keep them fresh from ``init_range`` (False); everything else is
                restored either way, except that boundary workers then become
                rollout workers (their bounds are gone). Default:
                ``cfg.adr_load_from_checkpoint``.

        Raises:
            the errors of :meth:`load_state_dict`.
        """
        if restore_ranges is None:
            restore_ranges = self.cfg.adr_load_from_checkpoint
        staged = stage_engine_state(
            migrate_engine_state(state),
            params=self.params,
            buffers=self.buffers,
            slot_of=self.values.slot_of,
            stage_rng=self.streams.stage,
            restore_ranges=restore_ranges,
        )

        alpha = self.cfg.adr_rollout_perf_alpha

        def commit() -> None:
            staged.apply(self.buffers, self.params, self.tables.outward, self.values.slot_of, alpha)
            self.step = staged.step
            self.generation += 1

        return commit

    def load_state_dict(
        self, state: Mapping[str, Any], *, restore_ranges: bool | None = None
    ) -> None:
        """Restore a state from :meth:`state_dict` (possibly of another process).

        Everything is checked before anything is changed: on error the engine
        is untouched. A state saved with another ``adr_queue_threshold_length``
        keeps each queue's newest results.

        Args:
            state: a state dict (older schema versions are migrated).
            restore_ranges: see :meth:`stage_state_dict`.

        Raises:
            SchemaVersionError: unknown schema version.
            IncompatibleStateError: another parameter set (the message lists the
                differences) or another number of envs.
            StateError: a malformed or inconsistent state (message says what).
        """
        self.stage_state_dict(state, restore_ranges=restore_ranges)()

    def load_shared_state(self, state: Mapping[str, Any]) -> None:
        """Restore only the shared part of a state (ranges, next limits, queues,
        rollout EMA, update counter, decision stream), keeping this engine's own
        envs, workers and random streams: for a checkpoint of another number
        of envs or processes, or to evaluate a policy at a checkpoint's ranges.

        Raises:
            the errors of :meth:`load_state_dict`.
        """
        shared = adopt_shared_state(self.state_dict(), migrate_engine_state(state))
        self.load_state_dict(shared, restore_ranges=True)
