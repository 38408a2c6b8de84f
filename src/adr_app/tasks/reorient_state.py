"""The Reorient task's complete state: what it saves, and its stage-then-commit load."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypedDict, cast

import torch

from adr_domain import ENGINE_STATE_KEY, ADREngine, Commit, EngineState, StateReader

__all__ = [
    "NUM_ACTIONS",
    "OBS_DIM",
    "STATE_SCHEMA_VERSION",
    "TASK_NAME",
    "ReorientState",
    "ReorientStateful",
    "ReorientTaskState",
    "allocate_task_buffers",
]

NUM_ACTIONS: Final = 3
"""Torque components of an action."""
OBS_DIM: Final = 21
"""Entries of one env's observation."""

STATE_SCHEMA_VERSION: Final = 1
"""Version of :class:`ReorientState` written by this code."""
TASK_NAME: Final = "Reorient"


class ReorientTaskState(TypedDict):
    """Task-level part of :class:`ReorientState` (``N`` envs, latency queue size ``S``)."""

    num_envs: int
    frame: int
    """Steps taken since construction."""
    queue_head: int
    """Slot of the latency queue that holds the latest action."""
    action_moving_average: float
    consecutive_successes: float
    """Moving average of finished episodes' consecutive successes (``averFactor``)."""
    rng: torch.Tensor
    """uint8 state of the task's ``torch.Generator``."""
    rot: torch.Tensor
    """``(N, 4)`` float32 orientation."""
    ang_vel: torch.Tensor
    """``(N, 3)`` float32 angular velocity (world frame, rad/s)."""
    goal_rot: torch.Tensor
    """``(N, 4)`` float32 goal orientation."""
    progress: torch.Tensor
    """``(N,)`` int64 steps into the episode."""
    steps_without_success: torch.Tensor
    """``(N,)`` int64."""
    successes: torch.Tensor
    """``(N,)`` float32 consecutive successes of the current episode."""
    action_queue: torch.Tensor
    """``(N, S, 3)`` float32 ring buffer of recent actions."""
    prev_command: torch.Tensor
    """``(N, 3)`` float32 last command after latency and delay."""
    applied_action: torch.Tensor
    """``(N, 3)`` float32 last applied (noisy, averaged, clipped) command ``u``."""
    last_action: torch.Tensor
    """``(N, 3)`` float32 last policy action."""
    action_scaling: torch.Tensor
    """``(N, 3)`` float32 per-episode affine action scaling."""
    action_additive: torch.Tensor
    """``(N, 3)`` float32 per-episode affine action offset."""
    pose_scaling: torch.Tensor
    """``(N, 4)`` float32 per-episode affine pose scaling."""
    pose_additive: torch.Tensor
    """``(N, 4)`` float32 per-episode affine pose offset."""
    pose_refresh_offset: torch.Tensor
    """``(N,)`` int64 phase of the pose refresh."""
    pose_refreshed: torch.Tensor
    """``(N, 4)`` float32 last refreshed noisy pose."""
    pose_observed: torch.Tensor
    """``(N, 4)`` float32 pose in the observation (after delays)."""
    obs: torch.Tensor
    """``(N, 21)`` float32 the last observation."""


class ReorientState(TypedDict):
    """Complete state of a :class:`ReorientTask`: the engine's and the task's."""

    schema_version: int
    task_name: str
    adr: EngineState
    task: ReorientTaskState


def allocate_task_buffers(
    num_envs: int, queue_size: int, device: torch.device
) -> dict[str, torch.Tensor]:
    """Zeroed per-env buffers of the task, by their :class:`ReorientTaskState` names.

    Each is updated in place, never rebound, so that a load can copy into it.
    """

    def zeros(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.zeros((num_envs, *shape), dtype=dtype, device=device)

    return {
        "rot": zeros(4),
        "ang_vel": zeros(3),
        "goal_rot": zeros(4),
        "progress": zeros(dtype=torch.long),
        "steps_without_success": zeros(dtype=torch.long),
        "successes": zeros(),
        "action_queue": zeros(queue_size, NUM_ACTIONS),
        "prev_command": zeros(NUM_ACTIONS),
        "applied_action": zeros(NUM_ACTIONS),
        "last_action": zeros(NUM_ACTIONS),
        "action_scaling": zeros(NUM_ACTIONS),
        "action_additive": zeros(NUM_ACTIONS),
        "pose_scaling": zeros(4),
        "pose_additive": zeros(4),
        "pose_refresh_offset": zeros(dtype=torch.long),
        "pose_refreshed": zeros(4),
        "pose_observed": zeros(4),
        "obs": zeros(OBS_DIM),
    }


class ReorientStateful:
    """``state_dict`` / ``load_state_dict`` of :class:`~adr_app.tasks.reorient.ReorientTask`
    (its base class): the engine's state and the task's simulation state."""

    adr: ADREngine
    num_envs: int
    device: torch.device
    frame: int
    action_moving_average: float
    consecutive_successes: float
    _queue_head: int
    _queue_size: int
    _gen: torch.Generator
    _buffers: dict[str, torch.Tensor]

    def state_dict(self) -> ReorientState:
        """The complete state (CPU tensors and primitives; copies).

        Loads with ``torch.load(weights_only=True)``; :meth:`load_state_dict`
        of a task built from the same config continues bit-identically.
        """
        task: dict[str, Any] = {
            "num_envs": self.num_envs,
            "frame": self.frame,
            "queue_head": self._queue_head,
            "action_moving_average": float(self.action_moving_average),
            "consecutive_successes": float(self.consecutive_successes),
            "rng": self._gen.get_state().clone(),
        }
        for name, buf in self._buffers.items():
            task[name] = buf.detach().cpu().clone()
        return ReorientState(
            schema_version=STATE_SCHEMA_VERSION,
            task_name=TASK_NAME,
            adr=self.adr.state_dict(),
            task=cast(ReorientTaskState, task),
        )

    def load_state_dict(
        self, state: Mapping[str, Any], *, restore_ranges: bool | None = None
    ) -> None:
        """Restore a state from :meth:`state_dict` (possibly of another process).

        Everything is checked before anything changes: on error the task is
        untouched.

        Args:
            state: a :class:`ReorientState` mapping.
            restore_ranges: passed to the engine's ``load_state_dict``; default
                (None) follows ``adr_load_from_checkpoint``.

        Raises:
            StateError: (a ``ValueError``) naming the missing, mistyped or
                misshapen entry, a wrong schema version, task or env count; the
                engine's own errors for its part.
        """
        self.stage_state_dict(state, restore_ranges=restore_ranges)()

    def stage_state_dict(
        self, state: Mapping[str, Any], *, restore_ranges: bool | None = None
    ) -> Commit:
        """Check a :meth:`state_dict` completely (task, then engine); the commit loads it.

        Raises:
            the errors of :meth:`load_state_dict`.
        """
        read = StateReader(state, "Reorient state")
        read.version(STATE_SCHEMA_VERSION)
        if read.state.get("task_name") != TASK_NAME:
            raise read.fail("task_name", f"{read.state.get('task_name')!r} is not {TASK_NAME!r}")
        task = read.child("task")
        num_envs = task.int("num_envs")
        if num_envs != self.num_envs:
            raise task.fail("num_envs", f"is {num_envs}, this task has {self.num_envs} envs")
        frame = task.int("frame", low=0)
        queue_head = task.int("queue_head", low=0, high=self._queue_size - 1)
        moving_average = task.float("action_moving_average")
        successes = task.float("consecutive_successes")
        rng = task.generator("rng", self.device).clone()
        tensors = {
            name: task.tensor(name, tuple(buf.shape), buf.dtype, finite=True)
            for name, buf in self._buffers.items()
        }
        engine = self.adr.stage_state_dict(
            read.child(ENGINE_STATE_KEY).state, restore_ranges=restore_ranges
        )

        def commit() -> None:
            engine()
            for name, value in tensors.items():
                self._buffers[name].copy_(value)
            self._gen.set_state(rng)
            self.frame, self._queue_head = frame, queue_head
            self.action_moving_average = moving_average
            self.consecutive_successes = successes

        return commit
