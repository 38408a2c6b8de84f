"""A helper for task levels that restore their own env-state entries.

See :mod:`adr_isaac.task_state` for how the levels of a task share one env
state (``take_env_state`` in each level's ``set_env_state``).
"""

from __future__ import annotations

import torch

from adr_domain import StateError

__all__ = ["restore_tensor"]


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
