"""Sharing one curriculum between the ranks of a ``torchrun`` run."""

from __future__ import annotations

import os

import torch

from adr_domain import BoundaryExchange
from adr_infra.distributed import TorchDistributedExchange, init_process_group

__all__ = ["agreed_seed", "exchange_from_environment"]


def exchange_from_environment(device: torch.device | str) -> TorchDistributedExchange | None:
    """The ADR exchange of a ``torchrun`` run (joining its process group), or None.

    A process is part of a distributed run when ``WORLD_SIZE`` > 1. The group
    uses gloo for CPU envs and NCCL for CUDA envs; a group that already
    exists is used as it is.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    backend = "nccl" if torch.device(device).type == "cuda" else "gloo"
    init_process_group(backend)
    return TorchDistributedExchange()


def agreed_seed(seed: int, exchange: BoundaryExchange | None, device: torch.device) -> int:
    """Rank 0's ``seed`` on every rank (ADR engines of one run share their seed)."""
    if exchange is None:
        return seed
    mine = torch.tensor([seed], dtype=torch.long, device=device)
    return int(exchange.all_gather(mine)[0, 0].item())
