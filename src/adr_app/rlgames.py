"""rl_games wiring shared by the agent (:mod:`adr_app.agent`) and the player
(:mod:`adr_app.player`): their options, the env-state wrapper that makes
checkpoints hold every rank's state, and a progress/TensorBoard observer.

rl_games 1.6.5 facts this module relies on (see ``shared/RL_GAMES_NOTES.md``):
only rank 0 saves, and it saves ``vec_env.get_env_state()``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import torch
from rl_games.common.algo_observer import AlgoObserver

from adr_app.preemption import StopRequest
from adr_domain import (
    ENGINE_STATE_KEY,
    ADREngine,
    adr_log_values,
    merge_engine_state,
    split_engine_state,
)
from adr_domain.errors import StateError
from adr_infra import RunLayout, tree_differences

__all__ = [
    "AgentOptions",
    "DistributedEnvState",
    "ProgressObserver",
    "adr_engine_of",
]

log = logging.getLogger(__name__)
progress = logging.getLogger("adr_app.progress")


@attrs.frozen
class AgentOptions:
    """What the agent and player need beyond rl_games' config.

    Attributes:
        layout: the run directory.
        checkpoint_suffix: ``.pth`` or ``.h5`` for new checkpoints.
        keep_checkpoints: keep the last K periodic checkpoints this run wrote (0: all).
        rank, local_rank, world_size: position in a multi-process run.
        stop: the signals' stop request (training only).
    """

    layout: RunLayout
    checkpoint_suffix: str = ".pth"
    keep_checkpoints: int = 0
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    stop: StopRequest | None = None


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
