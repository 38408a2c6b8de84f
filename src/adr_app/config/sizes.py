"""Devices and sizes checked before anything is built.

An absurd number (``adr_queue_threshold_length=10**9``, ``num_envs=10**9``)
would otherwise surface as a raw allocator error after the envs and the model
were built; a device that does not exist as a traceback from deep inside torch.
The estimates are lower bounds of what the run allocates, compared with the
memory of the device it runs on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch

from adr_app.config.settings import plain_int
from adr_app.errors import UsageError

__all__ = [
    "ROLLOUT_BYTES_PER_ENV_STEP",
    "adr_queue_bytes",
    "available_bytes",
    "check_device",
    "check_sizes",
    "rollout_bytes",
]

ROLLOUT_BYTES_PER_ENV_STEP = 64
"""A lower bound of what rl_games keeps per env and horizon step (observation,
action, mean and sigma, value, reward, done, log-probability: 16 floats)."""


def check_device(key: str, device: str) -> None:
    """A CUDA device must exist on this machine.

    Raises:
        UsageError: ``cuda`` without CUDA, or an index beyond the devices present.
    """
    parsed = torch.device(device)
    if parsed.type != "cuda":
        return
    if not torch.cuda.is_available():
        raise UsageError(f"{key}={device}: CUDA is not available on this machine (use cpu)")
    count = torch.cuda.device_count()
    if parsed.index is not None and parsed.index >= count:
        raise UsageError(f"{key}={device}: this machine has {count} CUDA device(s)")


def available_bytes(device: str) -> int | None:
    """Memory the run can use on ``device``: available RAM, or the GPU's total; None if unknown."""
    parsed = torch.device(device)
    if parsed.type == "cuda" and torch.cuda.is_available():
        return int(torch.cuda.get_device_properties(parsed.index or 0).total_memory)
    if parsed.type != "cpu":
        return None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def adr_queue_bytes(adr_cfg: Mapping[str, Any]) -> int:
    """The ADR engine's boundary queues: two per parameter (and two spare rows), float64."""
    params = adr_cfg.get("params")
    length = plain_int(adr_cfg.get("adr_queue_threshold_length"))
    if not isinstance(params, Mapping) or length is None or length <= 0:
        return 0
    return (2 * len(params) + 2) * length * 8


def rollout_bytes(num_envs: int, horizon: int) -> int:
    """rl_games' rollout storage, at least."""
    return num_envs * max(horizon, 1) * ROLLOUT_BYTES_PER_ENV_STEP


def _gigabytes(n: int) -> str:
    return f"{n / 1e9:.1f} GB"


def check_sizes(
    num_envs: int | None, horizon: int | None, adr_cfg: Mapping[str, Any] | None, device: str
) -> None:
    """Refuse sizes whose buffers alone exceed the memory of the device.

    Raises:
        UsageError: naming the key, what it would need and what there is.
    """
    limit = available_bytes(device)
    if limit is None:
        return
    queues = adr_queue_bytes(adr_cfg or {})
    if queues > limit:
        length = (adr_cfg or {}).get("adr_queue_threshold_length")
        raise UsageError(
            f"task.task.adr.adr_queue_threshold_length={length}: the ADR queues alone would "
            f"need {_gigabytes(queues)}, more than the {_gigabytes(limit)} available on {device}"
        )
    if num_envs is not None:
        rollout = rollout_bytes(num_envs, horizon or 1)
        if rollout > limit:
            raise UsageError(
                f"num_envs={num_envs}: the rollout storage alone would need at least "
                f"{_gigabytes(rollout)}, more than the {_gigabytes(limit)} available on {device}"
            )
