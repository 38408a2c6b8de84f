"""``isaaclab train --task Isaac-Cartpole-Adr`` (rsl_rl or rl_games, Newton, CPU) as a subprocess.

Import only after ``ISAACSIM_ASSET_ROOT`` is set (``tests/isaaclab/conftest.py``):
the child inherits it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from adr_lab.isaaclab.tasks.cartpole import TASK_ID

ISAACLAB = Path(sys.executable).with_name("isaaclab")
RUNS = Path("logs", "rsl_rl", "cartpole_adr")
"""Where ``isaaclab train`` puts the task's rsl_rl runs, under its working directory."""
RL_GAMES_RUNS = Path("logs", "rl_games", "cartpole_adr")
"""Where ``isaaclab train`` puts the task's rl_games runs, under its working directory."""


def train_command(
    num_envs: int, iterations: int, *extra: str, library: str = "rsl_rl"
) -> list[str]:
    """``isaaclab train`` of ``iterations`` PPO iterations of ``num_envs`` envs on the CPU.

    The rsl_rl agent config is Isaac Lab's (on CUDA unless told); the rl_games
    one runs on the CPU already.
    """
    agent_on_cpu = ["agent.device=cpu"] if library == "rsl_rl" else []
    return [
        str(ISAACLAB),
        "train",
        "--task",
        TASK_ID,
        "--rl_library",
        library,
        "--num_envs",
        str(num_envs),
        "--device",
        "cpu",
        "presets=newton_mjwarp",
        *agent_on_cpu,
        "--max_iterations",
        str(iterations),
        *extra,
    ]


def train_env() -> dict[str, str]:
    """This environment without ``PYTHONPATH`` (the venv's own packages only), output
    unbuffered (so a test sees each iteration's lines when they are printed)."""
    kept = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**kept, "PYTHONUNBUFFERED": "1"}


def start_train(cwd: Path, name: str, command: list[str]) -> subprocess.Popen[bytes]:
    """``command`` started in ``cwd``, its output into ``<name>.log`` there."""
    with (cwd / f"{name}.log").open("wb") as log:
        return subprocess.Popen(command, cwd=cwd, env=train_env(), stdout=log, stderr=log)


def finish_train(cwd: Path, name: str, process: subprocess.Popen[bytes]) -> str:
    """The output of ``process`` (started by :func:`start_train`) once it succeeded."""
    process.wait(timeout=300)
    output = (cwd / f"{name}.log").read_text(errors="replace")
    assert process.returncode == 0, output[-3000:]
    return output


def run_resume_legs(
    cwd: Path,
    start: Callable[..., subprocess.Popen[bytes]],
    iterations: tuple[int, int, int],
    checkpoint: Callable[[], Path],
) -> None:
    """The legs of a resume test: ``first``, then ``resumed`` from its checkpoint, and
    ``straight`` beside them, all in ``cwd``.

    Args:
        cwd: the runs' working directory (their logs go there).
        start: ``start(name, iterations, *extra)`` starts the leg ``name``.
        iterations: the ``iterations`` argument of the first, resumed and straight legs.
        checkpoint: once the first leg is done, the checkpoint the resumed leg loads.
    """
    first, resumed, straight = iterations
    begin = time.perf_counter()
    straight_run = start("straight", straight)
    try:
        finish_train(cwd, "first", start("first", first))
        resumed_run = start("resumed", resumed, "--checkpoint", str(checkpoint()))
        finish_train(cwd, "resumed", resumed_run)
        finish_train(cwd, "straight", straight_run)
    finally:
        if straight_run.poll() is None:
            straight_run.kill()
            straight_run.wait()
    print(f"3 isaaclab train runs: {time.perf_counter() - begin:.1f} s")


def saved_dict(path: Path) -> dict[str, Any]:
    """The dict a trainer saved at ``path`` (as its own loader reads it)."""
    saved: dict[str, Any] = torch.load(path, weights_only=False)
    return saved
