"""The port through which engines of a distributed run share boundary results."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

__all__ = ["BoundaryExchange"]


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
