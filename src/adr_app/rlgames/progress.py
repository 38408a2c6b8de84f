"""The progress line of each epoch and the TensorBoard scalars of a training run."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from rl_games.common.algo_observer import AlgoObserver

from adr_app.rlgames.options import adr_engine_of
from adr_domain import ADREngine, adr_log_values

__all__ = ["ProgressObserver"]

progress = logging.getLogger("adr_app.progress")


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
