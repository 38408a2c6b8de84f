"""rl_games wiring: an agent and a player that checkpoint through our stores,
a progress/TensorBoard observer, and multi-process support on CPU.

rl_games 1.6.5 facts this module relies on (see ``shared/RL_GAMES_NOTES.md``):
only rank 0 saves, and it saves ``vec_env.get_env_state()``; ``restore`` runs
before ``train()``, which then resets ``last_mean_rewards`` and episode
accumulators and calls ``env.reset()``; ``multi_gpu`` hardcodes NCCL and CUDA.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import torch
import torch.distributed as dist
from rl_games.algos_torch import a2c_continuous, players
from rl_games.common.algo_observer import AlgoObserver

from adr_domain import (
    ENGINE_STATE_KEY,
    ADREngine,
    adr_log_values,
    merge_engine_state,
    split_engine_state,
)
from adr_domain.errors import StateError
from adr_infra import (
    Checkpoint,
    RunLayout,
    load_checkpoint,
    restore_engine,
    save_checkpoint,
    tree_differences,
)

__all__ = [
    "ADRAgent",
    "ADRPlayer",
    "AgentOptions",
    "DistributedEnvState",
    "ProgressObserver",
    "SuccessStats",
]

log = logging.getLogger(__name__)
progress = logging.getLogger("adr_app.progress")

AGENT_STATE_KEY = "adr_agent"
"""Checkpoint entry with the agent state rl_games does not save itself."""
AGENT_RANKS_KEY = "adr_agent_ranks"
"""Checkpoint entry with the agent states of ranks 1 .. W-1 of a multi-process run."""


@attrs.frozen
class AgentOptions:
    """What the agent and player need beyond rl_games' config.

    Attributes:
        layout: the run directory.
        checkpoint_suffix: ``.pth`` or ``.h5`` for new checkpoints.
        keep_checkpoints: keep the last K periodic checkpoints (0: all).
        rank, local_rank, world_size: position in a multi-process run.
    """

    layout: RunLayout
    checkpoint_suffix: str = ".pth"
    keep_checkpoints: int = 0
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1


def adr_engine_of(env: object) -> ADREngine | None:
    """The ADR engine behind a vecenv, if it exposes one (``adr_engine``)."""
    engine = getattr(env, "adr_engine", None)
    return engine if isinstance(engine, ADREngine) else None


# --------------------------------------------------------------------------- env state


class DistributedEnvState:
    """Wraps a vecenv of one rank so that checkpoints hold every rank's state
    (single-process runs use it too, as a world of one).

    rl_games saves only on rank 0, and only what ``vec_env.get_env_state()``
    returns there. At the end of every epoch the agent gathers every rank's
    env state on rank 0 (a collective) and hands it to :meth:`absorb`; then
    :meth:`get_env_state` returns::

        {**rank 0's env state,               # its ENGINE_STATE_KEY entry: full engine state
         "world_size": W,
         "other_ranks": [rank r's env state with only the per-rank part of
                         ENGINE_STATE_KEY, for r = 1 .. W-1]}

    ADR's shared state (ranges, next limits, queues) is stored once. On
    resume every rank takes its own part back. A checkpoint of another world
    size is refused, unless ``shared_adr_only`` restores just ADR's shared
    state and leaves the rest of each rank's env as it is.

    Every other attribute is delegated to the wrapped vecenv.
    """

    def __init__(
        self, env: Any, rank: int, world_size: int, *, shared_adr_only: bool = False
    ) -> None:
        self.env = env
        self.rank = rank
        self.world_size = world_size
        self.shared_adr_only = shared_adr_only
        self._gathered: dict[str, Any] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.env, name)

    def absorb(self, parts: list[Any]) -> None:
        """On rank 0: take every rank's env state (rank order), as gathered by the agent.

        Also checks that every rank holds the same shared ADR state.

        Raises:
            RuntimeError: the ranks' ADR states diverged (never expected).
        """
        merged = dict(parts[0])
        shared0 = (
            split_engine_state(merged[ENGINE_STATE_KEY])[0] if ENGINE_STATE_KEY in merged else None
        )
        others = []
        for rank, state in enumerate(parts[1:], start=1):
            other = dict(state)
            if ENGINE_STATE_KEY in other and shared0 is not None:
                shared, other[ENGINE_STATE_KEY] = split_engine_state(other[ENGINE_STATE_KEY])
                differing = sorted({d.split(".")[1] for d in tree_differences(shared0, shared)})
                if differing:
                    raise RuntimeError(
                        f"ADR state diverged across ranks: rank {rank} differs from rank 0 in "
                        f"{', '.join(differing)}"
                    )
            others.append(other)
        log.debug("ADR shared state identical on all %d ranks", self.world_size)
        merged["world_size"] = self.world_size
        merged["other_ranks"] = others
        self._gathered = merged

    def get_env_state(self) -> dict[str, Any] | None:
        """Every rank's env state as gathered at the end of the last epoch (rank 0)."""
        if self.world_size == 1:
            return dict(self.env.get_env_state(), world_size=1, other_ranks=[])
        if self._gathered is None:
            if self.rank == 0:
                log.warning("no env state gathered yet; saving rank 0's only")
            return dict(self.env.get_env_state(), world_size=1, other_ranks=[])
        return self._gathered

    def set_env_state(self, env_state: Mapping[str, Any] | None) -> None:
        """Restore this rank's part of a checkpoint's env state."""
        if env_state is None:
            return
        saved_world = env_state.get("world_size", 1)
        if saved_world != self.world_size:
            if not self.shared_adr_only:
                raise StateError(
                    f"the checkpoint holds the env state of {saved_world} process(es), "
                    f"this run has {self.world_size}: resume with the same number of "
                    "processes (and num_envs), or pass resume_shared_adr_only=True to keep "
                    "only ADR's shared state (ranges, next limits, queues)"
                )
            self._restore_shared_adr(env_state)
            return
        own: dict[str, Any]
        if self.rank == 0:
            own = {k: v for k, v in env_state.items() if k not in ("world_size", "other_ranks")}
        else:
            others = env_state.get("other_ranks")
            if not isinstance(others, list) or len(others) != self.world_size - 1:
                raise StateError(
                    "checkpoint env state: 'other_ranks' does not match its world_size"
                )
            own = dict(others[self.rank - 1])
            shared, _ = split_engine_state(env_state[ENGINE_STATE_KEY])
            own[ENGINE_STATE_KEY] = merge_engine_state(shared, own[ENGINE_STATE_KEY])
        self.env.set_env_state(own)

    def _restore_shared_adr(self, env_state: Mapping[str, Any]) -> None:
        engine = adr_engine_of(self.env)
        if engine is None or ENGINE_STATE_KEY not in env_state:
            raise StateError("resume_shared_adr_only: no ADR state in the checkpoint or env")
        engine.load_shared_state(env_state[ENGINE_STATE_KEY])
        log.warning(
            "restored only ADR's shared state (ranges, next limits, queues) from a checkpoint "
            "of %s process(es); envs, workers and random streams start fresh",
            env_state.get("world_size", 1),
        )


# --------------------------------------------------------------------------- agent


@contextlib.contextmanager
def _cuda_set_device_guard(device: str) -> Iterator[None]:
    """rl_games' multi-GPU ``train()`` calls ``torch.cuda.set_device(local_rank)``
    unconditionally; on a CPU run that call is skipped."""
    if torch.device(device).type == "cuda":
        yield
        return
    original = torch.cuda.set_device
    torch.cuda.set_device = lambda *args, **kwargs: None
    try:
        yield
    finally:
        torch.cuda.set_device = original


class ADRAgent(a2c_continuous.A2CAgent):  # type: ignore[misc]
    """rl_games' continuous PPO agent, with:

    * checkpoints written and read through :mod:`adr_infra` stores (``.pth`` or
      ``.h5``, atomic, checksummed), with optional retention;
    * the agent state rl_games does not save (learning rate, episode
      accumulators, reward meters, best reward) saved and restored, so a resume
      continues the same run;
    * multi-process training on CPU (gloo) and GPUs: rl_games' own
      ``multi_gpu`` set-up hardcodes NCCL and CUDA, so the base is built
      single-process (``multi_gpu: False`` in rl_games' config) and the agent
      then joins the process group the app initialized; rl_games' gradient
      all-reduce, parameter broadcast and stop signal run on that group.
    """

    def __init__(self, base_name: str, params: dict[str, Any], options: AgentOptions) -> None:
        self.options = options
        self._resumed: dict[str, Any] | None = None
        self._other_agent_states: list[Any] = []
        self._pending_buffers: dict[str, Any] | None = None
        self._scratch_dir: str | None = None
        if options.world_size > 1 and options.rank != 0:
            # Ranks other than 0 never save or log; keep their writers out of runs/.
            self._scratch_dir = tempfile.mkdtemp(prefix=f"adr-rank{options.rank}-")
            atexit.register(shutil.rmtree, self._scratch_dir, ignore_errors=True)
            params = dict(params, config=dict(params["config"], train_dir=self._scratch_dir))
        super().__init__(base_name, params)
        if options.world_size > 1:
            self.multi_gpu = True
            self.local_rank = options.local_rank
            self.global_rank = options.rank
            self.world_size = options.world_size
            if options.rank != 0:
                self.print_stats = False

    def train(self) -> Any:
        try:
            with _cuda_set_device_guard(str(self.ppo_device)):
                return super().train()
        finally:
            if self._scratch_dir is not None:
                if self.writer is not None:
                    self.writer.close()
                shutil.rmtree(self._scratch_dir, ignore_errors=True)

    def train_epoch(self) -> Any:
        if self._pending_buffers is not None:
            self._apply_model_buffers(self._pending_buffers)
            self._pending_buffers = None
        result = super().train_epoch()
        if self.options.world_size > 1:
            self._gather_ranks()
        return result

    def _gather_ranks(self) -> None:
        """Bring every rank's env state and agent state to rank 0 (all ranks call it).

        Each rank's agent state includes its model buffers: rl_games keeps the
        observation and value normalizers per rank (only gradients are
        all-reduced), so an exact resume needs every rank's own.
        """
        env = self.vec_env.env if isinstance(self.vec_env, DistributedEnvState) else self.vec_env
        local = {"env": env.get_env_state(), "agent": self._agent_state(with_buffers=True)}
        parts: list[Any] = [None] * self.options.world_size if self.options.rank == 0 else []
        dist.gather_object(local, parts if self.options.rank == 0 else None, dst=0)
        if self.options.rank != 0:
            return
        if isinstance(self.vec_env, DistributedEnvState):
            self.vec_env.absorb([part["env"] for part in parts])
        self._other_agent_states = [part["agent"] for part in parts[1:]]

    def env_reset(self) -> Any:
        obs = super().env_reset()
        if self._resumed is not None:
            self._apply_agent_state(self._resumed)
            self._resumed = None
        return obs

    # ----------------------------------------------------------------- checkpoints

    def save(self, fn: str) -> None:
        """Save to ``fn`` + the configured suffix (rl_games passes names without one)."""
        weights = self.get_full_state_weights()
        weights[AGENT_STATE_KEY] = self._agent_state()
        if self.options.world_size > 1:
            weights[AGENT_RANKS_KEY] = list(self._other_agent_states)
        path = Path(fn + self.options.checkpoint_suffix)
        checkpoint = Checkpoint.from_rl_games(weights, experiment=self.options.layout.experiment)
        save_checkpoint(path, checkpoint)
        log.info("saved %s (epoch %s)", path, weights.get("epoch"))
        if self.options.keep_checkpoints:
            for removed in self.options.layout.prune(self.options.keep_checkpoints):
                log.info("removed old checkpoint %s", removed)

    def restore(self, fn: str, set_epoch: bool = True) -> None:
        """Restore from any store's file; the agent state is applied when training starts."""
        weights = load_checkpoint(fn).to_rl_games()
        agent_state = weights.pop(AGENT_STATE_KEY, None)
        others = weights.pop(AGENT_RANKS_KEY, None)
        if self.options.rank > 0:
            if isinstance(others, list) and len(others) == self.options.world_size - 1:
                agent_state = others[self.options.rank - 1]
            else:
                log.warning("the checkpoint has no agent state of rank %d", self.options.rank)
                agent_state = None
        self.set_full_state_weights(weights, set_epoch=set_epoch)
        self._resumed = agent_state if isinstance(agent_state, dict) else {}
        if "last_mean_rewards" in weights:
            self._resumed.setdefault("last_mean_rewards", weights["last_mean_rewards"])
        log.info("restored %s (epoch %s, frame %s)", fn, weights.get("epoch"), weights.get("frame"))

    def _agent_state(self, *, with_buffers: bool = False) -> dict[str, Any]:
        def meter(m: Any) -> dict[str, Any]:
            return {"mean": m.mean.detach().cpu().clone(), "size": int(m.current_size)}

        state: dict[str, Any] = {
            "last_lr": float(self.last_lr),
            "entropy_coef": float(self.entropy_coef),
            "game_rewards": meter(self.game_rewards),
            "game_shaped_rewards": meter(self.game_shaped_rewards),
            "game_lengths": meter(self.game_lengths),
        }
        for name in ("current_rewards", "current_shaped_rewards", "current_lengths", "dones"):
            value = getattr(self, name, None)
            if isinstance(value, torch.Tensor):
                state[name] = value.detach().cpu().clone()
        if with_buffers:
            state["model_buffers"] = {
                name: buf.detach().cpu().clone() for name, buf in self.model.named_buffers()
            }
        return state

    def _apply_model_buffers(self, buffers: Mapping[str, Any]) -> None:
        own = dict(self.model.named_buffers())
        for name, value in buffers.items():
            if name in own and isinstance(value, torch.Tensor):
                own[name].copy_(value.to(own[name].device))

    def _apply_agent_state(self, state: Mapping[str, Any]) -> None:
        buffers = state.get("model_buffers")
        if isinstance(buffers, Mapping):
            # rl_games' multi-process train() broadcasts rank 0's whole model
            # after env_reset(); this rank's own normalizers go in afterwards.
            self._pending_buffers = dict(buffers)
        if "last_mean_rewards" in state:
            best = float(state["last_mean_rewards"])
            if math.isfinite(best):
                self.last_mean_rewards = best
        if "last_lr" in state:
            # The scheduler's value. The optimizer's own LR came back with its
            # state dict; in multi-process runs it is the float32 value rank 0
            # broadcast, so it must not be overwritten with this one.
            self.last_lr = float(state["last_lr"])
        if "entropy_coef" in state:
            self.entropy_coef = float(state["entropy_coef"])
        for name in ("game_rewards", "game_shaped_rewards", "game_lengths"):
            saved = state.get(name)
            target = getattr(self, name)
            if isinstance(saved, Mapping) and isinstance(saved.get("mean"), torch.Tensor):
                # rl_games' AverageMeter rebinds (and reshapes) its buffer on update.
                target.mean = saved["mean"].to(target.mean.device).clone()
                target.current_size = int(saved["size"])
        for name in ("current_rewards", "current_shaped_rewards", "current_lengths", "dones"):
            saved = state.get(name)
            target = getattr(self, name, None)
            if isinstance(saved, torch.Tensor) and isinstance(target, torch.Tensor):
                if saved.shape == target.shape:
                    target.copy_(saved.to(target.device))
                else:
                    log.warning("not restoring %s: shape %s != %s", name, saved.shape, target.shape)


# --------------------------------------------------------------------------- player


@attrs.define
class SuccessStats:
    """Consecutive successes of the episodes a player finished."""

    values: list[float] = attrs.Factory(list)

    def add(self, values: torch.Tensor) -> None:
        self.values.extend(values.detach().cpu().tolist())

    def summary(self) -> str:
        if not self.values:
            return "no episode finished"
        data = torch.tensor(self.values, dtype=torch.float64)
        q = torch.quantile(data, torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)).tolist()
        return (
            f"{len(self.values)} episodes: consecutive successes mean {data.mean():.2f} "
            f"(std {data.std(unbiased=False):.2f}), p10 {q[0]:.0f}, median {q[1]:.0f}, "
            f"p90 {q[2]:.0f}, max {data.max():.0f}"
        )


class ADRPlayer(players.PpoPlayerContinuous):  # type: ignore[misc]
    """rl_games' continuous player reading checkpoints through our stores and
    collecting each finished episode's consecutive successes.

    It evaluates the policy at the checkpoint's ADR ranges: only ADR's shared
    state (ranges, next limits, queues) is restored, into fresh envs of any
    number, whose workers all become rollout workers as their episodes end.
    """

    def __init__(self, params: dict[str, Any], options: AgentOptions) -> None:
        super().__init__(params)
        self.options = options
        self.successes = SuccessStats()

    def restore(self, fn: str) -> None:
        checkpoint = load_checkpoint(fn)
        weights = checkpoint.to_rl_games()
        self.set_weights(weights)
        env_state = weights.get("env_state")
        engine = adr_engine_of(self.env)
        if engine is not None:
            if isinstance(env_state, Mapping) and ENGINE_STATE_KEY in env_state:
                engine.load_shared_state(env_state[ENGINE_STATE_KEY])
            else:  # an IsaacGymEnvs checkpoint (ranges only), or none
                restore_engine(engine, checkpoint, path=fn, restore_ranges=True)
        log.info("playing %s (epoch %s) at its ADR ranges", fn, weights.get("epoch"))

    def env_step(self, env: Any, actions: torch.Tensor) -> Any:
        obs, rewards, dones, infos = super().env_step(env, actions)
        if isinstance(infos, Mapping) and "episode_successes" in infos:
            finished = dones.bool() if isinstance(dones, torch.Tensor) else None
            if finished is not None and bool(finished.any()):
                self.successes.add(infos["episode_successes"][finished])
        return obs, rewards, dones, infos


# --------------------------------------------------------------------------- observer


class ProgressObserver(AlgoObserver):  # type: ignore[misc]
    """One progress line per epoch on the terminal, and TensorBoard scalars:
    consecutive successes and the reference's ADR keys (ranges per parameter,
    boundary queue means and lengths, rollout performance, NPD).

    Args:
        rank: only rank 0 prints and writes.
        engine_of: finds the ADR engine behind rl_games' vecenv.
    """

    def __init__(
        self, rank: int = 0, engine_of: Callable[[object], ADREngine | None] = adr_engine_of
    ) -> None:
        super().__init__()
        self.rank = rank
        self.engine_of = engine_of
        self.algo: Any = None
        self._reset_epoch()
        self._last_total_time = 0.0
        self.history: list[dict[str, float]] = []

    def _reset_epoch(self) -> None:
        self._episodes = 0.0
        self._success_sum = 0.0
        self._bounds_moved = 0.0
        self._pending: list[torch.Tensor] = []

    def after_init(self, algo: Any) -> None:
        self.algo = algo

    def process_infos(self, infos: Any, done_indices: Any) -> None:
        if not isinstance(infos, Mapping) or "episodes_finished" not in infos:
            return
        # Keep tensors; add them up once per epoch (no host sync per step).
        self._pending.append(
            torch.stack(
                [
                    torch.as_tensor(infos["episodes_finished"], dtype=torch.float64),
                    torch.as_tensor(infos["finished_consecutive_successes"], dtype=torch.float64)
                    * torch.as_tensor(infos["episodes_finished"], dtype=torch.float64),
                    torch.as_tensor(infos.get("adr_bounds_moved", 0), dtype=torch.float64),
                ]
            )
        )

    def after_clear_stats(self) -> None:
        self._reset_epoch()

    def after_print_stats(self, frame: int, epoch_num: int, total_time: float) -> None:
        if self._pending:
            episodes, success_sum, moved = torch.stack(self._pending).sum(0).tolist()
            self._episodes += episodes
            self._success_sum += success_sum
            self._bounds_moved += moved
        successes = self._success_sum / self._episodes if self._episodes else float("nan")
        # rl_games passes the frame count at the epoch's start and the summed
        # time of its epochs; its own frame counter is already past the epoch.
        start = frame
        frame = int(getattr(self.algo, "frame", frame))
        epoch_time = total_time - self._last_total_time
        self._last_total_time = total_time
        fps = (frame - start) / epoch_time if epoch_time > 0 else float("nan")
        engine = self.engine_of(getattr(self.algo, "vec_env", None))
        record: dict[str, float] = {
            "epoch": float(epoch_num),
            "frame": float(frame),
            "fps": fps,
            "consecutive_successes": successes,
            "bounds_moved": self._bounds_moved,
        }
        rewards = getattr(self.algo, "game_rewards", None)
        reward = float("nan")
        if rewards is not None and rewards.current_size > 0:
            reward = float(rewards.get_mean()[0])
        record["reward"] = reward
        if engine is not None:
            engine.check()  # the epoch's host-visible point: raise a deferred input error
            widened = (engine.bounds[:, 0] < engine.params.init[:, 0]) | (
                engine.bounds[:, 1] > engine.params.init[:, 1]
            )
            record["npd"] = float(engine.npd().item())
            record["params_widened"] = float(widened.sum().item())
        self.history.append(record)
        self._reset_epoch()
        if self.rank != 0:
            return
        writer = getattr(self.algo, "writer", None)
        if writer is not None:
            if self._episodes or not math.isnan(successes):
                writer.add_scalar("consecutive_successes/frame", successes, frame)
                writer.add_scalar("consecutive_successes/epoch", successes, epoch_num)
            if engine is not None:
                for key, value in adr_log_values(engine.report()).items():
                    writer.add_scalar(key, value, frame)
                writer.add_scalar("adr/bounds_moved", record["bounds_moved"], frame)
                writer.add_scalar("adr/params_widened", record["params_widened"], frame)
        max_epochs = getattr(self.algo, "max_epochs", -1)
        line = (
            f"epoch {epoch_num}{f'/{max_epochs}' if max_epochs and max_epochs > 0 else ''}"
            f" | frames {frame:,} | {fps / 1000:.1f}k fps | reward {reward:.2f}"
            f" | successes {successes:.2f}"
        )
        if engine is not None:
            line += (
                f" | ADR npd {record['npd']:.3f}, {int(record['bounds_moved'])} bounds moved,"
                f" {int(record['params_widened'])}/{engine.num_params} params widened"
            )
        progress.info(line)
