"""Queue rules: order the results, record them into the ring buffers, clear, read.

Queue ``q = 2n + b`` holds boundary results of bound ``b`` of parameter
``n``; ``Q = 2P`` queues of length ``L`` live in rows ``0 .. Q-1`` of the
``(Q + 2, L)`` queue table, rows ``Q`` (rollout workers' results) and
``Q + 1`` (ignored) are trash. Within one update results arrive rank after
rank, each rank's in ascending env id order; of more than fit, the last stay.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = [
    "Results",
    "chronological",
    "clear_queues",
    "merge_ranks",
    "queue_means",
    "record",
    "sort_results",
]


class Results(NamedTuple):
    """One update's results, grouped.

    Attributes:
        keys: ``(M,)`` int64 group of each result, sorted (results of ``W``
            ranks: rank after rank within a group, each rank's in ascending
            env id order).
        values: ``(M,)`` float64 results, in the same order (0 where ignored).
        slots: ``(K,)`` int64 this rank's env slot of each of its results
            (``N``, the trash slot, for ignored ones), in its sorted order.
    """

    keys: torch.Tensor
    values: torch.Tensor
    slots: torch.Tensor


def sort_results(
    gather: torch.Tensor, key: torch.Tensor, values: torch.Tensor, num_envs: int
) -> Results:
    """Group one rank's results by queue, in ascending env id within a queue.

    Args:
        gather: ``(K,)`` int64 env slot of each result (``N`` = trash).
        key: ``(K,)`` int64 group of each result.
        values: ``(K,)`` float64 results.
        num_envs: ``N``.
    """
    _, order = torch.sort(torch.add(gather, key, alpha=num_envs + 1))
    return Results(
        keys=key.index_select(0, order),
        values=values.index_select(0, order),
        slots=gather.index_select(0, order),
    )


def merge_ranks(keys: torch.Tensor, values: torch.Tensor, slots: torch.Tensor) -> Results:
    """Every rank's sorted results as one sorted sequence.

    Args:
        keys: ``(W, C)`` int64 groups, each row sorted (row ``r`` from rank ``r``).
        values: ``(W, C)`` float64 results.
        slots: ``(K,)`` int64 this rank's own slots.

    Returns:
        ``W * C`` results; a stable sort keeps rank order within a group.
    """
    flat = keys.reshape(-1)
    _, order = torch.sort(flat, stable=True)
    return Results(
        keys=flat.index_select(0, order),
        values=values.reshape(-1).index_select(0, order),
        slots=slots,
    )


def record(
    qvals: torch.Tensor,
    qmeta: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    results: Results,
    group_edges: torch.Tensor,
    positions: torch.Tensor,
) -> torch.Tensor:
    """Append sorted results to their queues' ring buffers.

    Args:
        qvals: ``(Q + 2, L)`` float64 queue table (written).
        qmeta: the ``(2, Q + 2)`` int64 lengths and heads, and views of its
            two rows (written).
        results: the update's results (sorted by group).
        group_edges: ``(Q + 3,)`` int64 ``arange(Q + 3)``.
        positions: ``(>= M,)`` int64 ``arange``.

    Returns:
        ``()`` int64 the number of results recorded into queues ``0 .. Q-1``.
    """
    keys, values = results.keys, results.values
    Q, L = qvals.shape[0] - 2, qvals.shape[1]
    meta, lengths, heads = qmeta
    edges = torch.searchsorted(keys, group_edges)
    meta.add_(edges.diff())
    lengths.clamp_(max=L)
    heads.remainder_(L)
    # A result ``back`` places from the end of its group goes ``back`` slots
    # before its queue's new head; only the last L of a group fit.
    back = torch.searchsorted(keys, keys, right=True) - positions[: keys.shape[0]]
    slot = torch.add((heads.index_select(0, keys) - back) % L, keys, alpha=L)
    qvals.view(-1).index_put_((torch.where(back <= L, slot, Q * L),), values)
    return edges[Q]


def queue_means(qvals: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``(Q,)`` float64 mean of each queue (0 when empty).

    Args:
        qvals: ``(Q, L)`` float64 ring buffers (zero past each length).
        lengths: ``(Q,)`` int64 queue lengths.
    """
    return qvals.sum(1) / lengths.clamp(min=1)


def clear_queues(
    qvals: torch.Tensor, qmeta: torch.Tensor, lengths: torch.Tensor, clear: torch.Tensor
) -> torch.Tensor:
    """Empty the queues flagged in ``clear``.

    Args:
        qvals: ``(Q, L)`` float64 ring buffers (written).
        qmeta: ``(2, Q)`` int64 lengths and heads (written).
        lengths: ``(Q,)`` int64 view of ``qmeta``'s lengths.
        clear: ``(Q,)`` bool.

    Returns:
        ``(Q,)`` int64 snapshot of the queue lengths afterwards.
    """
    qvals.masked_fill_(clear.unsqueeze(1), 0.0)
    qmeta.masked_fill_(clear, 0)
    return lengths.clone()


def chronological(qvals: torch.Tensor, qmeta: torch.Tensor) -> torch.Tensor:
    """``(Q, L)`` float64 queue contents oldest first, zero past each length.

    Args:
        qvals: ``(Q, L)`` float64 ring buffers.
        qmeta: ``(2, Q)`` int64 lengths and heads.
    """
    L = qvals.shape[1]
    lengths, heads = qmeta[0].unsqueeze(1), qmeta[1].unsqueeze(1)
    pos = torch.arange(L, device=qvals.device)
    values = qvals.gather(1, (heads - lengths + pos) % L)
    return torch.where(pos < lengths, values, 0.0)
