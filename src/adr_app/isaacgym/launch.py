"""Isaac Gym tasks in ``adr-train``: checking one before anything is built, importing
Isaac Gym before torch, and building the task for rl_games.

A task that is not embedded is an Isaac Gym task: its yaml's ``entry_point:
"package.module:ClassName"`` (or IsaacGymEnvs' ``isaacgym_task_map``) names its
class (see :mod:`adr_app.isaacgym.env`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from adr_app.config.settings import AppSettings, plain_int
from adr_app.errors import UsageError
from adr_domain.errors import ConfigError

__all__ = [
    "EMBEDDED_TASKS",
    "check_isaacgym_task",
    "import_isaacgym_first",
    "isaacgym_env_factory",
    "isaacgym_first_argv",
    "isaacgym_task_class",
]

EMBEDDED_TASKS = ("Reorient",)
"""Tasks that ship with sim2real-adr (pure torch); every other task is an Isaac Gym task."""


def check_isaacgym_task(
    settings: AppSettings, task_cfg: dict[str, Any], rl_params: Mapping[str, Any]
) -> None:
    """An Isaac Gym task: its class resolves, an adapter task's config and the
    train config's observation inputs validate."""
    from adr_app.isaacgym.env import ObsSpec, isaacgym_task_config
    from adr_isaac.adr_task import ADRTaskMixin, TaskSettings

    where = f"task={settings.task_name}"
    if settings.multi_gpu:
        raise UsageError(
            f"{where}: multi_gpu=True trains only the embedded tasks "
            f"({', '.join(EMBEDDED_TASKS)}); train Isaac Gym tasks in one process"
        )
    task_cls = isaacgym_task_class(settings, task_cfg)
    env = task_cfg.get("env")
    num_envs = settings.num_envs or plain_int(env.get("numEnvs") if isinstance(env, dict) else None)
    if num_envs is None or num_envs <= 0:
        raise UsageError(f"{where}: env.numEnvs must be a positive int (or pass num_envs=N)")
    try:
        ObsSpec.from_train_params(rl_params)
    except ConfigError as exc:
        raise UsageError(f"train: {exc}") from None
    if issubclass(task_cls, ADRTaskMixin):
        try:
            cfg = isaacgym_task_config(task_cfg, num_envs=num_envs, seed=None)
            TaskSettings.from_config(cfg, settings.sim_device)
        except ConfigError as exc:
            raise UsageError(f"{where}: {exc}") from None


def isaacgym_task_class(settings: AppSettings, task_cfg: Mapping[str, Any]) -> type:
    """The Isaac Gym task's class (imported once; later calls hit the import cache)."""
    from adr_app.isaacgym.tasks import TaskClassError, resolve_task_class

    where = f"task={settings.task_name}"
    import_isaacgym_first(where)
    try:
        return resolve_task_class(settings.task_name, task_cfg)
    except TaskClassError as exc:
        raise UsageError(f"{where}: {exc}") from None


_ISAACGYM_FIRST_ENV = "ADR_TRAIN_ISAACGYM_FIRST"
"""Set in the environment of an ``adr-train`` restarted with Isaac Gym imported first."""
_ISAACGYM_FIRST_CODE = (
    "import sys\n"
    "try:\n"
    "    import isaacgym  # noqa: F401  (Isaac Gym refuses to load after torch)\n"
    "except Exception as exc:\n"
    "    print(f'adr-train: error: importing isaacgym failed: {exc}', file=sys.stderr)\n"
    "    sys.exit(2)\n"
    "from adr_app.cli.train import main\n"
    "main()\n"
)


def import_isaacgym_first(where: str) -> None:
    """Make sure Isaac Gym, when installed, was imported before torch.

    Isaac Gym raises ImportError once torch is imported, and this module
    imports torch, so a command-line ``adr-train`` restarts itself (same
    arguments, environment and directory) with ``import isaacgym`` first.
    Nothing happens without Isaac Gym or when it is already loaded.

    Raises:
        UsageError: Isaac Gym is installed but not loaded and this process
            is not a command-line ``adr-train`` (it cannot be restarted).
    """
    import importlib.util

    if "isaacgym" in sys.modules or importlib.util.find_spec("isaacgym") is None:
        return
    main_module = sys.modules.get("__main__")
    main_name = getattr(getattr(main_module, "__spec__", None), "name", None)
    argv = isaacgym_first_argv(sys.executable, sys.argv, main_name, os.environ)
    if argv is None:
        raise UsageError(
            f"{where}: Isaac Gym must be imported before torch: start `adr-train` from the "
            "command line, or `import isaacgym` first in your own launcher"
        )
    print("adr-train: restarting with Isaac Gym imported before torch", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, {**os.environ, _ISAACGYM_FIRST_ENV: "1"})


def isaacgym_first_argv(
    executable: str, argv: list[str], main_name: str | None, environ: Mapping[str, str]
) -> list[str] | None:
    """The command that restarts this ``adr-train`` with Isaac Gym imported first, or
    None when this process is not a command-line ``adr-train`` or was restarted already."""
    if environ.get(_ISAACGYM_FIRST_ENV):
        return None
    from_command_line = main_name == "adr_app.cli.train" or (
        bool(argv) and Path(argv[0]).name == "adr-train"
    )
    if not from_command_line:
        return None
    return [executable, "-c", _ISAACGYM_FIRST_CODE, *argv[1:]]


def isaacgym_env_factory(
    settings: AppSettings, task_cfg: Mapping[str, Any], rl_params: Mapping[str, Any], seed: int
) -> Callable[[int], Any]:
    """Builds the Isaac Gym task with ``num_envs`` envs, wrapped for rl_games."""
    from adr_app.isaacgym.env import (
        IsaacGymDevices,
        IsaacGymVecEnv,
        ObsSpec,
        isaacgym_task_config,
    )

    task_cls = isaacgym_task_class(settings, task_cfg)
    obs_spec = ObsSpec.from_train_params(rl_params)
    devices = IsaacGymDevices(
        rl_device=settings.rl_device,
        sim_device=settings.sim_device,
        graphics_device_id=settings.graphics_device_id,
        headless=settings.headless,
    )

    def build(num_envs: int) -> IsaacGymVecEnv:
        cfg = isaacgym_task_config(task_cfg, num_envs=num_envs, seed=seed, evaluate=settings.test)
        return IsaacGymVecEnv.from_task_class(task_cls, cfg, devices, obs_spec)

    return build
