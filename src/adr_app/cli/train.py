"""``adr-train``: train, resume and play with ADR and rl_games PPO (Hydra).

    adr-train                                      # train the embedded task
    adr-train experiment=demo checkpoint=auto      # resume if there is a checkpoint
    adr-train experiment=demo checkpoint=best test=True   # play, print successes
    torchrun --nproc_per_node=2 -m adr_app.cli.train multi_gpu=True   # several processes
    adr-train task=AllegroHandDextremeADR sim_device=cuda:0 rl_device=cuda:0 pipeline=gpu

Config: ``cfg/config.yaml`` (app keys), ``cfg/task/<task>.yaml``,
``cfg/train/<task>PPO.yaml``. Exit status: 0 done; 1 the run failed (one line
naming the cause); 2 refused before any work (the command line, the config, the
checkpoint to resume, or another run owning the run directory); 75 stopped by
SIGTERM, SIGINT or SIGUSR1 after saving the epoch reached (the last line names
the file and the command that resumes the run).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from adr_app.errors import EXIT_FAILED, EXIT_USAGE, UsageError

if TYPE_CHECKING:
    from adr_app.config.plan import TrainPlan
    from adr_app.config.run_settings import Inherited
    from adr_app.runs.preemption import TrainingStopped
    from adr_infra.preemption import StopRequest

# torch, rl_games and the layers below (adr_infra included: it imports torch) are
# imported when first needed, so that a mistake on the command line is answered at
# once and a stop signal is caught from the first moment (:func:`main`).

__all__ = ["config_dir", "main", "run"]

log = logging.getLogger("adr_app.cli.train")  # also under `python -m`, where __name__ is __main__

PROG = "adr-train"


def config_dir() -> Path:
    """The config directory: ``$ADR_CONFIG_DIR``, else ``cfg/`` of the source checkout."""
    override = os.environ.get("ADR_CONFIG_DIR")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parents[3] / "cfg"


def one_line(text: str) -> str:
    """A possibly multi-line message (a list of problems) as one line."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        return f"{lines[0]} {'; '.join(lines[1:])}"
    return "; ".join(lines)


def fail(code: int, message: str) -> NoReturn:
    """Print ``adr-train: error: <message>`` as one line and exit with ``code``."""
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr)
    sys.exit(code)


def run(plan: TrainPlan, stop: StopRequest | None = None) -> int:
    """Train or play according to ``plan``; returns the exit code.

    Args:
        plan: the validated plan (``checkpoint=auto`` already settled).
        stop: the stop request the signal handlers fill (training).
    """
    from rl_games.torch_runner import Runner

    from adr_app.cli.train_eval import training_evaluator
    from adr_app.config.run_settings import settings_json
    from adr_app.rlgames.agent import ADRAgent
    from adr_app.rlgames.envs import env_factory, register_env, task_config_for
    from adr_app.rlgames.options import AgentOptions
    from adr_app.rlgames.player import ADRPlayer
    from adr_app.rlgames.progress import ProgressObserver
    from adr_app.runs.placement import Placement, seed_everything
    from adr_infra.preemption import EXIT_PREEMPTED

    s = plan.settings
    place = Placement.join(s.rl_device, s.multi_gpu, s.dist_timeout)
    if stop is not None and place.world_size > 1:
        stop.label = f"{PROG} rank {place.rank}"
    seed = place.shared_seed(s.seed)
    seed_everything(seed + place.rank, s.torch_deterministic)
    num_envs = plan.num_envs or 1
    rl_params = _rl_params(plan, place.device, seed + place.rank, num_envs)
    register_env(env_factory(plan, task_config_for(plan), place, seed), num_envs)
    options = AgentOptions(
        layout=plan.layout,
        checkpoint_suffix=s.checkpoint_suffix,
        keep_checkpoints=s.keep_checkpoints,
        rank=place.rank,
        local_rank=place.local_rank,
        world_size=place.world_size,
        stop=stop,
        settings=settings_json(plan.recorded),
        resume=plan.checkpoint,
        evaluate=training_evaluator(plan, seed=seed, device=place.device),
        eval_every=s.eval_every,
    )
    agents: list[ADRAgent] = []
    players: list[ADRPlayer] = []
    runner = Runner(ProgressObserver(rank=place.rank))
    runner.algo_factory.register_builder(
        "a2c_continuous", lambda **kw: _keep(agents, ADRAgent(options=options, **kw))
    )
    runner.player_factory.register_builder(
        "a2c_continuous", lambda **kw: _keep(players, ADRPlayer(options=options, **kw))
    )
    runner.load({"params": rl_params})
    if place.rank == 0:
        plan.layout.create()
        _log_start(plan, num_envs, place.world_size)
    checkpoint = str(plan.checkpoint.path) if plan.checkpoint else None
    runner.run({"train": not s.test, "play": s.test, "checkpoint": checkpoint, "sigma": None})
    if s.test and players:
        print(f"consecutive successes: {players[0].successes.summary()}")
    stopped = agents[0].stopped if agents else None
    if stopped is None or stop is None:
        return 0
    if place.rank == 0:
        print(_stopped_line(stop, stopped, place.world_size), file=sys.stderr)
    return EXIT_PREEMPTED


def _rl_params(plan: TrainPlan, device: str, seed: int, num_envs: int) -> dict[str, Any]:
    """The plan's rl_games ``params`` with this process's seed, device and env count."""
    rl_params = plan.rl_params | {"seed": seed}
    rl_params["config"] = rl_params["config"] | {
        "device": device,
        "device_name": device,
        "env_config": {"seed": seed},
        "num_actors": num_envs,
    }
    return rl_params


def _log_start(plan: TrainPlan, num_envs: int, world_size: int) -> None:
    """One line: what runs, how many envs and processes, where, from which checkpoint."""
    s = plan.settings
    log.info(
        "%s %s: %d envs%s, run directory %s%s",
        "playing" if s.test else "training",
        s.task_name,
        num_envs,
        f" x {world_size} processes" if world_size > 1 else "",
        plan.layout.experiment_dir,
        f", from {plan.checkpoint.path}" if plan.checkpoint else "",
    )


def _keep(into: list[Any], item: Any) -> Any:
    into.append(item)
    return item


def _stopped_line(stop: StopRequest, stopped: TrainingStopped, world_size: int) -> str:
    """The one line that tells what was saved and how to resume."""
    from adr_app.runs.preemption import resume_command

    saved = (
        f"saved {stopped.saved}"
        if stopped.saved
        else "no epoch finished in this run, nothing new saved"
    )
    # Nothing saved: a fresh run has no checkpoint to be `latest`; `auto` resumes or starts.
    selector = "latest" if stopped.saved else "auto"
    return (
        f"{PROG}: stopped by {stop.signal_name} after epoch {stopped.epoch}: {saved}; "
        f"resume with: {resume_command(sys.argv, world_size, selector=selector)}"
    )


def _stopped_early(stop: StopRequest) -> NoReturn:
    """A stop signal that came before training started: nothing saved; exit 75."""
    from adr_app.runs.preemption import resume_command
    from adr_infra.preemption import EXIT_PREEMPTED

    print(
        f"{PROG}: stopped by {stop.signal_name} before training started: nothing saved; "
        f"resume with: {resume_command(sys.argv, selector='auto')}",
        file=sys.stderr,
    )
    sys.exit(EXIT_PREEMPTED)


def _configure_logging(level: str) -> None:
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for name in ("adr_app", "adr_domain", "adr_infra", "adr_isaac"):
        logging.getLogger(name).setLevel(level)
    # Hydra's logging set-up disables the loggers that exist before it (this module's).
    for name, logger in logging.root.manager.loggerDict.items():
        if name.startswith("adr_") and isinstance(logger, logging.Logger):
            logger.disabled = False
    progress = logging.getLogger("adr_app.progress")
    if not progress.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        progress.addHandler(handler)
        progress.propagate = False


def _plan_from(cfg: Any) -> tuple[TrainPlan, Inherited | None]:
    """The plan of this command; a resume's with the settings of the run it continues."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from adr_app.cli.resume import continue_run
    from adr_app.config.plan import make_plan

    try:
        resolved = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as exc:
        raise UsageError(f"config: {exc}") from None
    if not isinstance(resolved, dict):
        raise UsageError("the config is not a mapping")
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    config, inherited = continue_run({str(k): v for k, v in resolved.items()}, overrides, sys.argv)
    return make_plan(config, inherited.content if inherited else None), inherited


def _start_run(plan: TrainPlan, inherited: Inherited | None) -> bool:
    """Rank 0 of a training run, its checkpoint settled: False when the run already
    finished (said in one line); else say what it resumes and record its settings."""
    from adr_app.runs.run_file import finished_line, write_run_file

    finished = finished_line(plan)
    if finished is not None:
        print(f"{PROG}: {finished}", file=sys.stderr)
        return False
    if inherited is not None and plan.checkpoint is not None:
        print(f"{PROG}: {inherited.line(plan.checkpoint.path)}", file=sys.stderr)
    write_run_file(plan)
    return True


def _hydra_entry(cfg: Any, signals: StopRequest) -> None:
    from adr_app.cli.train_eval import training_evaluator
    from adr_app.runs.placement import launch_rank
    from adr_app.runs.run_dir import RunLock, settle_checkpoint
    from adr_domain.errors import ConfigError, InputError, StateError
    from adr_infra import CheckpointError

    _configure_logging("INFO")  # discovery warnings while planning
    try:
        plan, inherited = _plan_from(cfg)
        training_evaluator(plan, seed=0, device="cpu")  # eval_sets checked before any work
    except UsageError as exc:
        fail(EXIT_USAGE, str(exc))
    _configure_logging(plan.settings.log_level)
    lock: RunLock | None = None
    stop: StopRequest | None = None if plan.settings.test else signals
    if stop is None:
        signals.uninstall()  # play: a signal ends it at once, as before
    if signals.requested:
        _stopped_early(signals)
    code, owner = 0, True
    try:
        if not plan.settings.test:
            owner = launch_rank(plan.settings.multi_gpu) == 0
            lock = RunLock.acquire(plan.layout) if owner else None
            plan = settle_checkpoint(plan, owner=owner)
        if plan.settings.test or not owner or _start_run(plan, inherited):
            code = run(plan, stop)
    except UsageError as exc:
        fail(EXIT_USAGE, str(exc))
    except StateError as exc:
        fail(EXIT_FAILED, f"{plan.checkpoint.path}: {exc}" if plan.checkpoint else str(exc))
    except (CheckpointError, ConfigError, InputError, OSError) as exc:
        fail(EXIT_FAILED, str(exc))
    except RuntimeError as exc:
        _report_runtime_error(exc, plan)
    except KeyboardInterrupt:
        fail(130, "interrupted")
    finally:
        if stop is not None:
            # A signal during the exit (TensorBoard's flush, say) must not replace
            # the exit status: the run is over, nothing remains to stop.
            stop.ignore_from_now()
        if lock is not None:
            lock.release()
    if code:
        sys.exit(code)


def _report_runtime_error(exc: RuntimeError, plan: TrainPlan) -> NoReturn:
    """In multi-process runs a RuntimeError is a broken process group; else a bug (re-raised)."""
    from adr_infra.distributed import ExchangeError

    if not plan.settings.multi_gpu:
        raise exc
    if not isinstance(exc, ExchangeError) and "torchrun" in str(exc):
        fail(EXIT_USAGE, str(exc))  # not launched by torchrun
    # A collective failed: a peer died or the group broke.
    fail(
        EXIT_FAILED,
        f"the processes of the run lost each other ({exc}); resume from the latest "
        "checkpoint with checkpoint=latest",
    )


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


def _note_stop_signals() -> list[int]:
    """Handle the stop signals with the standard library alone; returns the list they go to."""
    import signal

    noted: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
        signal.signal(sig, lambda signum, frame: noted.append(signum))
    return noted


def main() -> None:
    """Console entry point (``adr-train`` and ``python -m adr_app.cli.train``)."""
    # First thing: a signal while torch, Hydra and rl_games load must still stop the
    # run with a line and exit 75, not kill it silently. Until StopRequest (which
    # comes with torch) is loaded, plain handlers note the signals.
    early = _note_stop_signals()
    from adr_infra.preemption import StopRequest

    signals = StopRequest(PROG).install()
    for signum in early:
        signals.receive(signum)
    import hydra

    from adr_app.cli.hydra_checks import check_command_line, hydra_flags_present

    _register_resolvers()
    directory = config_dir()
    if not (directory / "config.yaml").is_file():
        fail(EXIT_USAGE, f"no config.yaml in {directory} (set ADR_CONFIG_DIR)")
    if not hydra_flags_present(sys.argv[1:]):
        try:
            check_command_line(directory, sys.argv[1:])
        except UsageError as exc:
            fail(EXIT_USAGE, str(exc))

    def task(cfg: Any) -> None:
        _hydra_entry(cfg, signals)

    entry = hydra.main(version_base=None, config_path=str(directory), config_name="config")(task)
    try:
        entry()
    except SystemExit as exc:
        _leave_failed_process_group(exc)
        raise


def _leave_failed_process_group(exc: SystemExit) -> None:
    """A rank of a stopped or failed distributed run exits with its status, not gloo's abort."""
    import torch.distributed as dist

    if exc.code in (0, None) or not (dist.is_available() and dist.is_initialized()):
        return
    from adr_infra.distributed import exit_without_teardown

    exit_without_teardown(exc.code if isinstance(exc.code, int) else 1)


if __name__ == "__main__":
    main()
