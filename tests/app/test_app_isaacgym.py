"""adr-train on an Isaac Gym task (the adapter on the sim-free simulator base), in subprocesses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from adr_app.cli.plot import read_adr_scalars
from adr_app.isaacgym.env import IsaacGymVecEnv, ObsSpec, isaacgym_task_config
from adr_app.isaacgym.launch import isaacgym_first_argv
from adr_domain.errors import ConfigError
from adr_infra import load_checkpoint
from app_helpers import checkpoints, epoch_of
from app_isaac_tasks import (
    NUM_ENVS,
    AppCubeHandTask,
    DictObsCubeHandTask,
    adr_train,
    dict_obs_yamls,
    engine_step,
    progress_epochs,
    write_config_dir,
)
from isaac_tasks import assert_same, run, task_config

DEXTREME_PARAMS = 27


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ADR_CONFIG_DIR whose FakeCubeHand task yaml names AppCubeHandTask by entry_point."""
    return write_config_dir(tmp_path_factory.mktemp("isaac_cfg"))


@pytest.fixture(scope="module")
def trained(config_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-epoch run of experiment 'fake': its runs/fake directory."""
    cwd = tmp_path_factory.mktemp("isaac_trained")
    result = adr_train(cwd, config_dir, "experiment=fake")
    assert result.returncode == 0, result.stderr[-3000:]
    assert progress_epochs(result.stdout) == ["1/3", "2/3", "3/3"]
    lines = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert all("ADR npd" in line and "/27 params widened" in line for line in lines)
    return cwd / "runs" / "fake"


@pytest.mark.slow
def test_an_isaac_gym_task_trains_and_checkpoints_the_adapters_hierarchical_state(
    trained: Path,
) -> None:
    """Checkpoints hold every level of the adapter's env state; ADR ranges reach TensorBoard."""
    last = max((p for p in checkpoints(trained) if "_ep_" in p.name), key=epoch_of)
    assert epoch_of(last) == 3
    checkpoint = load_checkpoint(last)
    state = checkpoint.env_state
    assert state is not None
    assert {"adr", "adr_params", "domain_randomization"} <= set(state)  # ADR level
    assert {"act_moving_average", "progress_buf", "dynamics_rng"} <= set(state)  # task levels
    assert checkpoint.engine_state is not None
    assert len(checkpoint.engine_state["param_names"]) == DEXTREME_PARAMS
    assert checkpoint.engine_state["num_envs"] == NUM_ENVS
    assert engine_step(state) > 0
    params, npd = read_adr_scalars(trained / "summaries")
    assert len(params) == DEXTREME_PARAMS
    assert npd


@pytest.mark.slow
def test_checkpoint_latest_resumes_the_isaac_gym_task_with_its_adr_state(
    trained: Path, tmp_path: Path, config_dir: Path
) -> None:
    """A resumed run continues the epochs and the ADR update count, and rewrites the sim."""
    shutil.copytree(trained, tmp_path / "runs" / "fake")
    stop = load_checkpoint(max(checkpoints(tmp_path / "runs" / "fake"), key=_epoch_or_zero))
    assert stop.env_state is not None

    result = adr_train(
        tmp_path, config_dir, "experiment=fake", "checkpoint=latest", "max_iterations=5"
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert progress_epochs(result.stdout) == ["4/5", "5/5"]
    assert "wrote the restored physical properties of 32 envs back to the simulator" in (
        result.stderr
    )
    after = load_checkpoint(
        next(p for p in checkpoints(tmp_path / "runs" / "fake") if "_ep_4_" in p.name)
    )
    assert after.env_state is not None
    # One epoch from a fresh engine makes fewer updates than the three before the stop.
    assert engine_step(after.env_state) > engine_step(stop.env_state)


def _epoch_or_zero(path: Path) -> int:
    return epoch_of(path) if "_ep_" in path.name else 0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("~task.entry_point", "the task yaml has no 'entry_point' and IsaacGymEnvs is not"),
        ("task.entry_point=no_such_module:Task", "no module named 'no_such_module'"),
        ("task.entry_point=app_isaac_tasks:NotATask", "NotATask is not an Isaac Gym task"),
        ("task.entry_point=app_isaac_tasks:task_yaml", "is a function, not a class"),
        ("task.entry_point=app_isaac_allegro:AllegroHandADR", "needs Isaac Gym"),
        ("multi_gpu=True", "multi_gpu=True trains only the embedded tasks"),
    ],
)
def test_a_bad_isaac_gym_task_config_fails_before_any_work_with_exit_code_2(
    config_dir: Path, tmp_path: Path, override: str, message: str
) -> None:
    """Missing or bad entry points, missing Isaac Gym and multi_gpu exit 2 with one clear line."""
    result = adr_train(tmp_path, config_dir, override, timeout=120)
    assert result.returncode == 2, (result.stdout[-2000:], result.stderr[-2000:])
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_dict_observations_train_with_an_asymmetric_critic_as_the_train_config_names_them(
    tmp_path: Path,
) -> None:
    """network.inputs make the policy's 4 observations, the central value net's inputs its 5."""
    config = write_config_dir(tmp_path, *dict_obs_yamls())

    result = adr_train(tmp_path, config, "experiment=dict", "max_iterations=2")

    assert result.returncode == 0, result.stderr[-3000:]
    assert progress_epochs(result.stdout) == ["1/2", "2/2"]
    best = load_checkpoint(tmp_path / "runs" / "dict" / "nn" / "dict.pth")
    assert best.policy["model"]["running_mean_std.running_mean"].shape == (4,)
    critic = best.policy["assymetric_vf_nets"]
    assert critic["model.running_mean_std.running_mean"].shape == (5,)
    assert best.engine_state is not None


def test_dict_observations_are_concatenated_in_the_order_the_inputs_name_them() -> None:
    """obs and states are the named observations side by side, with matching spaces."""
    task = DictObsCubeHandTask(task_config(num_envs=8))
    spec = ObsSpec.from_train_params(dict_obs_yamls()[1]["params"])
    assert spec == ObsSpec(
        obs=("progress", "successes", "object_mass", "targets"),
        states=("gravity", "successes", "progress"),
    )
    env = IsaacGymVecEnv(task, spec)

    obs, _, _, _ = env.step(torch.zeros((8, 16)))

    info = env.get_env_info()
    assert info["observation_space"].shape == (4,) and info["state_space"].shape == (5,)
    named = task._named(task.obs_buf)
    assert torch.equal(obs["obs"], torch.cat([named[k] for k in spec.obs], dim=1))
    assert torch.equal(obs["states"][:, :3], task.gravity_vec)
    assert torch.equal(obs["states"][:, 3:], torch.cat([named["successes"], named["progress"]], 1))


def test_dict_observations_need_network_inputs_the_task_has() -> None:
    """No inputs, unknown names and complex_net networks are config errors naming the fix."""
    task = DictObsCubeHandTask(task_config(num_envs=4))
    with pytest.raises(ConfigError, match=r"train.params.network.inputs"):
        IsaacGymVecEnv(task)
    with pytest.raises(ConfigError, match=r"does not have: joint_pos \(it has: gravity"):
        IsaacGymVecEnv(task, ObsSpec(obs=("progress", "joint_pos")))
    with pytest.raises(ConfigError, match=r"complex_net"):
        ObsSpec.from_train_params({"network": {"name": "complex_net", "inputs": {"a": None}}})
    assert ObsSpec.from_train_params({"network": {"name": "actor_critic"}}) is None


def test_the_vecenv_passes_the_adapter_state_through_and_exposes_its_engine() -> None:
    """get/set_env_state reach the task's hierarchical state; adr_engine is the task's engine."""
    task = AppCubeHandTask(task_config(num_envs=8))
    run(task, 12)
    source = IsaacGymVecEnv(task)
    fresh = AppCubeHandTask(task_config(num_envs=8))
    target = IsaacGymVecEnv(fresh)

    target.set_env_state(source.get_env_state())

    assert target.adr_engine is fresh.adr_engine
    assert_same(target.get_env_state(), source.get_env_state())
    info = target.get_env_info()
    assert info["observation_space"].shape == (4,)
    assert info["action_space"].shape == (16,)
    assert "state_space" not in info
    obs, rewards, dones, extras = target.step(torch.zeros((8, 16)))
    assert obs["obs"].shape == (8, 4) and rewards.shape == dones.shape == (8,)
    assert "time_outs" in extras


def test_a_task_without_adr_exposes_no_engine() -> None:
    """With task.adr.use_adr false the vecenv's adr_engine is None (no ADR scalars logged)."""
    cfg = task_config(num_envs=4)
    cfg["task"]["adr"]["use_adr"] = False
    assert IsaacGymVecEnv(AppCubeHandTask(cfg)).adr_engine is None


def test_the_task_config_gets_the_apps_env_count_and_seed_without_the_entry_point() -> None:
    """numEnvs and seed are the app's, entry_point is dropped, evaluation freezes ADR ranges."""
    cfg = {"entry_point": "m:C", "env": {"numEnvs": 4096}, "task": {"adr": {"use_adr": True}}}
    built = isaacgym_task_config(cfg, num_envs=64, seed=3, evaluate=True)
    assert built == {
        "env": {"numEnvs": 64},
        "seed": 3,
        "task": {"adr": {"use_adr": True, "update_adr_ranges": False}},
    }
    assert cfg["env"]["numEnvs"] == 4096 and "seed" not in cfg  # the input is unchanged


def test_adr_train_restarts_itself_with_isaac_gym_first_only_once_and_only_from_the_cli() -> None:
    """The restart command keeps the overrides; a restarted or non-CLI process gets none."""
    argv = ["/venv/bin/adr-train", "task=AllegroHandDextremeADR", "num_envs=8"]
    command = isaacgym_first_argv("/venv/bin/python", argv, None, {})
    assert command is not None
    assert command[:2] == ["/venv/bin/python", "-c"]
    assert command[2].index("import isaacgym") < command[2].index("from adr_app.cli.train")
    assert command[3:] == argv[1:]
    module_argv = ["/src/adr_app/train.py", "task=X"]
    assert isaacgym_first_argv("py", module_argv, "adr_app.cli.train", {}) is not None
    assert isaacgym_first_argv("py", argv, None, {"ADR_TRAIN_ISAACGYM_FIRST": "1"}) is None
    assert isaacgym_first_argv("py", ["/venv/bin/pytest"], "pytest", {}) is None
