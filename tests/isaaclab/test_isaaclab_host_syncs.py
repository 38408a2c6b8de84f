"""ADR adds no host sync to an Isaac Lab env step; a reset between steps still reads who played.

Isaac Lab's Cartpole (Newton / MuJoCo Warp, CPU) with episodes that end on the
step counter's schedule, so that the env with ADR and the stock env reset the
same envs at the same steps.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from isaaclab.envs import ManagerBasedRLEnv
from isaaclab.managers import TerminationTermCfg

from adr_domain.host_syncs import count_host_syncs
from adr_lab import Survived
from adr_lab.isaaclab import adr_term
from isaaclab_env import BINDINGS, SMALL_ADR, built, cartpole_cfg, play, with_adr

NUM_ENVS = 8
STEPS = 12


def scheduled_end(env: ManagerBasedRLEnv) -> torch.Tensor:
    """Env i's episode ends when (step counter + i) is a multiple of 3."""
    ids = torch.arange(env.num_envs, device=env.device)
    return (env.common_step_counter + ids) % 3 == 0


def _scheduled(adr: bool, objective: Any = None) -> Any:
    """Cartpole ending episodes on the schedule only; with ADR, or the stock env with
    the bound event terms as its own reset events (the same writes, without ADR)."""
    cfg = cartpole_cfg(NUM_ENVS)
    cfg.seed = 3
    cfg.episode_length_s = 1000.0
    cfg.terminations.cart_out_of_bounds = None
    cfg.terminations.scheduled = TerminationTermCfg(func=scheduled_end)
    if adr:
        return with_adr(
            cfg, adr=SMALL_ADR, objective=objective or Survived(), bindings=BINDINGS, seed=3
        )
    for binding in BINDINGS:
        setattr(cfg.events, f"bound_{binding.param}", copy.deepcopy(binding.term))
    return cfg


def _syncs_per_steps(env: ManagerBasedRLEnv, steps: int) -> dict[str, int]:
    env.reset()
    play(env, 3)  # past the first reset, which reads which envs played
    with count_host_syncs() as counter:
        play(env, steps)
    return dict(counter.counts)


def test_adr_adds_no_host_sync_to_an_env_step() -> None:
    """With ADR (updates, bound event writes, logs) a step reads the device no more
    often than the same Cartpole without ADR: what is left is Isaac Lab's own."""
    with built(_scheduled(adr=True)) as env:
        engine = adr_term(env).engine
        updates_before = engine.step
        adr_syncs = _syncs_per_steps(env, STEPS)
        updates = engine.step - updates_before
    with built(_scheduled(adr=False)) as env:
        stock_syncs = _syncs_per_steps(env, STEPS)
    assert updates >= STEPS, "ADR did not update every step"
    assert adr_syncs == stock_syncs


def test_a_reset_between_steps_scores_only_the_envs_that_played() -> None:
    """``env.reset()`` after a step that reset some envs leaves those out of the update."""
    scored: list[torch.Tensor] = []

    def recording(env: Any, env_ids: torch.Tensor) -> torch.Tensor:
        scored.append(env_ids.clone())
        return torch.ones(env_ids.numel())

    with built(_scheduled(adr=True, objective=recording)) as env:
        env.reset()
        play(env, 4)
        played = torch.nonzero(env.episode_length_buf > 0).flatten()
        assert 0 < played.numel() < NUM_ENVS
        env.reset()
        assert scored[-1].tolist() == played.tolist()
        play(env, 1)  # the step's resets: every env reset played
        ended = torch.nonzero(scheduled_end(env)).flatten()
        assert scored[-1].tolist() == ended.tolist()
