"""One rank of a torchrun (gloo) run of mjlab Cartpole under ADR (started by test_lab_distributed).

Usage: python -m torch.distributed.run --standalone --nproc_per_node=2 lab_rank_worker.py OUT STEPS

Each rank builds its own env (its own seed, so its own physics) whose
episodes end on a rank-dependent schedule, steps it with zero actions and,
after every step, gathers every rank's ranges, next limits, queue lengths and
update count to compare them (:mod:`rank_checks`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from mjlab.envs import ManagerBasedRlEnv
from mjlab.managers.termination_manager import TerminationTermCfg

from adr_lab.mjlab import adr_term
from adr_lab.tasks.cartpole import BINDINGS
from lab_helpers import build, cartpole_cfg, run, small_adr
from rank_checks import RANK, rank_schedule, step_and_compare

PARAMS = ("pole_mass", "action_noise", "observation_noise")
"""The pole's mass (a model field) and the two noise scales the task's terms read."""


def scheduled(env: ManagerBasedRlEnv) -> torch.Tensor:
    return rank_schedule(env.common_step_counter, env.num_envs, env.device)


def main() -> int:
    out, steps = Path(sys.argv[1]), int(sys.argv[2])
    adr = small_adr()
    adr["params"] = {k: v for k, v in adr["params"].items() if k in PARAMS}
    cfg = cartpole_cfg(4, adr=adr, bindings=BINDINGS[:1], episode_steps=1000, seed=3 + RANK)
    cfg.terminations["scheduled"] = TerminationTermCfg(func=scheduled)
    env = build(cfg)
    env.reset()

    def step() -> bool:
        extras = run(env, 1)[0]
        assert "adr/npd" in extras["log"]
        return bool(env.reset_buf.any())

    step_and_compare(adr_term(env).engine, adr_term(env).core.noise, steps, step, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
