"""What every rank of a run agrees on between two epochs: to stop, or to fail with the
real error of the rank that failed.

Only rank 0 writes checkpoints. When its save fails, the other ranks must not
report "the processes lost each other" (which they would, once rank 0 exits):
rank 0 keeps the error, and at the next agreement every rank raises that same
error. One small all-reduce per epoch; nothing at all in one-process runs.
"""

from __future__ import annotations

import attrs
import torch
import torch.distributed as dist

from adr_infra import CheckpointError

__all__ = ["EpochAgreement", "agree", "failing_ranks_error"]


@attrs.frozen
class EpochAgreement:
    """The ranks' common decision.

    Attributes:
        stop: some rank was asked to stop.
        failed_rank: the lowest rank whose save failed, or None.
    """

    stop: bool
    failed_rank: int | None


def agree(
    stop: bool, failed: bool, *, rank: int, world_size: int, device: torch.device | str
) -> EpochAgreement:
    """Combine every rank's ``stop`` and ``failed`` (a collective when ``world_size > 1``)."""
    if world_size == 1:
        return EpochAgreement(stop, 0 if failed else None)
    # Lower ranks win ties: MAX over (world_size - rank) picks the lowest failing rank.
    flags = torch.tensor([int(stop), world_size - rank if failed else 0], device=device)
    dist.all_reduce(flags, op=dist.ReduceOp.MAX)
    stop_all, failed_code = (int(v) for v in flags.tolist())
    return EpochAgreement(bool(stop_all), world_size - failed_code if failed_code else None)


def failing_ranks_error(
    local: CheckpointError | None, agreement: EpochAgreement, *, world_size: int
) -> CheckpointError:
    """The error of ``agreement.failed_rank``, on every rank (a collective when ``world_size > 1``).

    Raises:
        ValueError: the agreement names no failing rank.
    """
    if agreement.failed_rank is None:
        raise ValueError("failing_ranks_error: no rank failed")
    if world_size == 1:
        if local is None:
            raise ValueError("failing_ranks_error: this process has no error")
        return local
    box: list[object] = [local]
    dist.broadcast_object_list(box, src=agreement.failed_rank)
    error = box[0]
    if not isinstance(error, CheckpointError):
        raise ValueError(f"rank {agreement.failed_rank} sent no checkpoint error: {error!r}")
    return error
