"""One rank of a torchrun (gloo) run of mjlab Cartpole under ADR (started by test_lab_distributed).

Usage: python -m torch.distributed.run --standalone --nproc_per_node=2 lab_rank_worker.py OUT STEPS

Each rank builds its own env (its own seed, so its own physics) whose
episodes end on a rank-dependent schedule, steps it with zero actions and,
after every step, gathers every rank's ranges, next limits, queue lengths and
update count to compare them. It writes what it saw to OUT/rank<r>.pt.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from mjlab.envs import ManagerBasedRlEnv
from mjlab.managers.termination_manager import TerminationTermCfg

from adr_lab.mjlab import adr_term
from adr_lab.tasks.cartpole import BINDINGS
from lab_helpers import build, cartpole_cfg, run, small_adr

RANK = int(os.environ.get("RANK", "0"))
PARAMS = ("pole_mass", "action_noise", "observation_noise")
"""The pole's mass (a model field) and the two noise scales the task's terms read."""


def rank_schedule(env: ManagerBasedRlEnv) -> torch.Tensor:
    """Rank r's envs 0 and 1 end an episode when (step + id) is a multiple of 4 + 3r."""
    ids = torch.arange(env.num_envs, device=env.device)
    return (ids < 2) & ((env.common_step_counter + ids) % (4 + 3 * RANK) == 0)


def shared_view(env: ManagerBasedRlEnv) -> torch.Tensor:
    """What every rank must hold alike: ranges, next limits, queue lengths, update count."""
    engine = adr_term(env).engine
    return torch.cat(
        [
            engine.bounds.flatten(),
            engine.next_limits.flatten(),
            engine.queue_lengths.flatten().double(),
            torch.tensor([float(engine.step)], dtype=torch.float64),
        ]
    )


def main() -> int:
    out, steps = Path(sys.argv[1]), int(sys.argv[2])
    adr = small_adr()
    adr["params"] = {k: v for k, v in adr["params"].items() if k in PARAMS}
    cfg = cartpole_cfg(4, adr=adr, bindings=BINDINGS[:1], episode_steps=1000, seed=3 + RANK)
    cfg.terminations["scheduled"] = TerminationTermCfg(func=rank_schedule)
    env = build(cfg)
    env.reset()
    engine = adr_term(env).engine
    mismatches, resets, updates_per_step = [], [], []
    for step in range(steps):
        before = engine.step
        extras = run(env, 1)[0]
        updates_per_step.append(engine.step - before)
        resets.append(bool(env.reset_buf.any()))
        mine = shared_view(env)
        everyone = [torch.empty_like(mine) for _ in range(dist.get_world_size())]
        dist.all_gather(everyone, mine)
        if any(not torch.equal(everyone[0], other) for other in everyone[1:]):
            mismatches.append(step)
        assert "adr/npd" in extras["log"]
    torch.save(
        {
            "mismatches": mismatches,
            "resets": resets,
            "updates_per_step": updates_per_step,
            "bounds": engine.bounds.clone(),
            "init": engine.params.init.clone(),
            "seed_draw": torch.rand(1, generator=adr_term(env).core.noise),
        },
        out / f"rank{RANK}.pt",
    )
    dist.barrier()
    return 0


if __name__ == "__main__":
    sys.exit(main())
