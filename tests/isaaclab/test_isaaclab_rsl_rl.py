"""``AdrPPO`` in rsl_rl's stock ``OnPolicyRunner`` on Isaac-Cartpole-Adr (Newton, CPU).

One env for the module: 8 envs of the registered task and its agent config
(which names ``AdrPPO``), episodes of 1 step so that every step updates ADR.
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
from isaaclab.utils import class_to_dict
from isaaclab_rl.rsl_rl import (
    RslRlVecEnvWrapper,
    check_rsl_rl_version,
    handle_deprecated_rsl_rl_cfg,
)
from isaaclab_tasks.utils import resolve_task_config
from rsl_rl.algorithms import PPO
from rsl_rl.runners import OnPolicyRunner

import adr_lab.isaaclab.tasks  # noqa: F401  (registers Isaac-Cartpole-Adr)
from adr_domain import ENGINE_STATE_KEY, WorkerType
from adr_infra import (
    ENV_STATE_KEY,
    Checkpoint,
    CorruptCheckpointError,
    IncompatibleCheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from adr_lab.isaaclab import adr_term
from adr_lab.isaaclab.env_state import only_adr_term
from adr_lab.isaaclab.rsl_rl import ADR_PPO, AdrPPO
from adr_lab.isaaclab.tasks.cartpole import TASK_ID
from app_helpers import trees_equal
from isaaclab_env import play

NUM_ENVS = 8


@pytest.fixture(scope="module")
def built() -> Iterator[tuple[RslRlVecEnvWrapper, dict[str, Any]]]:
    env_cfg, agent_cfg = resolve_task_config(
        TASK_ID, "rsl_rl_cfg_entry_point", overrides=("physics=newton_mjwarp",)
    )
    env_cfg.sim.device = "cpu"
    env_cfg.scene.num_envs = NUM_ENVS
    env_cfg.episode_length_s = 0.016  # 1 step
    agent_cfg.device = "cpu"
    agent_cfg.num_steps_per_env = 4
    agent_cfg.obs_groups = {"actor": ["policy"], "critic": ["policy"]}
    agent_cfg = handle_deprecated_rsl_rl_cfg(agent_cfg, check_rsl_rl_version())
    with launch_simulation(env_cfg, {"device": "cpu"}):
        env = ManagerBasedRLEnv(cfg=env_cfg)
        try:
            yield RslRlVecEnvWrapper(env), class_to_dict(agent_cfg)
        finally:
            env.close()


def _runner(built: tuple[RslRlVecEnvWrapper, dict[str, Any]], algorithm: str) -> OnPolicyRunner:
    env, cfg = built
    cfg = {**cfg, "algorithm": {**cfg["algorithm"], "class_name": algorithm}}
    return OnPolicyRunner(env, cfg, log_dir=None, device="cpu")


@pytest.fixture
def runner(built: tuple[RslRlVecEnvWrapper, dict[str, Any]]) -> OnPolicyRunner:
    return _runner(built, ADR_PPO)


def _adr_state(env: RslRlVecEnvWrapper) -> dict[str, Any]:
    return adr_term(env.unwrapped).state_dict()


def _env_state(env: RslRlVecEnvWrapper) -> dict[str, Any]:
    """What ``AdrPPO`` saves of the env: the ADR state and the step counter."""
    return {**_adr_state(env), "common_step_counter": env.unwrapped.common_step_counter}


def _saved(runner: OnPolicyRunner, path: Path, steps: int = 0) -> dict[str, Any]:
    """What ``runner`` saves at ``path`` after ``steps`` more env steps."""
    play(runner.env.unwrapped, steps)
    runner.save(str(path))
    saved: dict[str, Any] = torch.load(path, weights_only=False)
    return saved


def _resigned(saved: dict[str, Any], path: Path) -> None:
    """``saved`` (changed) written as a valid checkpoint, signed anew."""
    policy = {k: v for k, v in saved.items() if k not in (ENV_STATE_KEY, "adr_kit")}
    save_checkpoint(path, Checkpoint.create(policy, saved[ENV_STATE_KEY]))


def test_the_agent_config_names_adr_ppo_and_the_runner_builds_it(runner: OnPolicyRunner) -> None:
    assert isinstance(runner.alg, AdrPPO)
    assert runner.alg.adr is adr_term(runner.env.unwrapped)


def test_the_runner_writes_a_complete_checkpoint_atomically(
    runner: OnPolicyRunner, tmp_path: Path
) -> None:
    """A sim2real-adr checkpoint: the checksum of the whole file holds, nothing else is left."""
    _saved(runner, tmp_path / "model.pt", steps=2)
    checkpoint = load_checkpoint(tmp_path / "model.pt")
    assert checkpoint.epoch == runner.current_learning_iteration
    assert checkpoint.env_state is not None
    assert trees_equal(checkpoint.env_state, _env_state(runner.env)) == []
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_only_the_runner_building_adr_ppo_is_adopted(
    built: tuple[RslRlVecEnvWrapper, dict[str, Any]], runner: OnPolicyRunner, tmp_path: Path
) -> None:
    """rsl_rl's runner class is unchanged: a runner of the stock PPO saves as rsl_rl does."""
    stock = _runner(built, "PPO")
    stock.save(str(tmp_path / "stock.pt"))
    assert "adr_kit" not in torch.load(tmp_path / "stock.pt", weights_only=False)
    assert "save" not in vars(stock) and "save" in vars(runner)


def test_adr_ppo_outside_a_runner_is_refused(
    built: tuple[RslRlVecEnvWrapper, dict[str, Any]],
) -> None:
    env, cfg = built
    cfg = {**cfg, "algorithm": {**cfg["algorithm"], "class_name": ADR_PPO}}
    with pytest.raises(TypeError, match="built by rsl_rl's OnPolicyRunner"):
        AdrPPO.construct_algorithm(env.get_observations(), env, cfg, "cpu")


def test_load_restores_the_saved_adr_state_and_step_counter(
    runner: OnPolicyRunner, tmp_path: Path
) -> None:
    env = runner.env
    saved = _saved(runner, tmp_path / "model.pt", steps=3)
    assert trees_equal(_env_state(env), saved[ENV_STATE_KEY]) == []
    play(env.unwrapped, 3)
    assert trees_equal(_env_state(env), saved[ENV_STATE_KEY]) != []
    runner.load(str(tmp_path / "model.pt"))
    assert trees_equal(_env_state(env), saved[ENV_STATE_KEY]) == []


def test_a_damaged_adr_state_is_refused_and_nothing_changes(
    runner: OnPolicyRunner, tmp_path: Path
) -> None:
    env = runner.env
    saved = _saved(runner, tmp_path / "model.pt", steps=2)
    saved[ENV_STATE_KEY][ENGINE_STATE_KEY]["queue_lengths"][0] += 1
    torch.save(saved, tmp_path / "damaged.pt")
    del saved["adr_kit"]["checksum"]
    torch.save(saved, tmp_path / "unsigned.pt")
    play(env.unwrapped, 2)
    before = _adr_state(env)
    weights = {k: v.clone() for k, v in runner.alg.save()["actor_state_dict"].items()}
    for name in ("damaged", "unsigned"):
        with pytest.raises(CorruptCheckpointError, match=f"{name}.pt.*checksum"):
            runner.load(str(tmp_path / f"{name}.pt"))
    assert trees_equal(_adr_state(env), before) == []
    assert trees_equal(runner.alg.save()["actor_state_dict"], weights) == []


def test_a_state_of_another_parameter_set_is_refused_naming_it(
    runner: OnPolicyRunner, tmp_path: Path
) -> None:
    saved = _saved(runner, tmp_path / "model.pt")
    saved[ENV_STATE_KEY][ENGINE_STATE_KEY]["param_names"][0] = "pole_length"
    _resigned(saved, tmp_path / "foreign.pt")
    with pytest.raises(IncompatibleCheckpointError, match="pole_length|param"):
        runner.load(str(tmp_path / "foreign.pt"))


def test_adr_load_from_checkpoint_false_keeps_the_init_ranges(
    runner: OnPolicyRunner, tmp_path: Path
) -> None:
    env = runner.env
    saved = _saved(runner, tmp_path / "model.pt", steps=20)
    assert int(saved[ENV_STATE_KEY][ENGINE_STATE_KEY]["queue_lengths"].sum()) > 0
    engine = adr_term(env.unwrapped).engine
    config = engine.cfg
    engine.cfg = config.model_copy(update={"adr_load_from_checkpoint": False})
    try:
        runner.load(str(tmp_path / "model.pt"))
    finally:
        engine.cfg = config
    state = engine.state_dict()
    assert int(state["queue_lengths"].sum()) == 0
    assert bool(
        (state["worker_types"] == int(WorkerType.ROLLOUT)).all()
    )  # no boundary workers: their bounds are gone
    assert state["step"] == saved[ENV_STATE_KEY][ENGINE_STATE_KEY]["step"]


def test_the_stock_runner_and_ppo_load_the_file(
    built: tuple[RslRlVecEnvWrapper, dict[str, Any]], runner: OnPolicyRunner, tmp_path: Path
) -> None:
    saved = _saved(runner, tmp_path / "model.pt")
    stock = _runner(built, "PPO")
    assert type(stock.alg) is PPO
    stock.load(str(tmp_path / "model.pt"))
    assert trees_equal(stock.alg.save()["actor_state_dict"], saved["actor_state_dict"]) == []
    assert stock.current_learning_iteration == saved["iter"]


def test_adr_ppo_needs_exactly_one_adr_term(runner: OnPolicyRunner) -> None:
    term = adr_term(runner.env.unwrapped)
    bare = SimpleNamespace()
    with pytest.raises(ValueError, match=r"exactly one ADR curriculum term.*has 0 \(none\)"):
        only_adr_term(bare, "AdrPPO", "PPO")  # type: ignore[arg-type]
    cfgs = [SimpleNamespace(func=term), SimpleNamespace(func=term)]
    manager = SimpleNamespace(active_terms=["adr", "adr2"], _term_cfgs=cfgs)
    with pytest.raises(ValueError, match=r"has 2 \('adr', 'adr2'\).*one AdrSpec"):
        only_adr_term(SimpleNamespace(curriculum_manager=manager), "AdrPPO", "PPO")  # type: ignore[arg-type]


def _with_fewer_envs(env_state: dict[str, Any], count: int) -> dict[str, Any]:
    """``env_state`` as a run of the first ``count`` envs would have saved it."""
    engine = dict(env_state[ENGINE_STATE_KEY])
    engine["num_envs"] = count
    for key in ("worker_types", "adr_modes"):
        engine[key] = engine[key][:count].clone()
    engine["tensor_values"] = {k: v[:count].clone() for k, v in engine["tensor_values"].items()}
    return {**env_state, ENGINE_STATE_KEY: engine}


def test_another_number_of_envs_restores_the_shared_curriculum_with_a_warning(
    runner: OnPolicyRunner, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = runner.env
    saved = _saved(runner, tmp_path / "model.pt", steps=20)
    saved[ENV_STATE_KEY] = _with_fewer_envs(saved[ENV_STATE_KEY], NUM_ENVS // 2)
    _resigned(saved, tmp_path / "fewer.pt")
    play(env.unwrapped, 5)
    with caplog.at_level("WARNING", logger="adr_lab.rsl_rl_checkpoint"):
        runner.load(str(tmp_path / "fewer.pt"))
    assert f"saved with {NUM_ENVS // 2} envs, this env has {NUM_ENVS}" in caplog.text
    state, shared = (
        adr_term(env.unwrapped).engine.state_dict(),
        saved[ENV_STATE_KEY][ENGINE_STATE_KEY],
    )
    for key in ("bounds", "next_limits", "queue_values", "queue_lengths"):
        assert torch.equal(state[key], shared[key]), key
    assert state["num_envs"] == NUM_ENVS
