"""The rl_games vecenv wrapper of the Reorient task: step contract, env state, registration."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from adr_app.tasks import OBS_DIM
from adr_app.tasks.vecenv import ReorientVecEnv, register_reorient
from adr_domain import StateError
from paths import CFG

TASK_YAML = CFG / "task" / "Reorient.yaml"
TRAIN_YAML = CFG / "train" / "ReorientPPO.yaml"


def fast_cfg() -> dict[str, Any]:
    """The shipped task config with short episodes and queues, so ADR moves quickly."""
    with TASK_YAML.open() as f:
        cfg: dict[str, Any] = yaml.safe_load(f)
    cfg["env"].update(episodeLength=12, maxStepsWithoutSuccess=6)
    cfg["task"]["adr"].update(
        adr_queue_threshold_length=2,
        adr_objective_threshold_low=-2,
        adr_objective_threshold_high=-1,
        worker_adr_boundary_fraction=1.0,
    )
    return cfg


def make_env(seed: int = 0, num_envs: int = 16) -> ReorientVecEnv:
    return ReorientVecEnv.from_config(fast_cfg(), num_envs=num_envs, seed=seed)


def play(env: ReorientVecEnv, steps: int) -> list[torch.Tensor]:
    """Step with actions drawn from the global torch RNG, as rl_games samples them."""
    out = []
    for _ in range(steps):
        actions = torch.randn(env.num_envs, 3).clamp(-1, 1)
        obs, rew, done, infos = env.step(actions)
        out.append(torch.cat([obs["obs"].flatten(), rew, done.float(), infos["time_outs"].float()]))
    return out


def test_step_returns_the_rl_games_tuple_with_time_outs_and_scalar_stats() -> None:
    """step gives obs dict, (N,) rewards and dones, infos with time_outs and 0-d statistics."""
    env = make_env(num_envs=8)
    obs, rewards, dones, infos = env.step(torch.zeros(8, 3))
    assert obs["obs"].shape == (8, OBS_DIM)
    assert rewards.shape == (8,)
    assert rewards.dtype == torch.float32
    assert dones.shape == (8,)
    assert infos["time_outs"].shape == (8,)
    assert infos["time_outs"].dtype == torch.bool
    assert infos["episode_successes"].shape == (8,)
    for key in (
        "consecutive_successes",
        "finished_consecutive_successes",
        "episodes_finished",
        "adr_npd",
        "adr_bounds_moved",
        "adr_rollout_perf",
        "adr_boundary_results",
        "action_moving_average",
    ):
        assert infos[key].dim() == 0, key  # type: ignore[literal-required]


def test_infos_report_finished_episodes_and_adr_moves() -> None:
    """Across a few episodes infos count finished episodes and moved ADR bounds."""
    env = make_env(num_envs=16)
    finished, moved = 0, 0
    for _ in range(40):
        _, _, dones, infos = env.step(torch.zeros(16, 3))
        finished += int(infos["episodes_finished"])
        moved += int(infos["adr_bounds_moved"])
        assert int(infos["episodes_finished"]) == int(dones.sum())
        done = dones.bool()
        if bool(done.any()):
            mean = infos["episode_successes"][done].mean()
            torch.testing.assert_close(infos["finished_consecutive_successes"], mean)
    assert finished > 0
    assert moved > 0
    assert float(env.get_env_info()["action_space"].high[0]) == 1.0


def test_infos_stay_finite_when_a_distributed_step_finishes_no_episode() -> None:
    """With an exchange the engine reports every step; no finished episode means a 0 mean."""

    class SoloExchange:
        rank, world_size, blocking = 0, 1, False

        def all_gather(self, tensor: torch.Tensor) -> torch.Tensor:
            return tensor.unsqueeze(0).clone()

    env = ReorientVecEnv.from_config(fast_cfg(), num_envs=4, seed=0, adr_exchange=SoloExchange())
    env.task.progress.fill_(-100)
    env.task.steps_without_success.fill_(-100)
    _, _, dones, infos = env.step(torch.zeros(4, 3))
    assert not bool(dones.any())
    assert float(infos["finished_consecutive_successes"]) == 0.0
    assert int(infos["episodes_finished"]) == 0


def test_env_info_describes_one_agent_with_box_spaces() -> None:
    """get_env_info has the spaces rl_games reads, one agent and one value."""
    env = make_env(num_envs=2)
    info = env.get_env_info()
    assert info["observation_space"].shape == (OBS_DIM,)
    assert info["action_space"].shape == (3,)
    assert info["agents"] == env.get_number_of_agents() == 1
    assert info["value_size"] == 1
    assert env.has_action_masks() is False


def test_restored_env_skips_its_first_reset_and_continues_bit_identically() -> None:
    """Env state saved via torch.save, global RNG included, resumes exactly on a fresh env."""
    torch.manual_seed(0)
    straight = make_env(seed=4)
    straight.reset()
    head = play(straight, 20)
    buffer = io.BytesIO()
    torch.save(straight.get_env_state(), buffer)
    last_obs = head[-1][: 16 * OBS_DIM].view(16, OBS_DIM)
    tail = play(straight, 20)
    rng_after_tail = torch.get_rng_state()

    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    torch.manual_seed(123)  # the resumed process starts elsewhere
    resumed = make_env(seed=77)
    resumed.set_env_state(state)
    assert resumed.keeps_next_reset
    assert torch.equal(resumed.reset()["obs"], last_obs)
    resumed_tail = play(resumed, 20)

    assert straight.task.adr.step > 0
    for x, y in zip(tail, resumed_tail, strict=True):
        assert torch.equal(x, y)
    assert torch.equal(straight.task.adr.bounds, resumed.task.adr.bounds)
    assert torch.equal(torch.get_rng_state(), rng_after_tail)


def test_second_reset_after_a_restore_restarts_the_envs() -> None:
    """Only the first reset after set_env_state is skipped; the next one restarts episodes."""
    env = make_env(seed=1)
    play(env, 5)
    env.set_env_state(env.get_env_state())
    kept = env.reset()["obs"]
    assert torch.equal(kept, env.task.observations())
    assert not env.keeps_next_reset
    restarted = env.reset()["obs"]
    assert not torch.equal(restarted, kept)


def test_set_env_state_none_is_a_no_op() -> None:
    """A checkpoint without env state (None) changes nothing and arms no skip."""
    env = make_env(seed=2)
    play(env, 3)
    before = env.task.state_dict()
    env.set_env_state(None)
    assert not env.keeps_next_reset
    assert torch.equal(env.task.state_dict()["task"]["obs"], before["task"]["obs"])


def test_env_state_carries_the_global_torch_rng_and_restores_it() -> None:
    """get_env_state saves torch's global RNG; set_env_state puts it back."""
    env = make_env()
    torch.manual_seed(5)
    state = env.get_env_state()
    expected = torch.rand(3)
    torch.manual_seed(6)
    env.set_env_state(state)
    assert torch.equal(torch.rand(3), expected)


def test_env_state_without_torch_rng_is_rejected_and_changes_nothing() -> None:
    """A state lacking torch_rng raises StateError; the env keeps its state."""
    env = make_env()
    play(env, 2)
    state = env.get_env_state()
    del state["torch_rng"]
    other = make_env(seed=9)
    before = other.task.state_dict()["task"]["rot"]
    with pytest.raises(StateError, match="torch_rng"):
        other.set_env_state(state)
    assert torch.equal(other.task.rot, before)
    assert not other.keeps_next_reset


def test_register_reorient_lets_rl_games_build_the_env_with_its_seed() -> None:
    """After registration rl_games' factories build seeded vecenvs of the requested size."""
    from rl_games.common import env_configurations, vecenv

    created: list[ReorientVecEnv] = []
    register_reorient(
        fast_cfg(), env_name="reorient_test", vecenv_type="REORIENT_TEST", on_create=created.append
    )
    env = vecenv.create_vec_env("reorient_test", 6, seed=3)
    assert isinstance(env, ReorientVecEnv)
    assert env.num_envs == 6
    twin = ReorientVecEnv.from_config(fast_cfg(), num_envs=6, seed=3)
    assert torch.equal(env.task.rot, twin.task.rot)
    player_env = env_configurations.configurations["reorient_test"]["env_creator"](num_envs=2)
    assert player_env.num_envs == 2
    assert created == [env, player_env]


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_rl_games_ppo_trains_on_the_env_and_saves_its_state(tmp_path: Path) -> None:
    """rl_games' Runner trains two epochs on the registered env and checkpoints its env state."""
    from rl_games.torch_runner import Runner

    register_reorient(fast_cfg(), env_name="reorient_smoke", vecenv_type="REORIENT_SMOKE")
    with TRAIN_YAML.open() as f:
        params = yaml.safe_load(f)["params"]
    params["config"].update(
        env_name="reorient_smoke",
        num_actors=32,
        horizon_length=8,
        minibatch_size=128,
        max_epochs=2,
        train_dir=str(tmp_path),
        print_stats=False,
    )
    runner = Runner()
    runner.load({"params": params})
    runner.reset()
    runner.run({"train": True, "play": False, "checkpoint": None, "sigma": None})
    [checkpoint] = sorted((tmp_path / "Reorient" / "nn").glob("last_*.pth"))
    saved = torch.load(checkpoint, weights_only=False)
    assert saved["env_state"]["task"]["frame"] == 2 * 8
    assert saved["env_state"]["task_name"] == "Reorient"
    assert "torch_rng" in saved["env_state"]
