"""The mjlab half of ``bench_lab.py``: ``Mjlab-Cartpole-Balance-Adr`` on MuJoCo Warp on the CPU.

* :func:`train`: trains with the ADR task's PPO settings (``load_rl_cfg``)
  through sim2real-adr's rsl_rl runner, one iteration at a time, until ADR
  first widens a bound beyond its ``init_range`` or the iteration cap.
* :func:`share`: steps a fresh env (no runner, so the ADR core checks its
  input every 100 updates rather than once per iteration) with a fixed random
  policy and times, per ``env.step``, ADR's own code: the curriculum term
  (objective and engine update, ``adr/...`` log keys), the reset event writing
  the model fields and the step-sync event term. Apart: the derived constants
  MuJoCo Warp recomputes after those writes (``Simulation.recompute_constants``,
  which any reset-time mass randomization pays) and ADR's noise draws for the
  action and actor observations.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

os.environ.setdefault("MJLAB_WARP_QUIET", "1")

import torch
import warp as wp
from mjlab.envs import ManagerBasedRlEnv
from mjlab.rl import RslRlVecEnvWrapper
from mjlab.sim.sim import Simulation
from mjlab.tasks.registry import load_env_cfg, load_rl_cfg

from adr_lab.mjlab import consumers, terms
from adr_lab.mjlab.runner import AdrOnPolicyRunner
from adr_lab.tasks import cartpole
from bench_lab_common import Timed, first_widening, random_episode_starts, step_share

__all__ = ["share", "train"]

wp.config.quiet = True


def _env(envs: int) -> ManagerBasedRlEnv:
    cfg = load_env_cfg(cartpole.TASK_ID)
    cfg.scene.num_envs = envs
    cfg.seed = 0
    return ManagerBasedRlEnv(cfg, device="cpu")


def train(envs: int, iterations: int) -> dict[str, Any]:
    """When ADR first widens a bound, training ``envs`` envs for at most ``iterations``."""
    env = RslRlVecEnvWrapper(_env(envs))
    agent = load_rl_cfg(cartpole.TASK_ID)
    agent.seed = 0
    runner = AdrOnPolicyRunner(env, asdict(agent), log_dir=None, device="cpu")
    term = runner._adr_term()
    assert term is not None

    def learn_one(it: int) -> None:
        runner.learn(num_learning_iterations=1, init_at_random_ep_len=(it == 0))

    steps = agent.num_steps_per_env * envs
    result = first_widening(learn_one, term.engine, steps, iterations, f"mjlab {envs} envs")
    env.close()
    return {"envs": envs, **result}


def share(envs: int, steps: int) -> dict[str, Any]:
    """ADR's share of ``env.step`` at ``envs`` envs over ``steps`` steps (after warm-up)."""
    adr = {
        "objective + engine update": Timed(terms.AdrCurriculum, "__call__"),
        "writes at reset": Timed(terms.AdrModelFields, "__call__"),
        "step-sync term": Timed(terms.AdrStepSync, "__call__"),
    }
    other = {
        "apart: recompute after the writes": Timed(Simulation, "recompute_constants"),
        "apart: noise terms": Timed(consumers, "_noise"),
    }
    env = _env(envs)
    env.reset()
    random_episode_starts(env)
    try:
        return step_share(
            env.step,
            (envs, env.action_manager.total_action_dim),
            steps,
            adr,
            other,
            lambda: int(env.reset_buf.sum()),
        )
    finally:
        env.close()
        _unpatch()


_ORIGINALS = {
    (terms.AdrCurriculum, "__call__"): terms.AdrCurriculum.__call__,
    (terms.AdrModelFields, "__call__"): terms.AdrModelFields.__call__,
    (terms.AdrStepSync, "__call__"): terms.AdrStepSync.__call__,
    (Simulation, "recompute_constants"): Simulation.recompute_constants,
    (consumers, "_noise"): consumers._noise,
}


def _unpatch() -> None:
    """Put back the functions :func:`share` timed (so the next env count is timed once)."""
    for (owner, name), original in _ORIGINALS.items():
        setattr(owner, name, original)


if __name__ == "__main__":
    torch.set_num_threads(1)
    print(share(64, 100))
