"""The rollout-performance rule: an EMA of the objective of finishing rollout workers.

Which results count is a property of their group alone: group ``Q``
(rollout workers) and the queues whose bound moved in this update (their
boundary workers turned into rollout workers, as in the reference), never
group ``Q + 1`` (ignored). The same formula serves one rank and ``W`` ranks,
and it does not depend on when the stale workers are converted.
"""

from __future__ import annotations

import torch

__all__ = ["blend", "rollout_total"]


def rollout_total(
    keys: torch.Tensor,
    values: torch.Tensor,
    changed: torch.Tensor,
    weights: tuple[torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """The finishing rollout workers' ``(count, sum)``, both ``()`` float64.

    Args:
        keys: ``(M,)`` int64 group of each result.
        values: ``(M,)`` float64 results (0 where ignored).
        changed: ``(Q,)`` bool bounds that moved in this update.
        weights: a ``(Q + 2,)`` float64 scratch whose last two entries are 1
            (group ``Q`` counts) and 0 (group ``Q + 1`` does not), and its
            view of the first ``Q``.
    """
    table, queue_part = weights
    queue_part.copy_(changed)
    counts = table.index_select(0, keys)
    return counts.sum(), (values * counts).sum()


def blend(
    perf: torch.Tensor,
    weight: torch.Tensor,
    valid: torch.Tensor,
    count: torch.Tensor,
    total: torch.Tensor,
    alpha: float,
) -> torch.Tensor:
    """Blend the mean ``total / count`` into the EMA (unchanged when ``count`` is 0).

    The first mean replaces the initial 0 (``weight`` 1); later ones enter
    with weight ``1 - alpha``.

    Args:
        perf: ``(1,)`` float64 the EMA (written).
        weight: ``(1,)`` float64 the next mean's weight (written).
        valid: ``(1,)`` bool, a rollout worker has finished (written).
        count, total: ``()`` float64 from :func:`rollout_total`.
        alpha: ``adr_rollout_perf_alpha``.

    Returns:
        ``()`` float64 snapshot of the new EMA.
    """
    mean = total / count.clamp(min=1)
    has = count > 0
    new = torch.addcmul(perf, has * weight, mean - perf)
    perf.copy_(new)
    weight.masked_fill_(has, 1.0 - alpha)
    valid |= has
    return new.view(())
