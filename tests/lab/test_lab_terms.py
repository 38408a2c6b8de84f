"""The ADR terms in a real mjlab env: log keys, built-in objectives, terms that read ADR values."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import torch
from mjlab.envs import ManagerBasedRlEnv
from mjlab.managers.termination_manager import TerminationTermCfg

from adr_domain import adr_log_keys
from adr_lab import EpisodeLength, RewardSum, Survived
from adr_lab.mjlab import adr_engine, adr_term
from lab_helpers import STEP_DT, build, cartpole_cfg, run, small_adr


@attrs.define
class Recording:
    """Wraps an objective and keeps every ``(env_ids, scores)`` it returned."""

    inner: Any
    calls: list[tuple[torch.Tensor, torch.Tensor]] = attrs.field(factory=list)

    def __call__(self, env: ManagerBasedRlEnv, env_ids: torch.Tensor) -> torch.Tensor:
        scores = self.inner(env, env_ids)
        self.calls.append((env_ids.clone(), scores.clone()))
        return scores


def _episode_returns(env: ManagerBasedRlEnv, steps: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Step with zero actions; per finished episode batch, ``(env ids, summed step rewards)``."""
    action = torch.zeros(env.num_envs, 1)
    running = torch.zeros(env.num_envs)
    done_batches = []
    for _ in range(steps):
        _, reward, terminated, truncated, _ = env.step(action)
        running += reward
        done = (terminated | truncated).nonzero().flatten()
        if done.numel():
            done_batches.append((done, running[done].clone()))
            running[done] = 0.0
    return done_batches


def test_adr_keys_reach_extras_log_with_the_engines_current_values() -> None:
    """After a reset, extras['log'] has every adr/... key, equal to the engine's ranges and NPD."""
    env = build(cartpole_cfg(4))
    env.reset()
    extras = run(env, 4)[-1]
    engine = adr_engine(env)
    log = extras["log"]
    assert set(adr_log_keys(engine.param_names)) <= set(log)
    for n, name in enumerate(engine.param_names):
        assert float(log[f"adr/params/{name}/lower"]) == float(engine.bounds[n, 0])
        assert float(log[f"adr/params/{name}/upper"]) == float(engine.bounds[n, 1])
    assert float(log["adr/npd"]) == pytest.approx(float(engine.npd()))


@pytest.mark.parametrize("per_second", [False, True])
def test_reward_sum_scores_an_episode_with_the_sum_of_its_step_rewards(per_second: bool) -> None:
    """RewardSum equals the rewards env.step returned over the episode (per second: over 4 x dt)."""
    env = build(
        cartpole_cfg(
            3, objective=Recording(RewardSum("smooth_reward", per_second)), episode_steps=4
        )
    )
    env.reset()
    objective = adr_term(env).objective  # the env's own (deep-copied) recording
    assert isinstance(objective, Recording)
    objective.calls.clear()
    batches = _episode_returns(env, 8)
    scored = [c for c in objective.calls if c[0].numel()]
    assert len(scored) == len(batches) == 2
    for (ids, scores), (done, returns) in zip(scored, batches, strict=True):
        assert torch.equal(ids, done)
        expect = returns / (4 * STEP_DT) if per_second else returns
        torch.testing.assert_close(scores, expect)


def test_survived_and_episode_length_score_failures_and_time_outs() -> None:
    """An early failure scores 0 survived and 2/4 of the length; a time-out 1 and 4/4."""
    cfg = cartpole_cfg(4, episode_steps=4)

    def even_envs_fail_at_two(env: ManagerBasedRlEnv) -> torch.Tensor:
        return (env.episode_length_buf >= 2) & (torch.arange(env.num_envs) % 2 == 0)

    cfg.terminations["fell"] = TerminationTermCfg(func=even_envs_fail_at_two)
    survived, length = Recording(Survived()), Recording(EpisodeLength())
    named = Recording(Survived(("fell",)))

    def both(env: ManagerBasedRlEnv, ids: torch.Tensor) -> torch.Tensor:
        return survived(env, ids) + length(env, ids) + named(env, ids)

    env = build(attrs_objective(cfg, both))
    env.reset()
    for recording in (survived, length, named):
        recording.calls.clear()
    run(env, 4)
    ids = torch.cat([c[0] for c in survived.calls])
    even = ids % 2 == 0
    got_survived = torch.cat([c[1] for c in survived.calls])
    got_named = torch.cat([c[1] for c in named.calls])
    got_length = torch.cat([c[1] for c in length.calls])
    assert set(ids.tolist()) == {0, 1, 2, 3}
    assert torch.equal(got_survived, (~even).float())
    assert torch.equal(got_named, (~even).float())
    torch.testing.assert_close(got_length, torch.where(even, 0.5, 1.0))


def attrs_objective(cfg: Any, objective: Any) -> Any:
    """``cfg`` with its ADR spec's objective replaced."""
    spec = cfg.curriculum["adr"].params["spec"]
    new = attrs.evolve(spec, objective=objective)
    for term in (
        cfg.curriculum["adr"],
        cfg.events["adr_model_fields"],
        cfg.events["adr_step_sync"],
    ):
        term.params["spec"] = new
    return cfg


def test_action_noise_is_each_envs_adr_std_times_a_draw_from_the_checkpointed_stream() -> None:
    """The effort term adds std_env x N(0, 1) from the ADR noise generator to the raw action."""
    adr = small_adr()
    adr["params"]["action_noise"] = {"init_range": [0.0, 0.4], "limits": [0.0, 0.5], "delta": 0.05}
    env = build(cartpole_cfg(6, adr=adr))
    env.reset()
    term = adr_term(env)
    replay = torch.Generator().manual_seed(0)
    replay.set_state(term.core.noise.get_state())
    action = torch.full((6, 1), 0.25)
    env.step(action)
    std = term.engine.get("action_noise").unsqueeze(-1)
    expect = action + std * torch.randn((6, 1), generator=replay)
    torch.testing.assert_close(env.action_manager.get_term("effort").raw_action, expect)
    assert (std > 0).any()


def test_observation_noise_is_each_envs_adr_std_times_draws_on_the_actor_only() -> None:
    """actor - critic observations are std_env x N(0, 1) draws, term by term, from ADR's stream."""
    adr = small_adr()
    noise = {"init_range": [0.0, 0.1], "limits": [0.0, 0.2], "delta": 0.02}
    adr["params"]["observation_noise"] = noise
    env = build(cartpole_cfg(6, adr=adr))
    term = adr_term(env)
    replay = torch.Generator().manual_seed(0)
    replay.set_state(term.core.noise.get_state())
    obs, _ = env.reset()
    std = term.engine.get("observation_noise").unsqueeze(-1)
    widths = (1, 2, 1, 1)  # cart_pos, pole_angle (cos, sin), cart_vel, pole_vel
    draws = torch.cat([torch.randn((6, w), generator=replay) for w in widths], dim=1)
    torch.testing.assert_close(obs["actor"] - obs["critic"], std * draws)
    assert (std > 0).all()
