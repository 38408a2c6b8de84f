"""One rank of a torchrun (gloo) run of Isaac Lab's Cartpole under ADR (test_isaaclab_distributed).

Usage: python -m torch.distributed.run --standalone --nproc_per_node=2
isaaclab_rank_worker.py OUT STEPS (with ``ISAACSIM_ASSET_ROOT`` set)

Each rank builds its own env (its own seed, so its own physics) whose
episodes end on a rank-dependent schedule, steps it with zero force and,
after every step, gathers every rank's ranges, next limits, queue lengths and
update count to compare them. It writes what it saw to OUT/rank<r>.pt.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from isaaclab.envs import ManagerBasedRLEnv
from isaaclab.managers import TerminationTermCfg

from adr_lab import Survived
from adr_lab.isaaclab import adr_term
from isaaclab_env import BINDINGS, SMALL_ADR, built, cartpole_cfg, play, with_adr

RANK = int(os.environ.get("RANK", "0"))


def rank_schedule(env: ManagerBasedRLEnv) -> torch.Tensor:
    """Rank r's envs 0 and 1 time out when (step + id) is a multiple of 4 + 3r (Survived: 1)."""
    ids = torch.arange(env.num_envs, device=env.device)
    return (ids < 2) & ((env.common_step_counter + ids) % (4 + 3 * RANK) == 0)


def shared_view(env: ManagerBasedRLEnv) -> torch.Tensor:
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
    cfg = with_adr(cartpole_cfg(4), adr=SMALL_ADR, bindings=BINDINGS, objective=Survived())
    cfg.seed = 3 + RANK  # the ranks agree on rank 0's seed for the curriculum
    cfg.episode_length_s = 100.0
    cfg.terminations.cart_out_of_bounds = None
    cfg.terminations.scheduled = TerminationTermCfg(func=rank_schedule, time_out=True)
    with built(cfg) as env:
        env.reset()
        engine = adr_term(env).engine
        mismatches, resets, updates_per_step = [], [], []
        for step in range(steps):
            before = engine.step
            play(env, 1)
            updates_per_step.append(engine.step - before)
            resets.append(bool(env.reset_buf.any()))
            mine = shared_view(env)
            everyone = [torch.empty_like(mine) for _ in range(dist.get_world_size())]
            dist.all_gather(everyone, mine)
            if any(not torch.equal(everyone[0], other) for other in everyone[1:]):
                mismatches.append(step)
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
