"""Decision rules: evaluate full queues, move bounds, choose one parameter, clear, next limits.

All over ``(Q,)`` tensors in queue order (``q = 2n + b``), with no
data-dependent shape: every bound is judged every update, and a bound that is
not decided keeps its value through ``torch.where``.
"""

from __future__ import annotations

from typing import NamedTuple

import attrs
import torch

from adr_domain.steps import CHANGE_TOLERANCE
from adr_domain.tables import StepTable
from adr_domain.types import QueuePolicy

__all__ = [
    "Thresholds",
    "Verdict",
    "choose_one_parameter",
    "evaluate",
    "move",
    "next_limits",
    "queues_to_clear",
    "take_steps",
]


@attrs.frozen
class Thresholds:
    """``adr_objective_threshold_low`` / ``_high`` and the queue length ``L``."""

    low: float
    high: float
    queue_length: int

    @property
    def mid(self) -> float:
        """A mean between the thresholds: what a queue that is not full counts as."""
        return (self.low + self.high) / 2


class Verdict(NamedTuple):
    """How every queue was judged.

    Attributes:
        means: ``(Q,)`` float64 queue means as evaluated (0 when empty).
        full: ``(Q,)`` bool, the queue holds ``L`` results.
        contract: ``(Q,)`` bool, full with a mean below the low threshold.
        decided: ``(Q,)`` bool, full with a mean outside the thresholds.
    """

    means: torch.Tensor
    full: torch.Tensor
    contract: torch.Tensor
    decided: torch.Tensor


def evaluate(means: torch.Tensor, lengths: torch.Tensor, thresholds: Thresholds) -> Verdict:
    """Judge every queue: a full queue's mean below the low threshold contracts
    its bound, above the high one expands it; a queue that is not full counts
    as in between.

    Args:
        means: ``(Q,)`` float64 queue means.
        lengths: ``(Q,)`` int64 queue lengths.
        thresholds: the thresholds and ``L``.
    """
    full = lengths >= thresholds.queue_length
    judged = torch.where(full, means, thresholds.mid)
    contract = judged < thresholds.low
    return Verdict(
        means=means,
        full=full,
        contract=contract,
        decided=contract | (judged > thresholds.high),
    )


def move(
    bounds: torch.Tensor, verdict: Verdict, steps: StepTable
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of every decided bound: inwards (never past ``init_range``) when
    it contracts, else outwards (never past ``limits``).

    Args:
        bounds: ``(Q,)`` float64 current bounds.
        verdict: the evaluation.
        steps: ``(2, Q)`` inward (row 0) and outward (row 1) steps.

    Returns:
        ``(candidate, changed)``: ``(Q,)`` float64 each bound one step in its
        verdict's direction, and ``(Q,)`` bool the decided bounds that this
        step moves by more than ``1e-9``.
    """
    inward, outward = steps.apply(bounds)
    candidate = torch.where(verdict.contract, inward, outward)
    return candidate, verdict.decided & ((candidate - bounds).abs() > CHANGE_TOLERANCE)


def take_steps(bounds: torch.Tensor, candidate: torch.Tensor, take: torch.Tensor) -> torch.Tensor:
    """``(Q,)`` float64 bounds with ``candidate`` where ``take``.

    ``take`` is the verdict's ``decided`` (as the reference, a decided bound
    takes its step even when it moves by less than the tolerance; its queue
    is then not cleared), or, under ``clear_other_queues``, the chosen
    parameter's moving bounds only.
    """
    return torch.where(take, candidate, bounds)


def choose_one_parameter(changed: torch.Tensor, priority: torch.Tensor) -> torch.Tensor:
    """``clear_other_queues``: of the parameters with a moving bound, only the one
    of highest ``priority`` moves (the reference visits parameters in random
    order and stops at the first that moves: a uniform choice).

    Args:
        changed: ``(Q,)`` bool bounds that would move.
        priority: ``(P,)`` float32 uniform random priorities.

    Returns:
        ``(Q,)`` bool the bounds of the chosen parameter that move.
    """
    param_changed = changed.view(-1, 2).any(1)
    chosen = torch.where(param_changed, priority, -1.0).argmax()
    index = torch.arange(param_changed.shape[0], device=changed.device)
    return changed & ((index == chosen) & param_changed).repeat_interleave(2)


def queues_to_clear(
    changed: torch.Tensor, full: torch.Tensor, policy: QueuePolicy, clear_others: bool
) -> torch.Tensor:
    """``(Q,)`` bool queues to empty: those whose bound moved (all of them when one
    moved under ``clear_other_queues``), and every full one under
    ``clear_on_decision``."""
    clear = changed.any().expand_as(changed) if clear_others else changed
    if policy is QueuePolicy.CLEAR_ON_DECISION:
        clear = clear | full
    return clear


def next_limits(
    bounds: torch.Tensor, changed: torch.Tensor, current: torch.Tensor, outward: StepTable
) -> torch.Tensor:
    """``(Q,)`` float64 next limits: one outward step beyond each bound that moved,
    unchanged elsewhere."""
    return torch.where(changed, outward.apply(bounds), current)
