"""The run plan of ``adr-train``: the resolved config validated before anything is built.

Everything that can be wrong with a command line is found here, before envs,
model or process group exist: settings, the task and train configs, devices,
absurd sizes, rl_games' batch rules and the checkpoint to resume (its format
by suffix, its existence, ``latest``/``best``/``reward_best`` by experiment).
``checkpoint=auto`` is resolved later, under the run directory's lock
(:mod:`adr_app.runs.run_dir`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import attrs
import torch

from adr_app.config.run_settings import recordable
from adr_app.config.settings import AppSettings, SettingsError, plain_int
from adr_app.config.sizes import check_device, check_sizes
from adr_app.errors import UsageError
from adr_app.isaacgym.launch import EMBEDDED_TASKS, check_isaacgym_task
from adr_infra import SELECTORS, Checkpoint, CheckpointError, ChosenCheckpoint, RunLayout

__all__ = ["ENV_NAME", "TrainPlan", "make_plan", "rl_games_params"]

ENV_NAME = "adr_env"
"""The name under which ``adr-train`` registers its env with rl_games."""


@attrs.frozen
class TrainPlan:
    """Everything a run needs, validated.

    Attributes:
        settings: the app keys.
        task_cfg: the task config (plain dict).
        rl_params: rl_games ``params`` with the app's overrides applied.
        layout: the run directory.
        checkpoint: the checkpoint to resume (for a selector, with the content
            read while choosing it), or None (a fresh run, or ``checkpoint=auto``
            before :func:`adr_app.runs.run_dir.settle_checkpoint`).
        recorded: the run's settings, as ``run.yaml`` and its checkpoints record them
            (:mod:`adr_app.config.run_settings`).
    """

    settings: AppSettings
    task_cfg: dict[str, Any]
    rl_params: dict[str, Any]
    layout: RunLayout
    checkpoint: ChosenCheckpoint | None
    recorded: dict[str, Any] = attrs.field(factory=dict)

    @property
    def num_envs(self) -> int | None:
        """Envs per process: ``num_envs``, else the task's ``env.numEnvs``."""
        env = self.task_cfg.get("env")
        default = plain_int(env.get("numEnvs")) if isinstance(env, dict) else None
        return self.settings.num_envs or default


def make_plan(cfg: Mapping[str, Any], known: Checkpoint | None = None) -> TrainPlan:
    """Validate a resolved config and derive the run plan.

    ``known``: the checkpoint file ``cfg["checkpoint"]`` names, when it was decoded
    already (for the settings it records): not decoded again.

    A task that is not embedded is an Isaac Gym task: its class is imported
    here. Isaac Gym must be imported before torch, so when it is installed but
    not loaded, ``adr-train`` restarts itself with ``import isaacgym`` first.

    Raises:
        UsageError: anything wrong with the settings, the task or train
            config, the devices, the sizes, or the checkpoint to resume.
    """
    from adr_domain.config import to_plain

    try:
        settings = AppSettings.from_config(cfg)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    task_cfg = to_plain(cfg.get("task") or {})
    train_cfg = to_plain(cfg.get("train") or {})
    if not isinstance(task_cfg, dict) or not task_cfg:
        raise UsageError("task: no task config (choose one with task=<name>)")
    if not isinstance(train_cfg, dict) or not isinstance(train_cfg.get("params"), dict):
        raise UsageError("train: the train config needs a 'params' block (rl_games)")
    _check_combinations(settings)
    _check_eval_task(settings)
    check_device("rl_device", settings.rl_device)
    check_device("sim_device", settings.sim_device)
    if settings.task_name in EMBEDDED_TASKS:
        _check_task(settings, task_cfg)
    else:
        check_isaacgym_task(settings, task_cfg, train_cfg["params"])
    try:
        layout = RunLayout(experiment=settings.experiment_name, train_dir=settings.train_dir)
    except ValueError as exc:
        raise UsageError(f"experiment={settings.experiment_name}: {exc}") from None
    rl_params = rl_games_params(settings, train_cfg["params"])
    checkpoint = _checkpoint(settings, layout, known)
    plan = TrainPlan(settings, task_cfg, rl_params, layout, checkpoint, recordable(cfg))
    if not settings.test:
        _check_batch(rl_params["config"], plan.num_envs)
    adr = task_cfg.get("task", {}).get("adr") if isinstance(task_cfg.get("task"), dict) else None
    horizon = plain_int(rl_params["config"].get("horizon_length"))
    check_sizes(plan.num_envs, horizon, adr if isinstance(adr, dict) else None, settings.rl_device)
    return plan


def _check_combinations(settings: AppSettings) -> None:
    if settings.multi_gpu and settings.test:
        raise UsageError("test=True plays in one process; drop multi_gpu=True")
    if settings.start_over and settings.checkpoint:
        raise UsageError(
            f"start_over=True starts a fresh run; drop checkpoint={settings.checkpoint}"
        )
    if settings.start_over and settings.test:
        raise UsageError("start_over=True is for training; drop it with test=True")
    if settings.test and settings.checkpoint in ("", "auto"):
        raise UsageError(
            "test=True needs a checkpoint to play (checkpoint=best, latest, reward_best or a path)"
        )


def _check_eval_task(settings: AppSettings) -> None:
    """Evaluation during training plays the embedded task only (refused before any import)."""
    if settings.eval_every and settings.task_name not in EMBEDDED_TASKS:
        raise UsageError(
            f"eval_every={settings.eval_every}: evaluation during training plays the embedded "
            f"tasks only ({', '.join(EMBEDDED_TASKS)}), not task={settings.task_name}; "
            "drop eval_every"
        )


def _checkpoint(
    settings: AppSettings, layout: RunLayout, known: Checkpoint | None
) -> ChosenCheckpoint | None:
    """The checkpoint to resume: a selector found now, a path checked now (``known``: its
    content, decoded already), auto later."""
    which = settings.checkpoint
    if which in ("", "auto"):
        return None
    try:
        chosen = layout.choose(which)
    except CheckpointError as exc:
        raise UsageError(f"checkpoint={which}: {exc}") from None
    if which in SELECTORS:
        return chosen
    if known is not None:
        chosen = ChosenCheckpoint(chosen.path, known)
    return _read_rl_games_file(which, chosen)


def _read_rl_games_file(which: str, chosen: ChosenCheckpoint) -> ChosenCheckpoint:
    """A checkpoint given by path, read once (its content kept for the restore), once it
    has proven to be one rl_games can restore (an rsl_rl one is not).

    A file that cannot be read is left to the restore, which names what is wrong.
    """
    try:
        content = chosen.read()
    except CheckpointError:
        return chosen
    weights = content.to_rl_games()
    if "model" not in weights and "model_state_dict" in weights:
        raise UsageError(
            f"checkpoint={which}: {chosen.path} is an rsl_rl (mjlab) checkpoint "
            "(model_state_dict, iter), not an rl_games one; adr-train resumes its own runs' "
            "checkpoints (runs/<experiment>/nn/), an mjlab run resumes with its own trainer"
        )
    return ChosenCheckpoint(chosen.path, content)


def _check_batch(config: Mapping[str, Any], num_envs: int | None) -> None:
    """rl_games' PPO batch rules, checked before anything is built.

    Without ``minibatch_size`` the minibatch follows the batch:
    ``num_envs x minibatch_size_per_env`` (rl_games' own rule).
    """
    horizon = plain_int(config.get("horizon_length"))
    minibatch = config.get("minibatch_size")
    if minibatch is None:
        per_env = plain_int(config.get("minibatch_size_per_env"))
        if per_env is None or per_env <= 0:
            raise UsageError(
                "train.params.config: set minibatch_size, or minibatch_size_per_env for a "
                "minibatch that follows num_envs (got minibatch_size_per_env="
                f"{config.get('minibatch_size_per_env')!r})"
            )
        if horizon is not None and horizon % per_env:
            raise UsageError(
                f"train.params.config.minibatch_size_per_env={per_env} must divide "
                f"horizon_length={horizon}"
            )
        return
    if num_envs is None or horizon is None or plain_int(minibatch) is None:
        return
    batch = num_envs * horizon
    if minibatch <= 0 or batch % minibatch:
        raise UsageError(
            f"train.params.config.minibatch_size={minibatch} must divide the batch "
            f"num_envs x horizon_length = {num_envs} x {horizon} = {batch}; choose "
            f"e.g. minibatch_size={_largest_divisor_up_to(batch, max(minibatch, 1))}, or "
            "leave it unset (null) to follow the batch"
        )


def _largest_divisor_up_to(n: int, limit: int) -> int:
    return max(d for d in range(1, min(n, limit) + 1) if n % d == 0)


def _check_task(settings: AppSettings, task_cfg: dict[str, Any]) -> None:
    from adr_app.tasks.config import ReorientConfig

    try:
        ReorientConfig.from_mapping(task_cfg)
    except ValueError as exc:
        raise UsageError(f"task={settings.task_name}: {exc}") from None


def rl_games_params(settings: AppSettings, params: Mapping[str, Any]) -> dict[str, Any]:
    """rl_games ``params`` with the app's settings applied."""
    rl = copy.deepcopy(dict(params))
    config = dict(rl.get("config") or {})
    if config.get("minibatch_size") is None:
        config.pop("minibatch_size", None)  # rl_games: num_actors x minibatch_size_per_env
    experiment = settings.experiment_name
    config.update(
        name=experiment,
        full_experiment_name=experiment,
        train_dir=settings.train_dir,
        env_name=ENV_NAME,
        device=settings.rl_device,
        device_name=settings.rl_device,
        # rl_games' own multi_gpu set-up hardcodes NCCL/CUDA and re-seeds per
        # rank; the agent joins the app's process group itself (adr_app.rlgames.agent).
        multi_gpu=False,
        print_stats=False,  # the progress observer prints one line per epoch
    )
    if torch.device(settings.rl_device).type == "cpu":
        config["torch_compile"] = False
    if settings.max_iterations is not None:
        config["max_epochs"] = settings.max_iterations
    player = dict(config.get("player") or {})
    player.update(use_vecenv=True, games_num=settings.test_games, deterministic=True)
    player.setdefault("print_stats", False)
    config["player"] = player
    rl["config"] = config
    rl.setdefault("torch_threads", 1)
    return rl
