"""``adr-train``: train, resume and play with ADR and rl_games PPO (Hydra).

    adr-train                                      # train the embedded task
    adr-train experiment=demo checkpoint=latest    # resume by experiment name
    adr-train experiment=demo checkpoint=best test=True   # play, print successes
    torchrun --nproc_per_node=2 -m adr_app.train multi_gpu=True   # several processes
    adr-train task=AllegroHandDextremeADR sim_device=cuda:0 rl_device=cuda:0 pipeline=gpu

Config: ``cfg/config.yaml`` (app keys), ``cfg/task/<task>.yaml``,
``cfg/train/<task>PPO.yaml``. A task that is not embedded is an Isaac Gym
task: its yaml's ``entry_point: "package.module:ClassName"`` (or IsaacGymEnvs'
``isaacgym_task_map``) names its class (see :mod:`adr_app.isaacgym_env`).
Problems with the command line or config are reported before any work starts
(exit code 2); a failed run exits with 1.
"""

from __future__ import annotations

import copy
import logging
import os
import random
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import torch

from adr_app.settings import AppSettings, SettingsError
from adr_domain.errors import ConfigError, StateError
from adr_infra import CheckpointError, RunLayout

__all__ = ["TrainPlan", "config_dir", "main", "make_plan", "run"]

log = logging.getLogger(__name__)

ENV_NAME = "adr_env"
VECENV_TYPE = "ADR_VECENV"
EMBEDDED_TASKS = ("Reorient",)


def config_dir() -> Path:
    """The config directory: ``$ADR_CONFIG_DIR``, else ``cfg/`` of the source checkout."""
    override = os.environ.get("ADR_CONFIG_DIR")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parents[2] / "cfg"


@attrs.frozen
class TrainPlan:
    """Everything a run needs, validated.

    Attributes:
        settings: the app keys.
        task_cfg: the task config (plain dict).
        rl_params: rl_games ``params`` with the app's overrides applied.
        layout: the run directory.
        checkpoint: resolved checkpoint path, or None.
    """

    settings: AppSettings
    task_cfg: dict[str, Any]
    rl_params: dict[str, Any]
    layout: RunLayout
    checkpoint: Path | None


class UsageError(ValueError):
    """A problem with the command line or config (exit code 2)."""


def make_plan(cfg: Mapping[str, Any]) -> TrainPlan:
    """Validate a resolved config and derive the run plan.

    A task that is not embedded is an Isaac Gym task: its class is imported
    here. Isaac Gym must be imported before torch, so when it is installed but
    not loaded, ``adr-train`` restarts itself with ``import isaacgym`` first.

    Raises:
        UsageError: anything wrong with the settings, the task or train
            config, or the checkpoint to resume.
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
    if settings.multi_gpu and settings.test:
        raise UsageError("test=True plays in one process; drop multi_gpu=True")
    if settings.task_name in EMBEDDED_TASKS:
        _check_task(settings, task_cfg)
    else:
        _check_isaacgym_task(settings, task_cfg, train_cfg["params"])

    try:
        layout = RunLayout(experiment=settings.experiment_name, train_dir=settings.train_dir)
    except ValueError as exc:
        raise UsageError(f"experiment={settings.experiment_name}: {exc}") from None
    checkpoint: Path | None = None
    if settings.checkpoint:
        try:
            checkpoint = layout.resolve(settings.checkpoint)
        except CheckpointError as exc:
            raise UsageError(f"checkpoint={settings.checkpoint}: {exc}") from None
    elif settings.test:
        raise UsageError("test=True needs a checkpoint to play (checkpoint=best, latest or a path)")
    rl_params = _rl_games_params(settings, train_cfg["params"])
    num_envs = settings.num_envs or _int_or_none(task_cfg.get("env", {}).get("numEnvs"))
    if not settings.test:
        _check_batch(rl_params["config"], num_envs)
    return TrainPlan(settings, task_cfg, rl_params, layout, checkpoint)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _check_batch(config: Mapping[str, Any], num_envs: int | None) -> None:
    """rl_games' PPO batch rules, checked before anything is built."""
    horizon = config.get("horizon_length")
    minibatch = config.get("minibatch_size")
    if num_envs is None or not isinstance(horizon, int) or not isinstance(minibatch, int):
        return
    batch = num_envs * horizon
    if minibatch <= 0 or batch % minibatch:
        raise UsageError(
            f"train.params.config.minibatch_size={minibatch} must divide the batch "
            f"num_envs x horizon_length = {num_envs} x {horizon} = {batch}; choose "
            f"e.g. minibatch_size={_largest_divisor_up_to(batch, max(minibatch, 1))}"
        )


def _largest_divisor_up_to(n: int, limit: int) -> int:
    return max(d for d in range(1, min(n, limit) + 1) if n % d == 0)


def _check_task(settings: AppSettings, task_cfg: dict[str, Any]) -> None:
    from adr_app.tasks.config import ReorientConfig

    try:
        ReorientConfig.from_mapping(task_cfg)
    except ValueError as exc:
        raise UsageError(f"task={settings.task_name}: {exc}") from None


def _check_isaacgym_task(
    settings: AppSettings, task_cfg: dict[str, Any], rl_params: Mapping[str, Any]
) -> None:
    """An Isaac Gym task: its class resolves, an adapter task's config and the
    train config's observation inputs validate."""
    from adr_app.isaacgym_env import ObsSpec, isaacgym_task_config
    from adr_isaac.adr_task import ADRTaskMixin, TaskSettings

    where = f"task={settings.task_name}"
    if settings.multi_gpu:
        raise UsageError(
            f"{where}: multi_gpu=True trains only the embedded tasks "
            f"({', '.join(EMBEDDED_TASKS)}); train Isaac Gym tasks in one process"
        )
    task_cls = _isaacgym_task_class(settings, task_cfg)
    env = task_cfg.get("env")
    num_envs = settings.num_envs or _int_or_none(
        env.get("numEnvs") if isinstance(env, dict) else None
    )
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


def _isaacgym_task_class(settings: AppSettings, task_cfg: Mapping[str, Any]) -> type:
    """The Isaac Gym task's class (imported once; later calls hit the import cache)."""
    from adr_app.isaacgym_env import TaskClassError, resolve_task_class

    where = f"task={settings.task_name}"
    _import_isaacgym_first(where)
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
    "from adr_app.train import main\n"
    "main()\n"
)


def _import_isaacgym_first(where: str) -> None:
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
    argv = _isaacgym_first_argv(sys.executable, sys.argv, main_name, os.environ)
    if argv is None:
        raise UsageError(
            f"{where}: Isaac Gym must be imported before torch: start `adr-train` from the "
            "command line, or `import isaacgym` first in your own launcher"
        )
    print("adr-train: restarting with Isaac Gym imported before torch", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, {**os.environ, _ISAACGYM_FIRST_ENV: "1"})


def _isaacgym_first_argv(
    executable: str, argv: list[str], main_name: str | None, environ: Mapping[str, str]
) -> list[str] | None:
    """The command that restarts this ``adr-train`` with Isaac Gym imported first, or
    None when this process is not a command-line ``adr-train`` or was restarted already."""
    if environ.get(_ISAACGYM_FIRST_ENV):
        return None
    from_command_line = main_name == "adr_app.train" or (
        bool(argv) and Path(argv[0]).name == "adr-train"
    )
    if not from_command_line:
        return None
    return [executable, "-c", _ISAACGYM_FIRST_CODE, *argv[1:]]


def _isaacgym_env_factory(
    settings: AppSettings, task_cfg: Mapping[str, Any], rl_params: Mapping[str, Any], seed: int
) -> Callable[[int], Any]:
    """Builds the Isaac Gym task with ``num_envs`` envs, wrapped for rl_games."""
    from adr_app.isaacgym_env import (
        IsaacGymDevices,
        IsaacGymVecEnv,
        ObsSpec,
        isaacgym_task_config,
    )

    task_cls = _isaacgym_task_class(settings, task_cfg)
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


def _rl_games_params(settings: AppSettings, params: Mapping[str, Any]) -> dict[str, Any]:
    """rl_games ``params`` with the app's settings applied."""
    rl = copy.deepcopy(dict(params))
    config = dict(rl.get("config") or {})
    experiment = settings.experiment_name
    config.update(
        name=experiment,
        full_experiment_name=experiment,
        train_dir=settings.train_dir,
        env_name=ENV_NAME,
        device=settings.rl_device,
        device_name=settings.rl_device,
        # rl_games' own multi_gpu set-up hardcodes NCCL/CUDA and re-seeds per
        # rank; the agent joins the app's process group itself (rlgames.ADRAgent).
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


def _seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % (2**32))
    except ImportError:  # pragma: no cover - numpy ships with rl_games
        pass
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def _shared_seed(seed: int, world_size: int, device: str) -> int:
    """The run's seed (random for -1), the same on every rank."""
    if seed >= 0:
        return seed
    drawn = torch.tensor([int.from_bytes(os.urandom(4), "little")], dtype=torch.long, device=device)
    if world_size > 1:
        import torch.distributed as dist

        dist.broadcast(drawn, 0)
    return int(drawn.item())


def run(plan: TrainPlan) -> int:
    """Train or play according to ``plan``; returns the exit code."""
    from rl_games.common import env_configurations, vecenv
    from rl_games.torch_runner import Runner

    from adr_app.rlgames import (
        ADRAgent,
        ADRPlayer,
        AgentOptions,
        DistributedEnvState,
        ProgressObserver,
    )
    from adr_app.vecenv import ReorientVecEnv

    s = plan.settings
    rank, local_rank, world_size = 0, 0, 1
    exchange = None
    device = s.rl_device
    if s.multi_gpu:
        from adr_infra.distributed import TorchDistributedExchange, init_process_group

        on_gpu = torch.device(s.rl_device).type == "cuda"
        rank, local_rank, world_size = init_process_group(
            backend="nccl" if on_gpu else "gloo", timeout_s=s.dist_timeout
        )
        if on_gpu:
            # One GPU per process, as rl_games' own multi_gpu set-up does.
            device = f"cuda:{local_rank}"
            torch.cuda.set_device(local_rank)
        exchange = TorchDistributedExchange()
        _explain_launcher_stops(rank)
    seed = _shared_seed(s.seed, world_size, device)
    _seed_everything(seed + rank, s.torch_deterministic)

    embedded = s.task_name in EMBEDDED_TASKS
    task_cfg = copy.deepcopy(plan.task_cfg)
    if s.test and embedded:
        # Evaluate at the checkpoint's ranges: finished envs become rollout workers.
        task_cfg.setdefault("task", {}).setdefault("adr", {})["update_adr_ranges"] = False
    num_envs = s.num_envs
    rl_params = copy.deepcopy(plan.rl_params)
    rl_params["config"]["device"] = rl_params["config"]["device_name"] = device
    rl_params["seed"] = seed + rank
    rl_params["config"]["env_config"] = {"seed": seed + rank}
    if num_envs is not None:
        rl_params["config"]["num_actors"] = num_envs
    else:
        num_envs = int(task_cfg["env"]["numEnvs"])
        rl_params["config"]["num_actors"] = num_envs

    # Isaac Gym tasks: one process, seeded from the run's seed, played at fixed ranges.
    isaacgym_env = None if embedded else _isaacgym_env_factory(s, task_cfg, plan.rl_params, seed)

    def create(num_actors: int, **kwargs: Any) -> Any:
        if isaacgym_env is not None:
            return isaacgym_env(num_actors)
        env = ReorientVecEnv.from_config(
            task_cfg,
            num_envs=num_actors,
            device=device,
            seed=int(kwargs.get("seed", seed + rank)),
            adr_seed=seed,
            adr_exchange=exchange,
        )
        return DistributedEnvState(env, rank, world_size, shared_adr_only=s.resume_shared_adr_only)

    vecenv.register(VECENV_TYPE, lambda config_name, num_actors, **kw: create(num_actors, **kw))
    env_configurations.register(
        ENV_NAME,
        {"vecenv_type": VECENV_TYPE, "env_creator": lambda **kw: create(num_envs, **kw)},
    )

    options = AgentOptions(
        layout=plan.layout,
        checkpoint_suffix=s.checkpoint_suffix,
        keep_checkpoints=s.keep_checkpoints,
        rank=rank,
        local_rank=local_rank,
        world_size=world_size,
    )
    observer = ProgressObserver(rank=rank)
    runner = Runner(observer)
    runner.algo_factory.register_builder(
        "a2c_continuous", lambda **kw: ADRAgent(options=options, **kw)
    )
    players: list[ADRPlayer] = []

    def make_player(**kw: Any) -> ADRPlayer:
        player = ADRPlayer(options=options, **kw)
        players.append(player)
        return player

    runner.player_factory.register_builder("a2c_continuous", make_player)
    runner.load({"params": rl_params})
    if rank == 0:
        plan.layout.create()
        what = "playing" if s.test else "training"
        log.info(
            "%s %s: %d envs%s, run directory %s%s",
            what,
            s.task_name,
            num_envs,
            f" x {world_size} processes" if world_size > 1 else "",
            plan.layout.experiment_dir,
            f", from {plan.checkpoint}" if plan.checkpoint else "",
        )
    checkpoint = str(plan.checkpoint) if plan.checkpoint else None
    runner.run({"train": not s.test, "play": s.test, "checkpoint": checkpoint, "sigma": None})
    if s.test and players:
        print(f"consecutive successes: {players[0].successes.summary()}")
    return 0


def _explain_launcher_stops(rank: int) -> None:
    """torchrun stops every rank with SIGTERM when one of them fails: say so."""
    import signal

    def stopped(signum: int, frame: Any) -> None:
        print(
            f"adr-train: rank {rank} stopped by the launcher (signal {signum}), most likely "
            "because another process of the run failed; resume the run from its latest "
            "checkpoint with checkpoint=latest",
            file=sys.stderr,
        )
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stopped)


def _configure_logging(level: str) -> None:
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for name in ("adr_app", "adr_domain", "adr_infra", "adr_isaac"):
        logging.getLogger(name).setLevel(level)
    progress = logging.getLogger("adr_app.progress")
    if not progress.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        progress.addHandler(handler)
        progress.propagate = False


def _hydra_entry(cfg: Any) -> None:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        try:
            resolved = OmegaConf.to_container(cfg, resolve=True)
        except OmegaConfBaseException as exc:
            raise UsageError(f"config: {exc}".replace("\n", " ")) from None
        if not isinstance(resolved, dict):
            raise UsageError("the config is not a mapping")
        plan = make_plan({str(k): v for k, v in resolved.items()})
    except UsageError as exc:
        print(f"adr-train: error: {exc}", file=sys.stderr)
        sys.exit(2)
    _configure_logging(plan.settings.log_level)
    try:
        code = run(plan)
    except (CheckpointError, StateError, ConfigError) as exc:
        print(f"adr-train: error: {exc}", file=sys.stderr)
        sys.exit(1)
    except OSError as exc:
        print(f"adr-train: error: {exc}", file=sys.stderr)
        sys.exit(1)
    except RuntimeError as exc:
        from adr_infra.distributed import ExchangeError

        if not plan.settings.multi_gpu:
            raise
        if not isinstance(exc, ExchangeError) and "torchrun" in str(exc):
            print(f"adr-train: error: {exc}", file=sys.stderr)  # not launched by torchrun
            sys.exit(2)
        # A collective failed: a peer died or the group broke.
        print(
            f"adr-train: error: the processes of the run lost each other ({exc}); "
            "resume from the latest checkpoint with checkpoint=latest",
            file=sys.stderr,
        )
        sys.exit(1)
    except KeyboardInterrupt:
        print("adr-train: interrupted", file=sys.stderr)
        sys.exit(130)
    if code:
        sys.exit(code)


def _register_resolvers() -> None:
    """The OmegaConf resolvers IsaacGymEnvs' task configs use."""
    from omegaconf import OmegaConf

    resolvers: dict[str, Callable[..., Any]] = {
        "eq": lambda x, y: str(x).lower() == str(y).lower(),
        "contains": lambda x, y: str(x).lower() in str(y).lower(),
        "if": lambda pred, a, b: a if pred else b,
        "resolve_default": lambda default, arg: default if arg in ("", None) else arg,
    }
    for name, fn in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


def main() -> None:
    """Console entry point (``adr-train`` and ``python -m adr_app.train``)."""
    import hydra

    _register_resolvers()
    directory = config_dir()
    if not (directory / "config.yaml").is_file():
        print(
            f"adr-train: error: no config.yaml in {directory} (set ADR_CONFIG_DIR)",
            file=sys.stderr,
        )
        sys.exit(2)
    entry = hydra.main(version_base=None, config_path=str(directory), config_name="config")(
        _hydra_entry
    )
    try:
        entry()
    except SystemExit as exc:
        _leave_failed_process_group(exc)
        raise


def _leave_failed_process_group(exc: SystemExit) -> None:
    """A rank of a failed distributed run exits with its status, not gloo's abort."""
    import torch.distributed as dist

    if exc.code in (0, None) or not (dist.is_available() and dist.is_initialized()):
        return
    from adr_infra.distributed import exit_without_teardown

    exit_without_teardown(exc.code if isinstance(exc.code, int) else 1)


if __name__ == "__main__":
    main()
