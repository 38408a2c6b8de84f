"""Hierarchical env state: entry names and helpers for task levels.

rl_games saves ``env.get_env_state()`` beside the policy and hands it back to
``env.set_env_state(state)`` (with ``None`` when the checkpoint has none).
With the adapter every class level owns some entries:

* each level's ``get_env_state()`` calls ``super().get_env_state()`` and adds
  its own entries;
* each level's ``set_env_state(state)`` takes its own entries out (with
  :meth:`~adr_isaac.adr_task.ADRTaskMixin.take_env_state`, which logs the
  ones the checkpoint lacks) and passes the rest to ``super().set_env_state``;
* the ADR level, the last one, restores its entries (:data:`ADR_KEY`,
  :data:`DR_KEY`; :data:`ADR_PARAMS_KEY` of IsaacGymEnvs checkpoints), logs
  entries nobody took and handles the simulator (see ``docs/porting_guide.md``).
"""

from __future__ import annotations

import torch

from adr_domain import StateError

__all__ = ["ADR_KEY", "ADR_LEVEL_KEYS", "ADR_PARAMS_KEY", "DR_KEY", "restore_tensor"]

ADR_KEY = "adr"
"""The complete ADR engine state (:class:`~adr_domain.EngineState`)."""

ADR_PARAMS_KEY = "adr_params"
"""IsaacGymEnvs-style ``{name: {"range", "next_limits", ...}}``, for tools and
for checkpoints written by IsaacGymEnvs (restored only when :data:`ADR_KEY` is absent)."""

DR_KEY = "domain_randomization"
"""Per-env physical values written to the simulator, the randomization stream
and the frame counters."""

ADR_LEVEL_KEYS = frozenset({ADR_KEY, ADR_PARAMS_KEY, DR_KEY})
"""Entries owned by the ADR level."""


def restore_tensor(target: torch.Tensor, value: object, name: str) -> None:
    """Copy a saved tensor into a live buffer, in place (views of it stay valid).

    Args:
        target: the live buffer.
        value: the saved value (a tensor of the same shape; any dtype/device).
        name: entry name for messages.

    Raises:
        StateError: ``value`` is not a tensor of ``target``'s shape.
    """
    if not isinstance(value, torch.Tensor):
        raise StateError(f"env state entry {name!r}: expected a tensor, got {type(value).__name__}")
    if value.shape != target.shape:
        raise StateError(
            f"env state entry {name!r}: shape {tuple(value.shape)} does not match the "
            f"task's {tuple(target.shape)}"
        )
    target.copy_(value)
