"""What an engine update did, as tensors (no host copies until you ask)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs
import torch

if TYPE_CHECKING:
    from adr_domain.params import ParamTable
    from adr_domain.update import Outcome

__all__ = ["MIN_NPD_WIDTH", "UpdateReport", "nats_per_dimension"]

# Ranges narrower than this count as this wide in the NPD metric (the reference's floor).
MIN_NPD_WIDTH = 1e-3


def nats_per_dimension(bounds: torch.Tensor, enabled: torch.Tensor) -> torch.Tensor:
    """``()`` mean over parameters of ``log(max(hi - lo, 1e-3))``, disabled ones counting 0.

    Args:
        bounds: ``(P, 2)`` ranges.
        enabled: ``(P,)`` bool, parameters that count.
    """
    width = (bounds[:, 1] - bounds[:, 0]).clamp(min=MIN_NPD_WIDTH)
    return torch.where(enabled, width.log(), 0.0).sum() / bounds.shape[0]


@attrs.frozen(eq=False)
class UpdateReport:
    """Outcome of one :meth:`~adr_domain.engine.ADREngine.update`.

    All tensors live on the engine's device and are snapshots (later updates
    do not change them). ``P`` is the number of parameters; column 0 is the
    lower bound, column 1 the upper.

    Attributes:
        step: the engine's update counter after this update.
        moved: ``(P, 2)`` bool, bounds that moved in this update.
        bounds: ``(P, 2)`` float64 ranges after the update.
        next_limits: ``(P, 2)`` float64 next limits after the update.
        queue_means: ``(P, 2)`` float64 mean of each boundary queue when it was
            evaluated (before any clearing); 0 for an empty queue.
        queue_lengths: ``(P, 2)`` int64 queue lengths after the update.
        rollout_perf: ``()`` float64 EMA of the objective of finishing
            rollout workers (0 until one has finished; never NaN).
        num_boundary_results: ``()`` int64 results recorded into queues.
        npd_enabled: ``(P,)`` bool parameters counted in :attr:`npd` (``delta > 0``).
        param_names: the ``P`` parameter names, in row order.
    """

    step: int
    moved: torch.Tensor
    bounds: torch.Tensor
    next_limits: torch.Tensor
    queue_means: torch.Tensor
    queue_lengths: torch.Tensor
    rollout_perf: torch.Tensor
    num_boundary_results: torch.Tensor
    npd_enabled: torch.Tensor
    param_names: tuple[str, ...]

    @classmethod
    def from_outcome(cls, outcome: Outcome, *, step: int, params: ParamTable) -> UpdateReport:
        """The report of an update's :class:`~adr_domain.update.Outcome` (``(Q,)``
        tensors in queue order, viewed as ``(P, 2)``)."""
        P = params.num_params
        return cls(
            step=step,
            moved=outcome.moved.view(P, 2),
            bounds=outcome.bounds.view(P, 2),
            next_limits=outcome.next_limits.view(P, 2),
            queue_means=outcome.means.view(P, 2),
            queue_lengths=outcome.lengths.view(P, 2),
            rollout_perf=outcome.perf,
            num_boundary_results=outcome.recorded,
            npd_enabled=params.enabled,
            param_names=params.names,
        )

    @property
    def npd(self) -> torch.Tensor:
        """``()`` float64 nats per dimension of :attr:`bounds` (see ``ADREngine.npd``)."""
        return nats_per_dimension(self.bounds, self.npd_enabled)

    def num_moved(self) -> int:
        """Number of bounds that moved (copies to the host)."""
        return int(self.moved.sum().item())

    def moved_bounds(self, names: Sequence[str] | None = None) -> list[str]:
        """``"<name>/lower"`` / ``"<name>/upper"`` for each moved bound (copies to the host).

        Args:
            names: parameter names to use instead of :attr:`param_names`.
        """
        flags = self.moved.cpu().tolist()
        return [
            f"{name}/{side}"
            for name, pair in zip(names or self.param_names, flags, strict=True)
            for side, flag in zip(("lower", "upper"), pair, strict=True)
            if flag
        ]
