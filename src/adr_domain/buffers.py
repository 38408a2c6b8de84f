"""Every tensor of an engine's state, allocated once, with its trash row or slot.

``P`` parameters, ``Q = 2P`` queues, ``N`` envs, queue length ``L``. Queue
``q = 2n + b`` holds the results of bound ``b`` (0 low, 1 high) of parameter
``n``. Entries an update must ignore are written to a trash row or slot
instead of being filtered out (filtering has a data-dependent shape and
would synchronize with the host):

* the queue table has two trash rows: ``Q`` (results of rollout workers)
  and ``Q + 1`` (everything ignored: test workers, invalid entries, padding);
* every per-env buffer has one trash slot, index ``N``.

The public views (:attr:`Buffers.bounds`, :attr:`~Buffers.worker_types`, ...)
share storage with the buffers, so they stay live across updates and loads.
"""

from __future__ import annotations

import attrs
import torch

from adr_domain.inputs import OFFENCE_FIELDS
from adr_domain.tables import SamplingPlan
from adr_domain.types import WorkerType

__all__ = ["Buffers"]


@attrs.frozen(eq=False)
class Buffers:
    """The engine's tensors (see the module docstring for the layout).

    Attributes:
        bounds_ext: ``(Q + 1,)`` float64 ranges in queue order behind one
            leading dummy entry, so that index ``mode + 1`` reads a boundary
            worker's bound and index 0 nothing.
        next_ext: ``(Q + 1,)`` float64 next limits, laid out like ``bounds_ext``.
        qvals: ``(Q + 2, L)`` float64 ring buffers of boundary results; rows
            ``Q`` and ``Q + 1`` are trash.
        qmeta: ``(2, Q + 2)`` int64; row 0 queue lengths, row 1 heads (the
            next write position).
        types: ``(N + 1,)`` int64 :class:`~adr_domain.types.WorkerType` per env.
        modes: ``(N + 1,)`` int64 queue each boundary worker evaluates.
        codes: ``(N + 1,)`` int64 scratch: each env's ``mode + (Q + 1) * type``.
        stale_by_code: ``(3 (Q + 1),)`` bool scratch: codes of boundary
            workers whose bound just moved.
        stale: ``(N + 1,)`` bool scratch: envs that turn into rollout workers.
        seen: ``(N + 1,)`` int64 scratch of the duplicate-id check.
        group_weights: ``(Q + 2,)`` float64 scratch: which groups feed the
            rollout EMA (the last two entries stay 1 and 0).
        uvals: ``(Tu + 1, N + 1)`` float32 values of the uniform tensor
            parameters (last row trash).
        cvals: ``(Tc + 1, N + 1)`` int64 values of the categorical ones.
        perf: ``(1,)`` float64 rollout-performance EMA.
        perf_weight: ``(1,)`` float64 weight of the next mean (1 until the first).
        perf_valid: ``(1,)`` bool, a rollout worker has finished.

    One-element rather than 0-dim: torch 2.13's ``torch.compile`` drops
    in-place writes to 0-dim tensor inputs.
        offence: ``(3,)`` float64 first bad input not yet reported: kept
            (0 or 1), env id, value (see :func:`~adr_domain.inputs.note_offence`).
    """

    bounds_ext: torch.Tensor
    next_ext: torch.Tensor
    qvals: torch.Tensor
    qmeta: torch.Tensor
    types: torch.Tensor
    modes: torch.Tensor
    codes: torch.Tensor
    stale_by_code: torch.Tensor
    stale: torch.Tensor
    seen: torch.Tensor
    group_weights: torch.Tensor
    uvals: torch.Tensor
    cvals: torch.Tensor
    perf: torch.Tensor
    perf_weight: torch.Tensor
    perf_valid: torch.Tensor
    offence: torch.Tensor
    # Views, made once (they share storage, so they stay live).
    bounds_flat: torch.Tensor
    """``(Q,)`` float64 ranges in queue order."""
    bounds: torch.Tensor
    """``(P, 2)`` float64 ranges."""
    next_flat: torch.Tensor
    """``(Q,)`` float64 next limits in queue order."""
    next_limits: torch.Tensor
    """``(P, 2)`` float64 next limits."""
    queue_values: torch.Tensor
    """``(Q, L)`` float64 the real queues' ring buffers."""
    queue_meta: torch.Tensor
    """``(2, Q)`` int64 lengths and heads of the real queues."""
    lengths: torch.Tensor
    """``(Q,)`` int64 queue lengths."""
    all_lengths: torch.Tensor
    """``(Q + 2,)`` int64 lengths, trash rows included."""
    all_heads: torch.Tensor
    """``(Q + 2,)`` int64 heads, trash rows included."""
    stale_boundary: torch.Tensor
    """``(Q,)`` bool the ``stale_by_code`` entries of boundary workers' codes."""
    rollout_weights: torch.Tensor
    """``(Q,)`` float64 the queue part of ``group_weights``."""
    worker_types: torch.Tensor
    """``(N,)`` int64 worker types."""
    adr_modes: torch.Tensor
    """``(N,)`` int64 the queue each boundary worker evaluates."""

    @classmethod
    def allocate(
        cls,
        *,
        num_envs: int,
        num_params: int,
        queue_length: int,
        sampling: SamplingPlan,
        device: torch.device,
    ) -> Buffers:
        """Zeroed buffers (every env a rollout worker, every queue empty), with a
        value table row for each uniform and categorical row of ``sampling``."""
        N, Q, L = num_envs, 2 * num_params, queue_length

        def f64(*shape: int) -> torch.Tensor:
            return torch.zeros(shape, dtype=torch.float64, device=device)

        def i64(*shape: int) -> torch.Tensor:
            return torch.zeros(shape, dtype=torch.long, device=device)

        def flags(*shape: int) -> torch.Tensor:
            return torch.zeros(shape, dtype=torch.bool, device=device)

        bounds_ext, next_ext = f64(Q + 1), f64(Q + 1)
        qvals, qmeta = f64(Q + 2, L), i64(2, Q + 2)
        types, modes = i64(N + 1).fill_(int(WorkerType.ROLLOUT)), i64(N + 1)
        stale_by_code, group_weights = flags(3 * (Q + 1)), f64(Q + 2)
        group_weights[Q] = 1.0
        return cls(
            bounds_ext=bounds_ext,
            next_ext=next_ext,
            qvals=qvals,
            qmeta=qmeta,
            types=types,
            modes=modes,
            codes=i64(N + 1),
            stale_by_code=stale_by_code,
            stale=flags(N + 1),
            seen=i64(N + 1),
            group_weights=group_weights,
            uvals=torch.zeros(sampling.num_uniform + 1, N + 1, device=device),
            cvals=i64(sampling.num_categorical + 1, N + 1),
            perf=f64(1),
            perf_weight=f64(1).fill_(1.0),
            perf_valid=flags(1),
            offence=f64(OFFENCE_FIELDS),
            bounds_flat=bounds_ext[1:],
            bounds=bounds_ext[1:].view(-1, 2),
            next_flat=next_ext[1:],
            next_limits=next_ext[1:].view(-1, 2),
            queue_values=qvals[:Q],
            queue_meta=qmeta[:, :Q],
            lengths=qmeta[0, :Q],
            all_lengths=qmeta[0],
            all_heads=qmeta[1],
            stale_boundary=stale_by_code[Q + 1 : 2 * Q + 1],
            rollout_weights=group_weights[:Q],
            worker_types=types[:N],
            adr_modes=modes[:N],
        )

    # ------------------------------------------------------------------ views

    @property
    def num_envs(self) -> int:
        """``N``."""
        return self.types.numel() - 1

    @property
    def num_queues(self) -> int:
        """``Q = 2P``."""
        return self.bounds_ext.numel() - 1

    @property
    def queue_length(self) -> int:
        """``L``."""
        return self.qvals.shape[1]
