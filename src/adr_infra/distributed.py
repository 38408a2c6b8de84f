"""``torch.distributed`` adapters: the ADR result exchange, joining torchrun's process
group and agreeing a seed (for ``adr-train``, the mjlab runner and the ADR curriculum
terms alike)."""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import sys
from typing import NoReturn

import attrs
import torch
import torch.distributed as dist

from adr_domain import BoundaryExchange

__all__ = [
    "ExchangeError",
    "Membership",
    "TorchDistributedExchange",
    "agreed_seed",
    "exchange_from_environment",
    "exit_without_teardown",
    "group_exists",
    "init_process_group",
    "join_process_group",
    "launched_world_size",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 120.0
"""How long a collective waits for a silent peer before the run fails."""


class ExchangeError(RuntimeError):
    """A collective with the other ranks failed (a rank died or hung)."""


class TorchDistributedExchange:
    """:class:`~adr_domain.exchange.BoundaryExchange` over a ``torch.distributed`` group.

    Args:
        group: the process group; None for the default (initialized) group.
    """

    def __init__(self, group: dist.ProcessGroup | None = None) -> None:
        if not dist.is_available() or not dist.is_initialized():
            raise RuntimeError(
                "TorchDistributedExchange needs an initialized torch.distributed process "
                "group (call adr_infra.distributed.init_process_group first)"
            )
        self._group = group
        self._rank = dist.get_rank(group)
        self._world_size = dist.get_world_size(group)

    @property
    def rank(self) -> int:
        return self._rank

    @property
    def world_size(self) -> int:
        return self._world_size

    @property
    def blocking(self) -> bool:
        """gloo's collectives block the calling host thread; NCCL's do not."""
        return bool(dist.get_backend(self._group) == "gloo")

    def all_gather(self, tensor: torch.Tensor) -> torch.Tensor:
        """Every rank's ``tensor`` stacked in rank order (one collective)."""
        local = tensor.contiguous()
        out = torch.empty(
            (self._world_size * local.shape[0], *local.shape[1:])
            if local.dim()
            else (self._world_size,),
            dtype=local.dtype,
            device=local.device,
        )
        # all_gather_single is the newer name of all_gather_into_tensor.
        gather = getattr(dist, "all_gather_single", None) or dist.all_gather_into_tensor
        try:
            gather(out, local if local.dim() else local.view(1), group=self._group)
        except (RuntimeError, dist.DistBackendError) as exc:
            raise ExchangeError(
                f"rank {self._rank}: the ADR exchange with the other {self._world_size - 1} "
                f"rank(s) failed, most likely because a rank died or stopped responding ({exc}). "
                "Resume the run from its latest checkpoint (checkpoint=latest)."
            ) from exc
        return out.view(self._world_size, *local.shape)


def init_process_group(
    backend: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> tuple[int, int, int]:
    """Join the process group described by torchrun's environment variables.

    Args:
        backend: ``"gloo"`` or ``"nccl"``; default NCCL when CUDA is available,
            else gloo (CPU).
        timeout_s: collectives fail after this long without a peer.

    Returns:
        ``(rank, local_rank, world_size)``.

    Raises:
        RuntimeError: the torchrun variables (RANK, WORLD_SIZE, LOCAL_RANK,
            MASTER_ADDR, MASTER_PORT) are missing.
    """
    missing = [
        v for v in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ
    ]
    if missing:
        raise RuntimeError(
            f"multi-process ADR needs torchrun's environment ({', '.join(missing)} not set); "
            "launch with: torchrun --nproc_per_node=K -m adr_app.cli.train multi_gpu=True ..."
        )
    rank = int(os.environ["RANK"])
    world_size = int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(
            backend,
            rank=rank,
            world_size=world_size,
            timeout=datetime.timedelta(seconds=timeout_s),
        )
        log.info("rank %d/%d joined the %s process group", rank, world_size, backend)
    return rank, local_rank, world_size


def group_exists() -> bool:
    """Whether this process has joined a ``torch.distributed`` process group."""
    return bool(dist.is_available() and dist.is_initialized())


def launched_world_size() -> int:
    """How many processes torchrun launched (``WORLD_SIZE``; 1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


@attrs.frozen
class Membership:
    """This process in torchrun's process group.

    Attributes:
        rank, local_rank, world_size: its position.
        device: the device it computes on (``cuda:<local_rank>`` on GPUs).
    """

    rank: int
    local_rank: int
    world_size: int
    device: str


def join_process_group(
    device: torch.device | str, timeout_s: float = DEFAULT_TIMEOUT_S
) -> Membership:
    """Join torchrun's process group with the backend of ``device``: gloo for CPU, NCCL for
    CUDA, one GPU per process (``cuda:<local_rank>``, made the current device).

    A group that already exists is used as it is (see :func:`init_process_group`).

    Raises:
        RuntimeError: torchrun's environment variables are missing.
    """
    on_cuda = torch.device(device).type == "cuda"
    rank, local_rank, world_size = init_process_group(
        "nccl" if on_cuda else "gloo", timeout_s=timeout_s
    )
    if on_cuda:
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
    return Membership(rank, local_rank, world_size, str(device))


def exchange_from_environment(device: torch.device | str) -> TorchDistributedExchange | None:
    """The ADR exchange of a torchrun run (joining its process group), or None.

    A process is part of a distributed run when torchrun launched more than
    one (:func:`launched_world_size`).
    """
    if launched_world_size() <= 1:
        return None
    join_process_group(device)
    return TorchDistributedExchange()


def agreed_seed(seed: int, exchange: BoundaryExchange | None, device: torch.device | str) -> int:
    """Rank 0's ``seed`` on every rank (one collective); ``seed`` itself without an exchange."""
    if exchange is None:
        return seed
    mine = torch.tensor([seed], dtype=torch.long, device=device)
    return int(exchange.all_gather(mine)[0, 0].item())


def exit_without_teardown(code: int) -> NoReturn:
    """End a process whose process group is broken, keeping ``code`` as its exit status.

    After a peer died, gloo can abort the survivor while the interpreter shuts
    down ("terminate called without an active exception", SIGABRT): a
    transport thread of the broken group is still joinable when the group is
    destroyed. The abort replaces the exit status and prints a C++ message
    after ours. This flushes logging and the standard streams, then leaves
    with ``os._exit`` so that no destructor runs. Call it only on the way out
    of a failed distributed run, after every file has been written.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed stream says nothing more
            stream.flush()
    os._exit(code)
