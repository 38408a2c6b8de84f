"""One process of the exact-resume test of adr_lab (started by tests/lab/test_lab_resume.py).

Usage: python lab_resume_worker.py CKPT OUT M   # load CKPT, M steps, write the state to OUT

:func:`straight` (run by the test itself) and this script build the same real
mjlab Cartpole env under ADR (8 envs, CPU) and step it with zero actions; both
end with the ADR term's complete state and the bound model fields. Episodes end on a schedule of the
step counter (which the runner restores) and the objective reads the values
back from the model, so the ADR trajectory depends only on what a
checkpoint holds: the two must be identical.
"""

from __future__ import annotations

import sys
from dataclasses import asdict

import torch
from mjlab.envs import ManagerBasedRlEnv
from mjlab.managers.termination_manager import TerminationTermCfg
from mjlab.rl import RslRlVecEnvWrapper

from adr_lab.mjlab import adr_term
from adr_lab.mjlab.runner import AdrOnPolicyRunner
from adr_lab.tasks.cartpole import cartpole_adr_runner_cfg
from lab_helpers import build, cartpole_cfg, small_adr

NUM_ENVS = 8


def scheduled_end(env: ManagerBasedRlEnv) -> torch.Tensor:
    """Env i's episode ends when (step counter + i) is a multiple of 3."""
    ids = torch.arange(env.num_envs, device=env.device)
    return (env.common_step_counter + ids) % 3 == 0


def played_values(env: ManagerBasedRlEnv, env_ids: torch.Tensor) -> torch.Tensor:
    """The objective: pole mass and motor gear as written in the model, relative to defaults."""
    mass = env.sim.model.body_mass[env_ids, -1] / float(env.sim.mj_model.body_mass[-1])
    gear = env.sim.model.actuator_gear[env_ids, 0, 0] / float(env.sim.mj_model.actuator_gear[0, 0])
    return mass + gear


def make() -> tuple[RslRlVecEnvWrapper, AdrOnPolicyRunner]:
    adr = small_adr(adr_objective_threshold_low=1.9, adr_objective_threshold_high=2.05)
    cfg = cartpole_cfg(NUM_ENVS, adr=adr, objective=played_values, episode_steps=1000)
    cfg.terminations["scheduled"] = TerminationTermCfg(func=scheduled_end)
    env = RslRlVecEnvWrapper(build(cfg))
    runner = AdrOnPolicyRunner(env, asdict(cartpole_adr_runner_cfg()), log_dir=None, device="cpu")
    return env, runner


def steps(env: RslRlVecEnvWrapper, count: int) -> None:
    for _ in range(count):
        env.step(torch.zeros(NUM_ENVS, 1))


def dump(env: RslRlVecEnvWrapper) -> dict[str, object]:
    """The ADR term's complete state (with the bound model fields) and the step counter."""
    return {
        "state": adr_term(env.unwrapped).state_dict(),
        "counter": env.unwrapped.common_step_counter,
    }


def straight(ckpt: str, n: int, m: int) -> dict[str, object]:
    """N steps, save through the runner, M more steps; what :func:`dump` returns then."""
    env, runner = make()
    steps(env, n)
    runner.save(ckpt)
    steps(env, m)
    return dump(env)


def main() -> int:
    ckpt, out, m = sys.argv[1], sys.argv[2], int(sys.argv[3])
    env, runner = make()
    runner.load(ckpt)
    steps(env, m)
    torch.save(dump(env), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
