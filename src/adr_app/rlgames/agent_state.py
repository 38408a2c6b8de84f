"""The agent state rl_games does not save, captured and applied again on resume.

rl_games' checkpoint holds the model, the optimizer and the counters; an exact
resume also needs the scheduler's learning rate and entropy coefficient, the
episode accumulators and reward meters, the best reward so far, and, in
multi-process runs, each rank's own observation and value normalizers (only
gradients are all-reduced). These functions read and write those attributes
of an rl_games ``A2CAgent``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import torch

__all__ = [
    "AGENT_RANKS_KEY",
    "AGENT_STATE_KEY",
    "apply_agent_state",
    "apply_model_buffers",
    "capture_agent_state",
]

log = logging.getLogger(__name__)

AGENT_STATE_KEY = "adr_agent"
"""Checkpoint entry with the agent state rl_games does not save itself."""
AGENT_RANKS_KEY = "adr_agent_ranks"
"""Checkpoint entry with the agent states of ranks 1 .. W-1 of a multi-process run."""

_METERS = ("game_rewards", "game_shaped_rewards", "game_lengths")
_ACCUMULATORS = ("current_rewards", "current_shaped_rewards", "current_lengths", "dones")


def _meter(m: Any) -> dict[str, Any]:
    return {"mean": m.mean.detach().cpu().clone(), "size": int(m.current_size)}


def capture_agent_state(agent: Any, *, with_buffers: bool = False) -> dict[str, Any]:
    """The state of ``agent`` rl_games leaves out of its checkpoint (CPU copies).

    Args:
        agent: an rl_games ``A2CAgent``.
        with_buffers: include the model's buffers (the normalizers of this rank).
    """
    state: dict[str, Any] = {
        "last_lr": float(agent.last_lr),
        "entropy_coef": float(agent.entropy_coef),
        **{name: _meter(getattr(agent, name)) for name in _METERS},
    }
    for name in _ACCUMULATORS:
        value = getattr(agent, name, None)
        if isinstance(value, torch.Tensor):
            state[name] = value.detach().cpu().clone()
    if with_buffers:
        state["model_buffers"] = {
            name: buf.detach().cpu().clone() for name, buf in agent.model.named_buffers()
        }
    return state


def apply_model_buffers(agent: Any, buffers: Mapping[str, Any]) -> None:
    """Copy saved buffers (normalizers) into ``agent``'s model."""
    own = dict(agent.model.named_buffers())
    for name, value in buffers.items():
        if name in own and isinstance(value, torch.Tensor):
            own[name].copy_(value.to(own[name].device))


def _apply_meters(agent: Any, state: Mapping[str, Any]) -> None:
    for name in _METERS:
        saved = state.get(name)
        target = getattr(agent, name)
        if isinstance(saved, Mapping) and isinstance(saved.get("mean"), torch.Tensor):
            # rl_games' AverageMeter rebinds (and reshapes) its buffer on update.
            target.mean = saved["mean"].to(target.mean.device).clone()
            target.current_size = int(saved["size"])


def _apply_accumulators(agent: Any, state: Mapping[str, Any]) -> None:
    for name in _ACCUMULATORS:
        saved = state.get(name)
        target = getattr(agent, name, None)
        if isinstance(saved, torch.Tensor) and isinstance(target, torch.Tensor):
            if saved.shape == target.shape:
                target.copy_(saved.to(target.device))
            else:
                log.warning("not restoring %s: shape %s != %s", name, saved.shape, target.shape)


def apply_agent_state(agent: Any, state: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Put a captured state back into ``agent`` (after rl_games' ``env_reset``).

    Returns:
        The model buffers to apply once rl_games' multi-process ``train()`` has
        broadcast rank 0's model (None when the state holds none).
    """
    if "last_mean_rewards" in state:
        best = float(state["last_mean_rewards"])
        if math.isfinite(best):
            agent.last_mean_rewards = best
    if "last_lr" in state:
        # The scheduler's value. The optimizer's own LR came back with its
        # state dict; in multi-process runs it is the float32 value rank 0
        # broadcast, so it must not be overwritten with this one.
        agent.last_lr = float(state["last_lr"])
    if "entropy_coef" in state:
        agent.entropy_coef = float(state["entropy_coef"])
    _apply_meters(agent, state)
    _apply_accumulators(agent, state)
    buffers = state.get("model_buffers")
    return buffers if isinstance(buffers, Mapping) else None
