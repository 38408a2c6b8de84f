"""The engine's random streams: its own ``torch.Generator`` s, seeded, saved, restored.

* ``decide``: shared by every rank of a distributed run (which parameter
  moves under ``clear_other_queues``);
* ``assign``: this rank's worker assignment;
* ``sample``: this rank's per-env parameter values.

The global torch RNG is never used. Each update draws a fixed amount that
depends on the config and the number of finished envs only.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from adr_domain.errors import StateError
from adr_domain.state_toolkit import Commit, checked_generator_state
from adr_domain.workers import Assignment

__all__ = ["RNG_STREAMS", "SHARED_STREAMS", "RandomStreams"]

RNG_STREAMS = ("decide", "assign", "sample")
"""Stream names, in seeding order."""
SHARED_STREAMS = ("decide",)
"""Streams every rank draws identically."""


class RandomStreams:
    """The three streams of one engine.

    Args:
        device: device of the generators.
        rank: this process's rank (0 alone).
        num_queues: ``Q``, the range of drawn modes.
    """

    def __init__(self, device: torch.device, rank: int, num_queues: int) -> None:
        self.device = device
        self.rank = rank
        self.num_queues = num_queues
        self.generators = {name: torch.Generator(device=device) for name in RNG_STREAMS}

    def seed(self, seed: int) -> None:
        """Seed the shared stream from ``seed`` alone, the others from ``seed`` and the rank."""
        for i, name in enumerate(RNG_STREAMS):
            rank = 0 if name in SHARED_STREAMS else self.rank + 1
            mixed = ((int(seed) * 0x9E3779B1 + rank) * len(RNG_STREAMS) + i) % (2**63)
            self.generators[name].manual_seed(mixed)

    def priority(self, num_params: int) -> torch.Tensor:
        """``(P,)`` float32 uniform priorities (``decide``)."""
        return torch.rand(num_params, generator=self.generators["decide"], device=self.device)

    def assignment(self, count: int) -> Assignment:
        """Draws for ``count`` new workers (``assign``): uniforms, then modes."""
        gen = self.generators["assign"]
        u = torch.rand(count, generator=gen, device=self.device)
        modes = torch.randint(0, self.num_queues, (count,), generator=gen, device=self.device)
        return Assignment(u=u, modes=modes)

    def uniforms(self, rows: int, count: int) -> torch.Tensor:
        """``(rows, count)`` float32 uniforms for per-env values (``sample``)."""
        return torch.rand((rows, count), generator=self.generators["sample"], device=self.device)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Every stream's state (CPU uint8 tensors)."""
        return {name: gen.get_state() for name, gen in self.generators.items()}

    def stage(self, states: object, what: str) -> Commit:
        """Check saved stream states; the commit restores them.

        Raises:
            StateError: not a mapping of exactly these streams, or a state a
                generator refuses.
        """
        if not isinstance(states, Mapping) or set(states) != set(RNG_STREAMS):
            raise StateError(f"{what}: 'rng' must hold the streams {list(RNG_STREAMS)}")
        checked = {
            name: checked_generator_state(states[name], f"{what}: rng '{name}'", self.device)
            for name in RNG_STREAMS
        }

        def commit() -> None:
            for name, state in checked.items():
                self.generators[name].set_state(state)

        return commit
