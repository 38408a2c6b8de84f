"""What the DR randomizer remembers, and its saved state.

:class:`RandomizerMemory` holds the randomization stream and every value
written to the simulator per env (and gravity), so that a restored run draws
the same numbers and can write the very same properties back.
:class:`~adr_isaac.randomizer.PropertyRandomizer` holds one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs
import torch

from adr_domain import StateReader

__all__ = ["RandomizerMemory", "StagedRandomizerState"]


@attrs.frozen(eq=False)
class StagedRandomizerState:
    """A checked randomizer state, ready to commit.

    Attributes:
        rng: the generator state.
        values: per-env values by key.
        gravity: ``(3,)`` gravity last written, or None.
        layout_matches: whether ``values`` has this process's keys and shapes
            (the saved properties can be written back exactly).
    """

    rng: torch.Tensor
    values: dict[str, torch.Tensor]
    gravity: torch.Tensor | None
    layout_matches: bool


class RandomizerMemory:
    """The randomization stream and the per-env values last written.

    Args:
        num_envs: number of envs.
        seed: seed of the randomization stream.

    Attributes:
        values: by key (``actor_params.<actor>.<group>.<attr>`` or
            ``actor_params.<actor>.scale``), ``(num_envs, count)`` float64 values
            last written to each env's actor; NaN where never written.
        gravity: ``(3,)`` float64 gravity last written, or None.
    """

    def __init__(self, num_envs: int, seed: int) -> None:
        self.num_envs = num_envs
        self.generator = torch.Generator()
        self.generator.manual_seed(seed % (2**63))
        self.values: dict[str, torch.Tensor] = {}
        self.gravity: torch.Tensor | None = None

    def record(self, key: str, env_id: int, values: torch.Tensor) -> None:
        """Remember the values written to one env under ``key``."""
        table = self.values.get(key)
        if table is None:
            table = torch.full((self.num_envs, values.numel()), math.nan, dtype=torch.float64)
            self.values[key] = table
        elif table.shape[1] != values.numel():
            raise ValueError(
                f"{key}: env {env_id} has {values.numel()} values, other envs {table.shape[1]}"
            )
        table[env_id] = values

    def row(self, key: str, env_id: int) -> torch.Tensor | None:
        """One env's values under ``key`` (a copy), None where never written."""
        table = self.values.get(key)
        if table is None:
            return None
        row = table[env_id]
        return None if bool(torch.isnan(row).any()) else row.clone()

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """``{"rng", "values", "gravity"}``: CPU tensors (copies); ``gravity`` is
        empty ``(0,)`` when gravity was never randomized."""
        gravity = self.gravity if self.gravity is not None else torch.zeros(0, dtype=torch.float64)
        return {
            "rng": self.generator.get_state(),
            "values": {k: v.clone() for k, v in self.values.items()},
            "gravity": gravity.clone(),
        }

    def stage(self, state: Mapping[str, Any]) -> StagedRandomizerState:
        """Check a :meth:`state_dict` without changing anything.

        Raises:
            StateError: naming the malformed entry.
        """
        read = StateReader(state, "domain randomization state")
        saved = read.child("values")
        values = {
            key: saved.tensor(key, (self.num_envs, None), torch.float64).clone()
            for key in saved.names()
        }
        gravity = read.tensor("gravity")
        if tuple(gravity.shape) not in ((0,), (3,)):
            raise read.fail("gravity", "must be a (3,) or empty tensor")
        current = {k: tuple(v.shape) for k, v in self.values.items()}
        shapes = {k: tuple(v.shape) for k, v in values.items()}
        return StagedRandomizerState(
            rng=read.generator("rng").clone(),
            values=values,
            gravity=gravity.to(torch.float64).clone() if gravity.numel() else None,
            layout_matches=not current or current == shapes,
        )

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` completely (see :meth:`stage` for the checks)."""
        self.commit(self.stage(state), values=True)

    def commit(self, staged: StagedRandomizerState, *, values: bool) -> None:
        """Load a staged state: the random stream always, the remembered values
        and gravity only with ``values=True``."""
        self.generator.set_state(staged.rng)
        if values:
            self.values = {k: v.clone() for k, v in staged.values.items()}
            self.gravity = None if staged.gravity is None else staged.gravity.clone()
