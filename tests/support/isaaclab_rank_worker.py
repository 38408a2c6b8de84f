"""One rank of a torchrun (gloo) run of Isaac Lab's Cartpole under ADR (test_isaaclab_distributed).

Usage: python -m torch.distributed.run --standalone --nproc_per_node=2
isaaclab_rank_worker.py OUT STEPS WHEN (with ``ISAACSIM_ASSET_ROOT`` set)

WHEN says when the ADR term joins the run's process group, which does not
exist when the env is built: ``trainer`` makes the group after the env's
first reset, as rsl_rl's runner does, and calls ``join_run`` as ``AdrPPO``
does; ``first-step`` leaves it to the term, after the first step.

Each rank builds its own env (its own seed, so its own physics) whose
episodes time out on a rank-dependent schedule (so ``Survived`` scores 1),
steps it with zero force and, after every step, gathers every rank's ranges,
next limits, queue lengths and update count to compare them (:mod:`rank_checks`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist
from isaaclab.envs import ManagerBasedRLEnv
from isaaclab.managers import TerminationTermCfg

from adr_lab import Survived
from adr_lab.isaaclab import adr_term
from isaaclab_env import BINDINGS, SMALL_ADR, built, cartpole_cfg, play, with_adr
from rank_checks import RANK, rank_schedule, step_and_compare


def scheduled(env: ManagerBasedRLEnv) -> torch.Tensor:
    return rank_schedule(env.common_step_counter, env.num_envs, env.device)


def main() -> int:
    out, steps, when = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    cfg = with_adr(cartpole_cfg(4), adr=SMALL_ADR, bindings=BINDINGS, objective=Survived())
    cfg.seed = 3 + RANK  # the ranks agree on rank 0's seed for the curriculum
    cfg.episode_length_s = 100.0
    cfg.terminations.cart_out_of_bounds = None
    cfg.terminations.scheduled = TerminationTermCfg(func=scheduled, time_out=True)
    with built(cfg) as env:
        assert not dist.is_initialized(), "the term must not make the group when built"
        env.reset()
        if when == "trainer":
            dist.init_process_group("gloo")
            adr_term(env).join_run()

        def step() -> bool:
            play(env, 1)
            return bool(env.reset_buf.any())

        step_and_compare(adr_term(env).engine, adr_term(env).core.noise, steps, step, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
