"""What the torchrun workers of both frameworks check (``lab_rank_worker.py`` for mjlab,
``isaaclab_rank_worker.py`` for Isaac Lab) and how their tests read it (torch only)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from app_helpers import run_app
from paths import SUPPORT, support_pythonpath

RANK = int(os.environ.get("RANK", "0"))


def rank_schedule(step: int, num_envs: int, device: Any) -> torch.Tensor:
    """Rank r's envs 0 and 1 end an episode when (step + id) is a multiple of 4 + 3r."""
    ids = torch.arange(num_envs, device=device)
    return (ids < 2) & ((step + ids) % (4 + 3 * RANK) == 0)


def shared_view(engine: Any) -> torch.Tensor:
    """What every rank must hold alike: ranges, next limits, queue lengths, update count."""
    return torch.cat(
        [
            engine.bounds.flatten(),
            engine.next_limits.flatten(),
            engine.queue_lengths.flatten().double(),
            torch.tensor([float(engine.step)], dtype=torch.float64),
        ]
    )


def step_and_compare(
    engine: Any, noise: torch.Generator, steps: int, step: Callable[[], bool], out: Path
) -> None:
    """Step ``steps`` times (``step()`` says whether this rank reset an env), gather every
    rank's :func:`shared_view` after each, and write what was seen to ``out/rank<r>.pt``."""
    mismatches, resets, updates_per_step = [], [], []
    for index in range(steps):
        before = engine.step
        resets.append(step())
        updates_per_step.append(engine.step - before)
        mine = shared_view(engine)
        everyone = [torch.empty_like(mine) for _ in range(dist.get_world_size())]
        dist.all_gather(everyone, mine)
        if any(not torch.equal(everyone[0], other) for other in everyone[1:]):
            mismatches.append(index)
    seen = {
        "mismatches": mismatches,
        "resets": resets,
        "updates_per_step": updates_per_step,
        "bounds": engine.bounds.clone(),
        "init": engine.params.init.clone(),
        "seed_draw": torch.rand(1, generator=noise),
    }
    torch.save(seen, out / f"rank{RANK}.pt")
    dist.barrier()


def run_two_ranks(worker: Path, out: Path, steps: int, *args: str) -> list[dict[str, Any]]:
    """``worker OUT STEPS ARGS`` under torchrun with two gloo ranks; what each rank saw."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(worker),
        str(out),
        str(steps),
        *args,
    ]
    result = run_app(command, SUPPORT, timeout=300, extra_env={"PYTHONPATH": support_pythonpath()})
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-4000:])
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(2)]


def check_one_curriculum(ranks: list[dict[str, Any]], steps: int, first: int = 0) -> None:
    """Every rank updated once per step from step ``first`` on and held what the others
    held after every step, though they reset on different steps; bounds moved; every
    rank has its own noise stream."""
    for seen in ranks:
        assert seen["mismatches"] == []
        assert seen["updates_per_step"][first:] == [1] * (steps - first)
    one_sided = [a != b for a, b in zip(ranks[0]["resets"], ranks[1]["resets"], strict=True)]
    assert any(one_sided), "the ranks always reset together: the step sync was not exercised"
    assert torch.equal(ranks[0]["bounds"], ranks[1]["bounds"])
    assert (ranks[0]["bounds"] != ranks[0]["init"]).any(), "no bound moved"
    # One seed for the curriculum, but every rank draws its own noise.
    assert not torch.equal(ranks[0]["seed_draw"], ranks[1]["seed_draw"])
