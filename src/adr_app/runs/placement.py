"""Where a run's process stands: its rank and device (joining the process group), and
its seed."""

from __future__ import annotations

import os
import random
from typing import Any

import attrs
import torch

__all__ = ["Placement", "launch_rank", "seed_everything"]


def launch_rank(multi_gpu: bool) -> int:
    """This process's rank as the launcher (torchrun) set it, before the process group exists."""
    return int(os.environ.get("RANK", "0")) if multi_gpu else 0


@attrs.frozen
class Placement:
    """This process in the run.

    Attributes:
        rank, local_rank, world_size: position in a multi-process run.
        device: the torch device the agent and the embedded task use.
        exchange: the ADR boundary exchange between ranks (None for one process).
    """

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: str = "cpu"
    exchange: Any = None

    @classmethod
    def join(cls, rl_device: str, multi_gpu: bool, timeout_s: float) -> Placement:
        """One process, or this rank of a torchrun launch (joins the process group)."""
        if not multi_gpu:
            return cls(device=rl_device)
        from adr_infra.distributed import TorchDistributedExchange, join_process_group

        member = join_process_group(rl_device, timeout_s)
        return cls(
            member.rank,
            member.local_rank,
            member.world_size,
            member.device,
            TorchDistributedExchange(),
        )

    def shared_seed(self, seed: int) -> int:
        """The run's seed (random for -1), the same on every rank."""
        if seed >= 0:
            return seed
        from adr_infra.distributed import agreed_seed

        drawn = int.from_bytes(os.urandom(4), "little")
        return agreed_seed(drawn, self.exchange, self.device)


def seed_everything(seed: int, deterministic: bool) -> None:
    """Seed Python, torch and numpy; deterministic torch algorithms if asked."""
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % (2**32))
    except ImportError:  # pragma: no cover - numpy ships with rl_games
        pass
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
