"""One ADR update as the fixed sequence of its rules, over buffers, inputs and draws.

:func:`screen_and_sort` and :func:`apply_rules` are pure functions of the
engine's buffers and tables, the update's inputs and its random draws
(:func:`draw`, made before them): no generator, no host read, no shape that
depends on data. That makes them traceable whole by ``torch.compile``
(:mod:`adr_domain.compiled`) and capturable in a CUDA graph.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from adr_domain import decisions, inputs, queues, rollout_perf, sampling, workers
from adr_domain.buffers import Buffers
from adr_domain.config import ADRConfig
from adr_domain.decisions import Thresholds
from adr_domain.streams import RandomStreams
from adr_domain.tables import EngineTables
from adr_domain.types import InputChecks, QueuePolicy

__all__ = [
    "Draws",
    "Options",
    "Outcome",
    "apply_rules",
    "draw",
    "resample_envs",
    "screen_and_sort",
]


class Options(NamedTuple):
    """The config values an update reads (plain values, fixed for an engine)."""

    checks: InputChecks
    clear_other_queues: bool
    queue_policy: QueuePolicy
    boundary_fraction: float
    perf_alpha: float
    extended_boundary_sample: bool
    thresholds: Thresholds

    @classmethod
    def from_config(cls, cfg: ADRConfig) -> Options:
        """The options of a validated config."""
        return cls(
            checks=cfg.input_checks,
            clear_other_queues=cfg.clear_other_queues,
            queue_policy=cfg.queue_policy,
            boundary_fraction=cfg.worker_adr_boundary_fraction,
            perf_alpha=cfg.adr_rollout_perf_alpha,
            extended_boundary_sample=cfg.adr_extended_boundary_sample,
            thresholds=Thresholds(
                cfg.adr_objective_threshold_low,
                cfg.adr_objective_threshold_high,
                cfg.adr_queue_threshold_length,
            ),
        )


class Draws(NamedTuple):
    """An update's random draws.

    Attributes:
        priority: ``(P,)`` float32 parameter priorities (``clear_other_queues``), else None.
        assignment: new workers' draws: ``N`` of them with ``clear_other_queues``, else ``K``.
        uniforms: ``(R, K)`` float32 for the per-env values; None without tensor parameters.
    """

    priority: torch.Tensor | None
    assignment: workers.Assignment
    uniforms: torch.Tensor | None


class Outcome(NamedTuple):
    """What an update did, ``(Q,)`` tensors in queue order and scalars (snapshots)."""

    moved: torch.Tensor
    bounds: torch.Tensor
    next_limits: torch.Tensor
    means: torch.Tensor
    lengths: torch.Tensor
    perf: torch.Tensor
    recorded: torch.Tensor

    @classmethod
    def unchanged(cls, b: Buffers) -> Outcome:
        """The outcome of an update that moved and recorded nothing: snapshots of
        the buffers, each queue mean that of what the queue holds now."""
        return cls(
            moved=torch.zeros_like(b.bounds_flat, dtype=torch.bool),
            bounds=b.bounds_flat.clone(),
            next_limits=b.next_flat.clone(),
            means=queues.queue_means(b.queue_values, b.lengths),
            lengths=b.lengths.clone(),
            perf=b.perf.clone().view(()),
            recorded=torch.zeros((), dtype=torch.long, device=b.perf.device),
        )


def draw(
    streams: RandomStreams, tables: EngineTables, options: Options, num_envs: int, count: int
) -> Draws:
    """The draws of an update with ``count`` finished envs, in each stream's fixed order."""
    clear_others = options.clear_other_queues
    num_params = streams.num_queues // 2
    rows = tables.sampling.num_rows
    return Draws(
        priority=streams.priority(num_params) if clear_others else None,
        assignment=streams.assignment(num_envs if clear_others else count),
        uniforms=streams.uniforms(rows, count) if rows else None,
    )


def screen_and_sort(
    b: Buffers, t: EngineTables, options: Options, ids: torch.Tensor, objective: torch.Tensor
) -> tuple[queues.Results, torch.Tensor, torch.Tensor | None]:
    """Screen the inputs (noting the first bad entry under deferred checks) and
    group the results.

    Returns:
        The one-rank results, ``(N + 1,)`` int64 every env's code as of the
        update's start, and (eager checks only) the ``(K,)`` bool ok flags.
    """
    checks = options.checks
    codes = workers.codes_of(b.types, b.modes, b.num_queues, b.codes)
    found = inputs.screen(ids, objective, codes, t.queue_of_code, b.seen, t.positions, checks)
    if checks is InputChecks.DEFERRED and found.ok is not None:
        inputs.note_offence(b.offence, found.ok, ids, found.raw)
    results = queues.sort_results(found.gather, found.key, found.values, b.num_envs)
    return results, codes, found.ok if checks is InputChecks.EAGER else None


def apply_rules(
    b: Buffers,
    t: EngineTables,
    options: Options,
    results: queues.Results,
    codes: torch.Tensor,
    draws: Draws,
) -> Outcome:
    """Algorithm 1 on the update's results: record, evaluate, move (one parameter
    under ``clear_other_queues``), clear, next limits, stale workers, rollout EMA,
    recycle, sample."""
    recorded = queues.record(
        b.qvals, (b.qmeta, b.all_lengths, b.all_heads), results, t.group_edges, t.positions
    )
    verdict = decisions.evaluate(
        queues.queue_means(b.queue_values, b.lengths), b.lengths, options.thresholds
    )
    candidate, changed = decisions.move(b.bounds_flat, verdict, t.steps)
    take = verdict.decided
    if draws.priority is not None:
        changed = take = decisions.choose_one_parameter(changed, draws.priority)
    bounds = decisions.take_steps(b.bounds_flat, candidate, take)
    b.bounds_flat.copy_(bounds)
    clear = decisions.queues_to_clear(
        changed, verdict.full, options.queue_policy, options.clear_other_queues
    )
    lengths = queues.clear_queues(b.queue_values, b.queue_meta, b.lengths, clear)
    next_limits = decisions.next_limits(bounds, changed, b.next_flat, t.outward)
    b.next_flat.copy_(next_limits)
    workers.convert_stale(b.types, codes, changed, (b.stale_by_code, b.stale_boundary), b.stale)
    count, total = rollout_perf.rollout_total(
        results.keys, results.values, changed, (b.group_weights, b.rollout_weights)
    )
    ema = rollout_perf.blend(b.perf, b.perf_weight, b.perf_valid, count, total, options.perf_alpha)
    if options.clear_other_queues:
        pins = workers.reassign_after_move(
            b.types,
            b.modes,
            results.slots,
            changed.any(),
            draws.assignment,
            options.boundary_fraction,
        )
    else:
        pins = workers.assign(
            b.types, b.modes, results.slots, draws.assignment, options.boundary_fraction
        )
    if draws.uniforms is not None:
        resample_envs(b, t, options, draws.uniforms, results.slots, pins)
    return Outcome(changed, bounds, next_limits, verdict.means, lengths, ema, recorded)


def resample_envs(
    b: Buffers,
    t: EngineTables,
    options: Options,
    u: torch.Tensor,
    slots: torch.Tensor,
    pins: torch.Tensor,
) -> None:
    """Fresh values of every tensor parameter for the envs at ``slots`` with pin
    codes ``pins``, from ``(R, K)`` uniforms ``u``."""
    pinned = b.next_ext if options.extended_boundary_sample else b.bounds_ext
    sampling.resample(u, slots, pins, b.bounds, pinned, t.sampling, (b.uvals, b.cvals), t.positions)
