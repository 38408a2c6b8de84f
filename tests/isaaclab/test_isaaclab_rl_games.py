"""Isaac-Cartpole-Adr's rl_games env (``rlgpu_adr``) carrying ADR through rl_games' checkpoints.

One env for the module: 8 envs of the registered task, wrapped and registered
as ``isaaclab train --rl_library rl_games`` does, with the task's rl_games
agent config (which names ``rlgpu_adr``); episodes of 1 step, so that every
step updates ADR.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from isaaclab.app import launch_simulation
from isaaclab.envs import ManagerBasedRLEnv
from isaaclab_rl.rl_games import RlGamesVecEnvWrapper, register_rl_games_env
from isaaclab_tasks.utils import resolve_task_config
from rl_games.common import env_configurations, vecenv
from rl_games.torch_runner import Runner

import adr_lab.isaaclab.tasks  # noqa: F401  (registers Isaac-Cartpole-Adr)
from adr_domain import ENGINE_STATE_KEY
from adr_infra import CorruptCheckpointError
from adr_lab.isaaclab import adr_term
from adr_lab.isaaclab.env_state import ADR_CHECKSUM_KEY, STEP_COUNTER_KEY
from adr_lab.isaaclab.rl_games import ADR_ENV_NAME, ISAACLAB_ENV_NAME, AdrRlGamesEnv
from adr_lab.isaaclab.tasks.cartpole import TASK_ID
from app_helpers import trees_equal
from isaaclab_env import play

NUM_ENVS = 8
Built = tuple[RlGamesVecEnvWrapper, dict[str, Any]]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    env_cfg, agent_cfg = resolve_task_config(
        TASK_ID, "rl_games_cfg_entry_point", overrides=("physics=newton_mjwarp",)
    )
    env_cfg.sim.device = "cpu"
    env_cfg.scene.num_envs = NUM_ENVS
    env_cfg.episode_length_s = 0.016  # 1 step
    agent_cfg["params"]["config"].update(
        num_actors=NUM_ENVS,
        horizon_length=4,
        minibatch_size=32,
        train_dir=str(tmp_path_factory.mktemp("rl_games")),
        full_experiment_name="run",
    )
    with launch_simulation(env_cfg, {"device": "cpu"}):
        env = ManagerBasedRLEnv(cfg=env_cfg)
        try:
            wrapped = RlGamesVecEnvWrapper.from_agent_cfg(env, agent_cfg)
            register_rl_games_env(wrapped)
            yield wrapped, agent_cfg
        finally:
            env.close()


@pytest.fixture
def adr_env(built: Built) -> AdrRlGamesEnv:
    """What rl_games' training agent builds for the agent config's env."""
    config = built[1]["params"]["config"]
    created: AdrRlGamesEnv = vecenv.create_vec_env(config["env_name"], NUM_ENVS)
    return created


def _env_state(env: AdrRlGamesEnv) -> dict[str, Any]:
    """The env's ADR state and step counter, as they are."""
    return {**env.adr.state_dict(), STEP_COUNTER_KEY: env.adr_env.common_step_counter}


def _unsigned(saved: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in saved.items() if k != ADR_CHECKSUM_KEY}


def test_the_agent_config_names_the_adr_env_and_rl_games_builds_it(
    built: Built, adr_env: AdrRlGamesEnv
) -> None:
    assert built[1]["params"]["config"]["env_name"] == ADR_ENV_NAME
    assert isinstance(adr_env, AdrRlGamesEnv)
    assert adr_env.env is built[0]
    assert adr_env.adr is adr_term(built[0].unwrapped)
    assert adr_env.get_env_info() == built[0].get_env_info()


def test_set_env_state_restores_the_saved_adr_state_and_step_counter(
    adr_env: AdrRlGamesEnv,
) -> None:
    play(adr_env.adr_env, 3)
    saved = adr_env.get_env_state()
    assert str(saved[ADR_CHECKSUM_KEY]).startswith("sha256:")
    assert trees_equal(_env_state(adr_env), _unsigned(saved)) == []
    play(adr_env.adr_env, 3)
    assert trees_equal(_env_state(adr_env), _unsigned(saved)) != []
    adr_env.set_env_state(saved)
    assert trees_equal(_env_state(adr_env), _unsigned(saved)) == []


def test_the_reset_after_a_restore_keeps_the_restored_adr_state(adr_env: AdrRlGamesEnv) -> None:
    """rl_games resets every env after restoring; a run that never stopped does not."""
    play(adr_env.adr_env, 2)
    saved = adr_env.get_env_state()
    adr_env.set_env_state(saved)
    adr_env.reset()
    assert trees_equal(_env_state(adr_env), _unsigned(saved)) == []
    adr_env.reset()  # any later reset is the env's own: it updates ADR
    after = adr_env.adr.state_dict()[ENGINE_STATE_KEY]["step"]
    assert after == saved[ENGINE_STATE_KEY]["step"] + 1


def test_a_damaged_adr_state_is_refused_and_nothing_changes(adr_env: AdrRlGamesEnv) -> None:
    play(adr_env.adr_env, 2)
    damaged = adr_env.get_env_state()
    damaged[ENGINE_STATE_KEY]["queue_lengths"][0] += 1
    unsigned = _unsigned(damaged)
    play(adr_env.adr_env, 2)
    before = _env_state(adr_env)
    for saved, why in ((damaged, "does not match its checksum"), (unsigned, "has no checksum")):
        with pytest.raises(CorruptCheckpointError, match=why):
            adr_env.set_env_state(saved)
    assert trees_equal(_env_state(adr_env), before) == []


def test_a_bad_objective_value_is_raised_at_the_next_epoch(adr_env: AdrRlGamesEnv) -> None:
    """The engine's deferred checks run at the start of every epoch (set_train_info)."""
    adr_env.set_train_info(0, None)
    assert adr_env.adr.core.check_every is None
    envs = torch.arange(2)
    adr_env.adr.core.record(envs, torch.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match="nan"):
        adr_env.set_train_info(0, None)


def _player(agent_cfg: dict[str, Any], env_name: str) -> Any:
    """An rl_games player of ``agent_cfg`` whose env is ``env_name`` (as ``isaaclab play``)."""
    cfg = {**agent_cfg, "params": {**agent_cfg["params"]}}
    cfg["params"]["config"] = {**agent_cfg["params"]["config"], "env_name": env_name}
    runner = Runner()
    runner.load(cfg)
    return runner.create_player()


def _agent(agent_cfg: dict[str, Any]) -> Any:
    """rl_games' training agent of ``agent_cfg`` (as ``isaaclab train`` builds it)."""
    runner = Runner()
    runner.load(agent_cfg)
    return runner.algo_factory.create(runner.algo_name, base_name="run", params=runner.params)


def _checkpoint(built: Built, path: Path) -> dict[str, Any]:
    """What rl_games' training agent saves at ``path`` (``.pth`` added) after 3 steps."""
    agent = _agent(built[1])
    play(built[0].unwrapped, 3)
    agent.save(str(path))
    saved: dict[str, Any] = torch.load(path.with_suffix(".pth"), weights_only=False)
    return saved


def test_rl_games_resume_refuses_a_damaged_adr_state_before_adr_changes(
    built: Built, tmp_path: Path
) -> None:
    saved = _checkpoint(built, tmp_path / "model")
    saved["env_state"][ENGINE_STATE_KEY]["queue_lengths"][0] += 1
    torch.save(saved, tmp_path / "damaged.pth")
    agent = _agent(built[1])
    play(built[0].unwrapped, 2)
    before = agent.vec_env.adr.state_dict()
    with pytest.raises(CorruptCheckpointError, match="does not match its checksum"):
        agent.restore(str(tmp_path / "damaged.pth"))
    assert trees_equal(agent.vec_env.adr.state_dict(), before) == []


def test_stock_and_adr_players_load_an_adr_training_checkpoint(
    built: Built, tmp_path: Path
) -> None:
    """The stock player (``rlgpu``) loads the policy; the ADR player also restores ADR."""
    term = adr_term(built[0].unwrapped)
    saved = _checkpoint(built, tmp_path / "model")
    play(built[0].unwrapped, 3)
    stock = _player(built[1], ISAACLAB_ENV_NAME)
    stock.restore(str(tmp_path / "model.pth"))
    assert trees_equal(stock.model.state_dict(), saved["model"]) == []
    saved_adr = {k: v for k, v in _unsigned(saved["env_state"]).items() if k != STEP_COUNTER_KEY}
    assert trees_equal(term.state_dict(), saved_adr) != []
    _player(built[1], ADR_ENV_NAME).restore(str(tmp_path / "model.pth"))
    assert trees_equal(term.state_dict(), saved_adr) == []


def test_an_env_without_adr_is_refused_naming_the_stock_env_name() -> None:
    bare = SimpleNamespace(unwrapped=SimpleNamespace())
    with pytest.raises(ValueError, match=r"has 0 \(none\).*env_name 'rlgpu'"):
        AdrRlGamesEnv(bare)


def test_the_adr_env_needs_the_env_isaac_lab_registers(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(env_configurations.configurations, ISAACLAB_ENV_NAME)
    with pytest.raises(LookupError, match="register_rl_games_env"):
        vecenv.create_vec_env(ADR_ENV_NAME, NUM_ENVS)
