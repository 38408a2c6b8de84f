"""Checkpoints of untrained mjlab Cartpole ADR policies, written in-process, for adr-eval tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

import torch
from mjlab.envs import ManagerBasedRlEnvCfg
from mjlab.rl import RslRlVecEnvWrapper
from mjlab.tasks.registry import load_env_cfg

from adr_lab.mjlab import adr_term
from adr_lab.mjlab.runner import AdrOnPolicyRunner
from adr_lab.tasks.cartpole import TASK_ID, cartpole_adr_runner_cfg
from lab_helpers import build


def write_lab_checkpoint(
    path: Path,
    *,
    seed: int,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    iteration: int = 0,
    env_cfg: ManagerBasedRlEnvCfg | None = None,
) -> Path:
    """An rsl_rl policy with random weights (``seed``) and an ADR engine whose ranges are
    ``ranges`` (default: init), saved by the ADR runner as ``model_<it>.pt`` would be."""
    cfg = env_cfg or load_env_cfg(TASK_ID)
    cfg.scene.num_envs = 2
    cfg.seed = seed
    env = RslRlVecEnvWrapper(build(cfg))
    engine = adr_term(env.unwrapped).engine
    for name, (lo, hi) in (ranges or {}).items():
        engine.bounds[engine.param_names.index(name)] = torch.tensor([lo, hi], dtype=torch.float64)
    torch.manual_seed(seed)
    runner = AdrOnPolicyRunner(env, asdict(cartpole_adr_runner_cfg()), log_dir=None, device="cpu")
    runner.current_learning_iteration = iteration
    path.parent.mkdir(parents=True, exist_ok=True)
    runner.save(str(path))
    env.close()
    return path
