"""The port through which engines of a distributed run share boundary results."""

from __future__ import annotations

import hashlib
from typing import Protocol, runtime_checkable

import torch

from adr_domain.config import ADRConfig
from adr_domain.params import ParamTable
from adr_domain.queues import Results, merge_ranks

__all__ = ["BoundaryExchange", "check_ranks_agree", "share_results"]


@runtime_checkable
class BoundaryExchange(Protocol):
    """Gathers one fixed-size tensor from every rank of a distributed run.

    The engine calls :meth:`all_gather` once or twice per update (and once at
    construction, to check that every rank runs the same ADR set-up), on every
    rank, in the same order: implementations are collectives, and every rank
    must call ``update`` at every step, even with no finished env.
    """

    @property
    def rank(self) -> int:
        """This process's rank, in ``[0, world_size)``."""
        ...

    @property
    def world_size(self) -> int:
        """Number of ranks."""
        ...

    @property
    def blocking(self) -> bool:
        """True when a collective returns only after every rank contributed
        (e.g. gloo on CPU). The engine then sizes each update's exchange from a
        first, one-number collective; otherwise (NCCL) it sends a fixed ``N``
        entries per rank and never waits on the host."""
        ...

    def all_gather(self, tensor: torch.Tensor) -> torch.Tensor:
        """Every rank's ``tensor``, stacked in rank order.

        Args:
            tensor: the same shape and dtype on every rank.

        Returns:
            ``(world_size, *tensor.shape)``, row ``r`` from rank ``r``.
        """
        ...


def share_results(
    exchange: BoundaryExchange,
    results: Results,
    objective_dtype: torch.dtype,
    num_envs: int,
    ignored_group: int,
    pads: dict[torch.dtype, torch.Tensor],
) -> Results:
    """Every rank's sorted (group, result) pairs, padded to a common width.

    The width is ``N`` (one fixed-size collective, no host sync) unless the
    exchange is blocking (gloo on CPU: a collective returns only when every
    rank has contributed, so reading its result costs nothing): then the
    ranks first agree on the largest number of finished envs and send only
    that many entries. Results travel at the objective's own precision (at
    least float32, in which the group numbers are exact too).

    Args:
        exchange: the collective.
        results: this rank's sorted results.
        objective_dtype: the objective's dtype.
        num_envs: ``N``.
        ignored_group: ``Q + 1``, the group of padding entries.
        pads: per dtype, a cached ``(2, N)`` padding (written on first use).

    Returns:
        Every rank's results as one sorted sequence (see
        :func:`~adr_domain.queues.merge_ranks`); ``slots`` stay this rank's.

    Raises:
        RuntimeError: the exchange returned another shape.
    """
    dtype = torch.promote_types(objective_dtype, torch.float32)
    if not dtype.is_floating_point:
        dtype = torch.float32
    key, values = results.keys, results.values
    width = num_envs
    if exchange.blocking:
        count = torch.full((1,), key.numel(), dtype=torch.long, device=key.device)
        width = int(exchange.all_gather(count).max().item())
    pad = pads.get(dtype)
    if pad is None:
        pad = torch.zeros(2, num_envs, dtype=dtype, device=key.device)
        pad[0] = ignored_group
        pads[dtype] = pad
    packed = torch.cat(
        [torch.stack([key.to(dtype), values.to(dtype)]), pad[:, : width - key.numel()]], dim=1
    )
    gathered = exchange.all_gather(packed)
    expected = (exchange.world_size, *packed.shape)
    if tuple(gathered.shape) != expected:
        raise RuntimeError(
            f"ADR exchange returned shape {tuple(gathered.shape)}, expected {expected}"
        )
    return merge_ranks(
        gathered[:, 0].to(torch.long), gathered[:, 1].to(torch.float64), results.slots
    )


RANK_FACTS = (
    "num_envs",
    "adr_queue_threshold_length",
    "number of parameters",
    "parameter set",
    "ADR config (thresholds, deltas, limits, options)",
)
"""What every rank of a distributed run must agree on, in the order compared."""


def check_ranks_agree(
    exchange: BoundaryExchange,
    cfg: ADRConfig,
    params: ParamTable,
    num_envs: int,
    device: torch.device,
) -> None:
    """Every rank of a distributed run must run the same ADR set-up.

    Args:
        exchange: the collective.
        cfg, params, num_envs: this rank's engine set-up, compared as
            :data:`RANK_FACTS`: num_envs, queue length, number of parameters,
            parameter-set fingerprint, config JSON.
        device: where the collective's tensor lives.

    Raises:
        ValueError: naming what differs and each rank's value.
    """
    digest = int(params.fingerprint()[:15], 16)
    config = int(hashlib.sha256(cfg.model_dump_json().encode()).hexdigest()[:15], 16)
    facts = [num_envs, cfg.adr_queue_threshold_length, params.num_params, digest, config]
    mine = torch.tensor(facts, dtype=torch.long, device=device)
    everyone = exchange.all_gather(mine).cpu().tolist()
    for what, column in zip(RANK_FACTS, zip(*everyone, strict=True), strict=True):
        if len(set(column)) > 1:
            per_rank = ", ".join(f"rank {r}: {v}" for r, v in enumerate(column))
            raise ValueError(
                f"ADR engines of a distributed run differ in {what} ({per_rank}); "
                "every rank needs the same ADR config and number of envs"
            )
