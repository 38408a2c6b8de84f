"""The Isaac Lab half of ``bench_lab.py``: ``Isaac-Cartpole-Adr`` on Newton (MuJoCo Warp), CPU.

Run in ``.venv-isaaclab`` (``scripts/isaaclab_venv.sh``); ``bench_lab.py`` runs
it as a subprocess and reads the JSON it prints last (one line, prefixed
``BENCH_LAB_JSON``). The cartpole USD assets are authored locally with pxr
(``tests/support/usd_assets.py``) before Isaac Lab is imported: its CDN is
not reachable here.

* training: rsl_rl's ``OnPolicyRunner`` (through isaaclab_rl's
  ``create_rsl_rl_runner``) on the env wrapped with ``RslRlVecEnvWrapper``,
  agent config from the task's ``rsl_rl_cfg_entry_point``, ``device="cpu"``,
  one iteration at a time until ADR first widens a bound or the iteration
  cap (the algorithm, and so when ADR checks its input, is the agent
  config's).
* ADR's share of ``env.step`` with a fixed random policy (no runner: the ADR
  core checks its input every 100 updates): the curriculum
  term's objective, engine update and ``adr/...`` log keys, and the writes
  through Isaac Lab's event terms (``BoundEvent.apply``). Apart: the solver's
  model-change notifications those writes raise (mass and joint DOF changes:
  MuJoCo Warp's derived constants, at the next physics step) and the noisy
  joint-velocity observation term (including the clean observation).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
from usd_assets import author_assets  # noqa: E402  (before isaaclab reads the asset root)

ASSETS = Path(tempfile.mkdtemp(prefix="adr-bench-"))
atexit.register(shutil.rmtree, ASSETS, True)
os.environ["ISAACSIM_ASSET_ROOT"] = str(author_assets(ASSETS))

import torch  # noqa: E402
from isaaclab.app import launch_simulation  # noqa: E402
from isaaclab.envs import ManagerBasedRLEnv  # noqa: E402
from isaaclab_rl.rsl_rl import (  # noqa: E402
    RslRlVecEnvWrapper,
    check_rsl_rl_version,
    create_rsl_rl_runner,
    handle_deprecated_rsl_rl_cfg,
)
from isaaclab_tasks.utils import resolve_task_config  # noqa: E402
from newton import ModelFlags  # noqa: E402
from newton.solvers import SolverMuJoCo  # noqa: E402

from adr_lab.isaaclab import term as term_module  # noqa: E402
from adr_lab.isaaclab.bindings import BoundEvent  # noqa: E402
from adr_lab.isaaclab.tasks.cartpole import TASK_ID  # noqa: E402
from adr_lab.isaaclab.term import AdrCurriculumTerm, adr_term  # noqa: E402
from bench_lab_common import Timed, first_widening, random_episode_starts, step_share  # noqa: E402

JSON_PREFIX = "BENCH_LAB_JSON "
ADR_MODEL_CHANGES = (
    ModelFlags.BODY_INERTIAL_PROPERTIES
    | ModelFlags.JOINT_DOF_PROPERTIES
    | ModelFlags.ACTUATOR_PROPERTIES
)
"""What the mass, joint friction and actuator damping writes raise (the scene
reset's root-pose writes raise ``JOINT_PROPERTIES``, not timed)."""


def _configs(envs: int) -> tuple[Any, Any]:
    env_cfg, agent_cfg = resolve_task_config(
        TASK_ID, "rsl_rl_cfg_entry_point", overrides=("physics=newton_mjwarp",)
    )
    env_cfg.sim.device = "cpu"
    env_cfg.scene.num_envs = envs
    env_cfg.seed = agent_cfg.seed = 0
    agent_cfg.device = "cpu"
    return env_cfg, handle_deprecated_rsl_rl_cfg(agent_cfg, check_rsl_rl_version())


def train(envs: int, iterations: int) -> dict[str, Any]:
    """When ADR first widens a bound, training ``envs`` envs for at most ``iterations``."""
    env_cfg, agent_cfg = _configs(envs)
    with launch_simulation(env_cfg, {"device": "cpu"}):
        env = RslRlVecEnvWrapper(
            ManagerBasedRLEnv(cfg=env_cfg), clip_actions=agent_cfg.clip_actions
        )
        try:
            runner = create_rsl_rl_runner(env, agent_cfg, log_dir=None)
            engine = adr_term(env.unwrapped).engine

            def learn_one(it: int) -> None:
                random_start = it == 0 and agent_cfg.init_at_random_ep_len
                runner.learn(num_learning_iterations=1, init_at_random_ep_len=random_start)

            steps = agent_cfg.num_steps_per_env * envs
            result = first_widening(learn_one, engine, steps, iterations, f"isaaclab {envs} envs")
        finally:
            env.close()
    return {"envs": envs, **result}


def _time_adr_model_changes() -> Timed:
    """A timer of the solver's notifications of ADR's kinds of model change."""
    inner = SolverMuJoCo.notify_model_changed
    timer = Timed(SolverMuJoCo, "notify_model_changed")
    timed = SolverMuJoCo.notify_model_changed

    def notify(self: SolverMuJoCo, flags: Any) -> None:
        (timed if int(flags) & int(ADR_MODEL_CHANGES) else inner)(self, flags)

    SolverMuJoCo.notify_model_changed = notify  # type: ignore[method-assign]
    return timer


def share(envs: int, steps: int) -> dict[str, Any]:
    """ADR's share of ``env.step`` at ``envs`` envs over ``steps`` steps (after warm-up)."""
    originals = (
        term_module.update_on_reset,
        AdrCurriculumTerm.reset,
        BoundEvent.apply,
        SolverMuJoCo.notify_model_changed,
    )
    curriculum = Timed(term_module, "update_on_reset")
    AdrCurriculumTerm.reset = curriculum.wrap(AdrCurriculumTerm.reset)  # type: ignore[method-assign]
    adr = {
        "objective + engine update": curriculum,
        "writes at reset": Timed(BoundEvent, "apply"),
    }
    noise = Timed()
    other = {
        "apart: recompute after the writes": _time_adr_model_changes(),
        "apart: noise terms": noise,
    }
    env_cfg, _ = _configs(envs)
    term_cfg = env_cfg.observations.policy.joint_vel_rel
    term_cfg.func = noise.wrap(term_cfg.func)
    try:
        with launch_simulation(env_cfg, {"device": "cpu"}):
            env = ManagerBasedRLEnv(cfg=env_cfg)
            env.reset()
            random_episode_starts(env)
            try:
                shape = (envs, env.action_manager.total_action_dim)
                return step_share(
                    env.step, shape, steps, adr, other, lambda: int(env.reset_buf.sum())
                )
            finally:
                env.close()
    finally:
        (
            term_module.update_on_reset,
            AdrCurriculumTerm.reset,
            BoundEvent.apply,
            SolverMuJoCo.notify_model_changed,
        ) = originals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--train-envs", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=40, help="0: no training")
    args = parser.parse_args()
    torch.set_num_threads(1)
    figures: dict[str, Any] = {"share": [share(n, args.steps) for n in args.envs]}
    if args.iterations:
        figures["train"] = train(args.train_envs, args.iterations)
    print(JSON_PREFIX + json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
