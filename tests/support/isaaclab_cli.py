"""``isaaclab train --task Isaac-Cartpole-Adr`` (rsl_rl, Newton, CPU) as a subprocess.

Import only after ``ISAACSIM_ASSET_ROOT`` is set (``tests/isaaclab/conftest.py``):
the child inherits it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from adr_lab.isaaclab.tasks.cartpole import TASK_ID

ISAACLAB = Path(sys.executable).with_name("isaaclab")
RUNS = Path("logs", "rsl_rl", "cartpole_adr")
"""Where ``isaaclab train`` puts the task's runs, under its working directory."""


def train_command(num_envs: int, iterations: int, *extra: str) -> list[str]:
    """``isaaclab train`` of ``iterations`` PPO iterations of ``num_envs`` envs on the CPU."""
    return [
        str(ISAACLAB),
        "train",
        "--task",
        TASK_ID,
        "--rl_library",
        "rsl_rl",
        "--num_envs",
        str(num_envs),
        "--device",
        "cpu",
        "presets=newton_mjwarp",
        "agent.device=cpu",
        "--max_iterations",
        str(iterations),
        *extra,
    ]


def train_env() -> dict[str, str]:
    """This environment without ``PYTHONPATH`` (the venv's own packages only)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
