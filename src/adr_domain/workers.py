"""Worker rules: stale boundary workers, recycling, pin codes.

An env's *code* is ``mode + (Q + 1) * worker_type``; its *pin code* is
``mode + 1`` for a boundary worker and 0 otherwise (the index into a
``(Q + 1,)`` table of bounds behind one dummy entry). Worker types are
:class:`~adr_domain.types.WorkerType` values: 0 rollout, 1 boundary, 2 test.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from adr_domain.types import WorkerType

__all__ = [
    "Assignment",
    "assign",
    "codes_of",
    "convert_stale",
    "pin_codes",
    "reassign_after_move",
]

_ROLLOUT = int(WorkerType.ROLLOUT)
_BOUNDARY = int(WorkerType.BOUNDARY)


class Assignment(NamedTuple):
    """Random draws that decide new workers.

    Attributes:
        u: ``(M,)`` float32 uniforms; below ``worker_adr_boundary_fraction``
            the env becomes a boundary worker.
        modes: ``(M,)`` int64 uniform queue in ``[0, Q)`` for each.
    """

    u: torch.Tensor
    modes: torch.Tensor

    def boundary(self, fraction: float) -> torch.Tensor:
        """``(M,)`` bool: which become boundary workers."""
        return self.u < fraction


def codes_of(
    types: torch.Tensor, modes: torch.Tensor, num_queues: int, out: torch.Tensor
) -> torch.Tensor:
    """``(N + 1,)`` int64 each env's code ``mode + (Q + 1) * type``, written into ``out``.

    Args:
        types, modes: ``(N + 1,)`` int64 worker types and modes.
        num_queues: ``Q``.
        out: ``(N + 1,)`` int64 scratch.
    """
    return torch.add(modes, types, alpha=num_queues + 1, out=out)


def convert_stale(
    types: torch.Tensor,
    codes: torch.Tensor,
    changed: torch.Tensor,
    stale_tables: tuple[torch.Tensor, torch.Tensor],
    stale: torch.Tensor,
) -> None:
    """Boundary workers of a bound that moved become rollout workers (their
    results no longer describe the bound).

    Args:
        types: ``(N + 1,)`` int64 worker types (written).
        codes: ``(N + 1,)`` int64 codes as of the update's start.
        changed: ``(Q,)`` bool bounds that moved.
        stale_tables: a ``(3 (Q + 1),)`` bool scratch, False outside the
            boundary workers' codes ``Q + 1 .. 2Q``, and its view of those.
        stale: ``(N + 1,)`` bool scratch.
    """
    stale_by_code, boundary_codes = stale_tables
    boundary_codes.copy_(changed)
    torch.index_select(stale_by_code, 0, codes, out=stale)
    types.masked_fill_(stale, _ROLLOUT)


def pin_codes(types: torch.Tensor, modes: torch.Tensor, slots: torch.Tensor) -> torch.Tensor:
    """``(K,)`` int64 pin codes of the envs at ``slots``."""
    is_boundary = types.index_select(0, slots) == _BOUNDARY
    return torch.where(is_boundary, modes.index_select(0, slots) + 1, 0)


def assign(
    types: torch.Tensor,
    modes: torch.Tensor,
    slots: torch.Tensor,
    draws: Assignment,
    fraction: float,
) -> torch.Tensor:
    """New worker types and modes for the envs at ``slots``.

    Each becomes a boundary worker with probability ``fraction``, evaluating
    a uniformly chosen queue, else a rollout worker.

    Args:
        types, modes: ``(N + 1,)`` int64 buffers (written at ``slots``).
        slots: ``(K,)`` int64 env slots (the trash slot ``N`` allowed).
        draws: ``K`` draws.
        fraction: ``worker_adr_boundary_fraction``.

    Returns:
        ``(K,)`` int64 their new pin codes.
    """
    is_boundary = draws.boundary(fraction)
    types.index_put_((slots,), is_boundary.long())  # BOUNDARY == 1, ROLLOUT == 0
    modes.index_put_((slots,), draws.modes)
    return torch.where(is_boundary, draws.modes + 1, 0)


def reassign_after_move(
    types: torch.Tensor,
    modes: torch.Tensor,
    slots: torch.Tensor,
    moved: torch.Tensor,
    draws: Assignment,
    fraction: float,
) -> torch.Tensor:
    """``clear_other_queues``: when a bound moved, every boundary worker gets a new
    assignment and finished rollout workers stay rollout workers; otherwise
    the finished envs do (as the reference).

    Args:
        types, modes: ``(N + 1,)`` int64 buffers (written).
        slots: ``(K,)`` int64 finished envs' slots.
        moved: ``()`` bool, a bound moved in this update.
        draws: ``N`` draws, one per env.
        fraction: ``worker_adr_boundary_fraction``.

    Returns:
        ``(K,)`` int64 the finished envs' pin codes.
    """
    N = types.shape[0] - 1
    done = torch.zeros(N + 1, dtype=torch.bool, device=types.device)
    done.index_fill_(0, slots, True)
    live_types, live_modes = types[:N], modes[:N]
    target = torch.where(moved, live_types == _BOUNDARY, done[:N])
    is_boundary = draws.boundary(fraction)
    live_types.copy_(torch.where(target, is_boundary.long(), live_types))
    live_modes.copy_(torch.where(target, draws.modes, live_modes))
    return pin_codes(types, modes, slots)
