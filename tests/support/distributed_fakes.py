"""An in-memory BoundaryExchange (our own port) for engines driven from threads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch

T = TypeVar("T")


class Hub:
    """Shared meeting point of ``world_size`` ThreadExchanges."""

    def __init__(self, world_size: int, *, blocking: bool = True) -> None:
        self.world_size = world_size
        self.blocking = blocking
        self.barrier = threading.Barrier(world_size, timeout=30)
        self.slots: list[torch.Tensor | None] = [None] * world_size
        self.calls = 0

    def exchanges(self) -> list[ThreadExchange]:
        return [ThreadExchange(self, rank) for rank in range(self.world_size)]


class ThreadExchange:
    def __init__(self, hub: Hub, rank: int) -> None:
        self.hub = hub
        self._rank = rank

    @property
    def rank(self) -> int:
        return self._rank

    @property
    def world_size(self) -> int:
        return self.hub.world_size

    @property
    def blocking(self) -> bool:
        return self.hub.blocking

    def all_gather(self, tensor: torch.Tensor) -> torch.Tensor:
        self.hub.slots[self._rank] = tensor.clone()
        if self.hub.barrier.wait() == 0:
            self.hub.calls += 1
        gathered = torch.stack([t for t in self.hub.slots if t is not None])
        self.hub.barrier.wait()
        return gathered


def on_all_ranks(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run one callable per rank concurrently (collectives need every rank); re-raise errors."""
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = calls[i]()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
