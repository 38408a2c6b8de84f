"""``isaaclab play``'s config of Isaac-Cartpole-Adr plays at the loaded checkpoint's ranges.

Isaac Lab's play entry point resolves the task with ``play_mode=True``, which
calls the env config's ``play_mode()``; Isaac-Cartpole-Adr's freezes the ADR
ranges there. A training env (8 envs, 1-step episodes) moves the ranges and
saves; then the play config's env loads that file through rsl_rl's runner.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import torch
from isaaclab.utils import class_to_dict
from isaaclab_rl.rsl_rl import (
    RslRlVecEnvWrapper,
    check_rsl_rl_version,
    handle_deprecated_rsl_rl_cfg,
)
from isaaclab_tasks.utils import resolve_task_config
from rsl_rl.runners import OnPolicyRunner

import adr_lab.isaaclab.tasks  # noqa: F401  (registers Isaac-Cartpole-Adr)
from adr_domain import WorkerType
from adr_lab.isaaclab import adr_term
from adr_lab.isaaclab.tasks.cartpole import TASK_ID
from isaaclab_env import built, play

NUM_ENVS = 8
FAST = {
    "adr_queue_threshold_length": 2,
    "adr_objective_threshold_low": 0.2,
    "adr_objective_threshold_high": 0.5,
}
"""Queues of 2 results: bounds move within 20 steps (kept by the play config's freeze)."""


def _runner(play_mode: bool) -> tuple[Any, dict[str, Any]]:
    env_cfg, agent_cfg = resolve_task_config(
        TASK_ID, "rsl_rl_cfg_entry_point", play_mode=play_mode, overrides=("physics=newton_mjwarp",)
    )
    env_cfg.sim.device = "cpu"
    env_cfg.scene.num_envs = NUM_ENVS
    term = env_cfg.curriculum["adr"]
    term.params["spec"] = attrs.evolve(
        term.params["spec"], adr=term.params["spec"].adr.model_copy(update=FAST)
    )
    env_cfg.episode_length_s = 0.016  # 1 step
    agent_cfg.device = "cpu"
    agent_cfg.obs_groups = {"actor": ["policy"], "critic": ["policy"]}
    agent_cfg = handle_deprecated_rsl_rl_cfg(agent_cfg, check_rsl_rl_version())
    return env_cfg, class_to_dict(agent_cfg)


def _in_range(values: torch.Tensor, bounds: torch.Tensor) -> bool:
    return bool(((values >= bounds[0]) & (values <= bounds[1])).all())


def test_play_mode_freezes_the_ranges_at_the_loaded_checkpoint_s(tmp_path: Path) -> None:
    train_cfg, agent = _runner(play_mode=False)
    with built(train_cfg) as env:
        trainer = OnPolicyRunner(RslRlVecEnvWrapper(env), agent, log_dir=None, device="cpu")
        play(env, 20)
        trainer.save(str(tmp_path / "model.pt"))
        bounds = adr_term(env).engine.bounds.clone()
        init = adr_term(env).engine.params.init.clone()
    assert not torch.equal(bounds, init), "no bound moved: the test would prove nothing"
    play_cfg, agent = _runner(play_mode=True)
    with built(play_cfg) as env:
        player = OnPolicyRunner(RslRlVecEnvWrapper(env), agent, log_dir=None, device="cpu")
        player.load(str(tmp_path / "model.pt"))
        engine = adr_term(env).engine
        assert torch.equal(engine.bounds, bounds)
        play(env, 6)
        assert torch.equal(engine.bounds, bounds)  # frozen
        assert bool((engine.worker_types == int(WorkerType.ROLLOUT)).all())
        for row, name in enumerate(engine.tensor_param_names):
            assert _in_range(engine.get(name), bounds[row]), name
