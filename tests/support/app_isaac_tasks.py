"""An Isaac Gym task for ``adr-train``, without Isaac Gym, and how to run the app on it.

``AppCubeHandTask`` is ``ResumableCubeHandTask`` (the adapter's mixin on the
sim-free ``VecTaskDextreme`` stand-in) with observations and the spaces that
IsaacGymEnvs' ``Env`` base builds (the stand-in has none): only the simulator
base is faked. :func:`write_config_dir` writes an ``ADR_CONFIG_DIR`` holding
the app's ``config.yaml`` and an IsaacGymEnvs-style task yaml that names the
task through ``entry_point``; :func:`adr_train` runs the app in a subprocess
that can import this module (``tests/`` on ``PYTHONPATH``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import yaml
from gymnasium import spaces

import app_helpers
from isaac_tasks import ResumableCubeHandTask, task_config
from paths import CFG, SUPPORT

TASK_NAME = "FakeCubeHand"
ENTRY_POINT = "app_isaac_tasks:AppCubeHandTask"
NUM_ENVS = 32
HORIZON = 8


class EnvSpaces:
    """The spaces of IsaacGymEnvs' ``Env`` base (part of the faked simulator base)."""

    num_observations: int
    num_actions: int
    num_states: int

    @property
    def observation_space(self) -> spaces.Box:
        return spaces.Box(-np.inf, np.inf, (self.num_observations,))

    @property
    def action_space(self) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (self.num_actions,))

    @property
    def state_space(self) -> spaces.Box:
        return spaces.Box(-np.inf, np.inf, (self.num_states,))


class AppCubeHandTask(ResumableCubeHandTask, EnvSpaces):
    """The resumable DeXtreme-style task, observing progress, successes and its randomization."""

    def post_physics_step(self) -> None:
        super().post_physics_step()
        self.obs_buf[:, 0] = self.progress_buf.float() / self.max_episode_length
        self.obs_buf[:, 1] = self.successes / 10.0
        self.obs_buf[:, 2] = self.cube_random_params[:, 1]  # object mass, via the DR callback
        self.obs_buf[:, 3] = self.cur_targets.mean(-1)


class DictObservations:
    """The stand-in base with ``use_dict_obs=True``: named observations and a ``Dict`` space,
    as IsaacGymEnvs' ``EnvDextreme`` / ``VecTaskDextreme`` return them (faked simulator base)."""

    OBS_DIMS: ClassVar[dict[str, tuple[int, ...]]] = {
        "progress": (1,),
        "successes": (1,),
        "object_mass": (1,),
        "targets": (1,),
        "gravity": (3,),
    }
    gravity_vec: torch.Tensor

    @property
    def observation_space(self) -> spaces.Dict:
        return spaces.Dict({k: spaces.Box(-np.inf, np.inf, d) for k, d in self.OBS_DIMS.items()})

    def step(
        self, actions: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor, dict[str, Any]]:
        obs, rewards, resets, extras = super().step(actions)  # type: ignore[misc]
        return self._named(obs["obs"]), rewards, resets, extras

    def reset(self) -> dict[str, torch.Tensor]:
        return self._named(super().reset()["obs"])  # type: ignore[misc]

    def _named(self, obs: torch.Tensor) -> dict[str, torch.Tensor]:
        names = ("progress", "successes", "object_mass", "targets")
        named = {name: obs[:, i : i + 1].clone() for i, name in enumerate(names)}
        named["gravity"] = self.gravity_vec.clone()
        return named


class DictObsCubeHandTask(DictObservations, AppCubeHandTask):
    """``AppCubeHandTask`` with dict observations, as IsaacGymEnvs' DeXtreme tasks have."""


class NotATask:
    """A class without the VecTask API (no step, no reset)."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


def task_yaml(num_envs: int = NUM_ENVS) -> dict[str, Any]:
    """The task yaml: the DeXtreme ADR and DR blocks with IsaacGymEnvs' interpolations.

    ``numEnvs``, ``physics_engine`` and ``use_gpu_pipeline`` resolve against the
    app's ``config.yaml`` as in IsaacGymEnvs; there is no ``seed``: the app sets it.
    """
    cfg = task_config(num_envs=num_envs, queue_length=2)
    del cfg["seed"]
    cfg["env"]["numEnvs"] = f"${{resolve_default:{num_envs},${{...num_envs}}}}"
    cfg["physics_engine"] = "${..physics_engine}"
    cfg["sim"]["use_gpu_pipeline"] = '${eq:${...pipeline},"gpu"}'
    return {"name": TASK_NAME, "entry_point": ENTRY_POINT, **cfg}


def train_yaml() -> dict[str, Any]:
    """The shipped PPO config, small enough for a few quick epochs on one core."""
    with (CFG / "train" / "ReorientPPO.yaml").open() as f:
        train: dict[str, Any] = yaml.safe_load(f)
    params = train["params"]
    params["network"]["mlp"]["units"] = [32, 32]
    params["config"].update(
        name=TASK_NAME,
        full_experiment_name=TASK_NAME,
        num_actors=NUM_ENVS,
        horizon_length=HORIZON,
        minibatch_size=NUM_ENVS * HORIZON,
        mini_epochs=2,
        max_epochs=3,
        save_frequency=1,
        save_best_after=1,
    )
    return train


def dict_obs_yamls() -> tuple[dict[str, Any], dict[str, Any]]:
    """Task and train yamls for ``DictObsCubeHandTask`` with an asymmetric critic.

    The policy gets 4 named observations, the central value net 5 (DeXtreme's layout).
    """
    task = {**task_yaml(), "entry_point": "app_isaac_tasks:DictObsCubeHandTask"}
    train = train_yaml()
    params = train["params"]
    params["network"]["inputs"] = dict.fromkeys(("progress", "successes", "object_mass", "targets"))
    params["config"]["central_value_config"] = {
        "minibatch_size": NUM_ENVS * HORIZON,
        "mini_epochs": 2,
        "learning_rate": 5.0e-4,
        "clip_value": True,
        "normalize_input": True,
        "truncate_grads": True,
        "network": {
            "name": "actor_critic",
            "central_value": True,
            "inputs": dict.fromkeys(("gravity", "successes", "progress")),
            "mlp": dict(params["network"]["mlp"]),
        },
    }
    return task, train


def write_config_dir(
    root: Path, task: dict[str, Any] | None = None, train: dict[str, Any] | None = None
) -> Path:
    """An ``ADR_CONFIG_DIR`` with the app's config.yaml, the task yaml and its PPO yaml."""
    directory = root / "cfg"
    (directory / "task").mkdir(parents=True)
    (directory / "train").mkdir()
    shutil.copy(CFG / "config.yaml", directory / "config.yaml")
    with (directory / "task" / f"{TASK_NAME}.yaml").open("w") as f:
        yaml.safe_dump(task_yaml() if task is None else task, f, sort_keys=False)
    with (directory / "train" / f"{TASK_NAME}PPO.yaml").open("w") as f:
        yaml.safe_dump(train_yaml() if train is None else train, f, sort_keys=False)
    return directory


def adr_train(
    cwd: Path, config_dir: Path, *overrides: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m adr_app.cli.train task=FakeCubeHand ...`` in ``cwd`` with ``config_dir``."""
    path = os.pathsep.join(p for p in (str(SUPPORT), os.environ.get("PYTHONPATH")) if p)
    extra_env = {"ADR_CONFIG_DIR": str(config_dir), "PYTHONPATH": path}
    return app_helpers.adr_train(
        cwd, f"task={TASK_NAME}", *overrides, timeout=timeout, extra_env=extra_env
    )


def progress_epochs(stdout: str) -> list[str]:
    """The ``<epoch>/<max>`` of each progress line."""
    return [line.split()[1] for line in stdout.splitlines() if line.startswith("epoch ")]


def engine_step(env_state: dict[str, Any]) -> int:
    """The ADR engine's update counter in a checkpoint's env state."""
    step = env_state["adr"]["step"]
    return int(step.item()) if isinstance(step, torch.Tensor) else int(step)
