"""ADR adds no host sync to an env step; its input check runs once per training iteration."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import pytest
import torch
from mjlab.envs import ManagerBasedRlEnv
from mjlab.managers.termination_manager import TerminationTermCfg
from mjlab.rl import RslRlVecEnvWrapper
from mjlab.tasks.cartpole.cartpole_env_cfg import cartpole_balance_env_cfg

from adr_domain.host_syncs import count_host_syncs
from adr_lab.mjlab import adr_term
from adr_lab.mjlab.resume import mjlab_resume_args
from adr_lab.mjlab.runner import AdrOnPolicyRunner
from adr_lab.rsl_rl_hooks import IterationLogger, drop_flags
from adr_lab.tasks.cartpole import cartpole_adr_runner_cfg
from lab_helpers import STEP_DT, build, cartpole_cfg, run
from lab_resume_worker import scheduled_end

NUM_ENVS = 8
STEPS_PER_ITERATION = 4


def _scheduled(cfg: Any) -> ManagerBasedRlEnv:
    """``cfg`` with episodes ending on the step counter's schedule (the same resets in any env)."""
    cfg.scene.num_envs = NUM_ENVS
    cfg.seed = 3
    cfg.episode_length_s = 1000 * STEP_DT
    cfg.terminations["scheduled"] = TerminationTermCfg(func=scheduled_end)
    return build(cfg)


def _syncs_per_steps(env: ManagerBasedRlEnv, steps: int) -> int:
    env.reset()
    run(env, 3)  # past the first reset, which reads which envs played
    with count_host_syncs() as counter:
        run(env, steps)
    return counter.total


def test_adr_adds_no_host_sync_to_an_env_step() -> None:
    """With ADR (updates, field writes, noise, logs) a step reads the device no more often
    than the same Cartpole without ADR: what is left is mjlab's own reset bookkeeping."""
    with_adr = _scheduled(cartpole_cfg(NUM_ENVS, episode_steps=1000))
    updates_before = adr_term(with_adr).engine.step
    adr_syncs = _syncs_per_steps(with_adr, 12)
    stock_syncs = _syncs_per_steps(_scheduled(cartpole_balance_env_cfg()), 12)
    assert adr_term(with_adr).engine.step - updates_before >= 12, "ADR did not update every step"
    assert adr_syncs == stock_syncs


def _runner(objective: Any = None) -> AdrOnPolicyRunner:
    env = build(cartpole_cfg(NUM_ENVS, episode_steps=2, objective=objective))
    cfg = asdict(cartpole_adr_runner_cfg())
    cfg["num_steps_per_env"] = STEPS_PER_ITERATION
    return AdrOnPolicyRunner(RslRlVecEnvWrapper(env), cfg, log_dir=None, device="cpu")


def test_the_runner_checks_adr_inputs_once_per_iteration_never_per_update(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three iterations of several updates each: engine.check() ran three times."""
    runner = _runner()
    engine = adr_term(runner.env.unwrapped).engine
    calls: list[int] = []
    check = engine.check
    monkeypatch.setattr(engine, "check", lambda: (calls.append(engine.step), check())[1])
    updates_before = engine.step
    runner.learn(3)
    assert len(calls) == 3
    assert engine.step - updates_before >= 3 * STEPS_PER_ITERATION // 2


def test_a_bad_objective_value_is_raised_at_the_end_of_that_iteration_naming_it() -> None:
    """NaN scores during iteration 0 stop the run after that iteration's steps, by name."""
    calls: list[int] = []

    def goes_nan(env: object, ids: torch.Tensor) -> torch.Tensor:
        calls.append(ids.numel())
        return torch.full((ids.numel(),), math.nan if len(calls) > 2 else 1.0)

    runner = _runner(goes_nan)
    env = runner.env.unwrapped
    counter_before = env.common_step_counter
    with pytest.raises(ValueError, match=r"goes_nan.*non-finite value nan"):
        runner.learn(3)
    assert runner.current_learning_iteration == 0
    assert env.common_step_counter - counter_before == STEPS_PER_ITERATION


def test_the_iteration_logger_forwards_everything_and_steps_after_log() -> None:
    """Attributes read and written go to the wrapped logger; after_log sees (it, total_it)."""

    class Inner:
        writer = None

        def __init__(self) -> None:
            self.logged: list[int] = []

        def log(self, *, it: int, total_it: int, **kwargs: object) -> None:
            self.logged.append(it)

    inner, ends = Inner(), []
    proxy = IterationLogger(inner, lambda it, total: ends.append((it, total)))
    proxy.log(it=4, start_it=0, total_it=9, loss_dict={})
    proxy.writer = "w"
    assert inner.logged == [4] and ends == [(4, 9)] and inner.writer == "w" and proxy.writer == "w"


def test_the_resume_arguments_replace_the_resume_flags_of_any_spelling() -> None:
    """Given flags of either spelling are dropped with their values; the run resumes exactly."""
    args = ["Task", "--agent.max_iterations=50", "--agent.resume", "True", "--env.scene.num-envs"]
    args += ["8", "--log-root", "x", "--agent.load-checkpoint", "model_.*.pt"]
    saved = "/r/logs/exp/2026-01-01_00-00-00/model_7.pt"
    assert mjlab_resume_args(args, saved, 42) == [
        *("Task", "--env.scene.num-envs", "8", "--agent.resume", "True"),
        *("--agent.load-run", r"2026\-01\-01_00\-00\-00$"),
        *("--agent.load-checkpoint", r"model_7\.pt$", "--agent.max-iterations", "42"),
        *("--log-root", "/r/logs"),
    ]


def test_drop_flags_drops_a_flag_with_its_value_in_either_form_only() -> None:
    """A flag followed by another flag had no value; nothing else is dropped."""
    args = ["train", "--checkpoint", "a.pt", "--seed=5", "--max_iterations=3", "k=v"]
    args += ["--checkpoint", "--headless", "--max_iterations", "7", "--run_name", "r"]
    kept = drop_flags(args, ("--checkpoint", "--max_iterations"))
    assert kept == ["train", "--seed=5", "k=v", "--headless", "--run_name", "r"]
