"""rl_games' continuous PPO agent, made to survive days-long runs on shared clusters.

* Checkpoints go through :mod:`adr_infra` stores (``.pth`` or ``.h5``, atomic,
  checksummed) with the ADR config and world size in their metadata, the agent
  state rl_games forgets (:mod:`adr_app.rlgames.agent_state`) and the run's record
  (:mod:`adr_app.rlgames.run_record`: its own files, its robust best).
* Between two epochs (rl_games' ``update_epoch``) every rank agrees whether to
  stop (a signal, :mod:`adr_app.runs.preemption`) and whether a save failed
  (:mod:`adr_app.rlgames.epoch_end`); rank 0 saves the robust-best checkpoint when an
  epoch widened the mastered ranges, and the checkpoint of the epoch reached
  when the run stops.
* Retention deletes only periodic files this run wrote or resumed from.
* Multi-process training on CPU (gloo) and GPUs: rl_games' own ``multi_gpu``
  set-up hardcodes NCCL and CUDA, so the base is built single-process and then
  joins the process group the app initialized.

rl_games 1.6.5 facts relied on (``shared/RL_GAMES_NOTES.md``): only rank 0
saves; ``restore`` runs before ``train()``, which resets the best reward and
episode accumulators and calls ``env.reset()``; each loop iteration calls
``update_epoch()`` first, then ``train_epoch()``, then rank 0 saves.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from rl_games.algos_torch import a2c_continuous

from adr_app.config.run_settings import SETTINGS_KEY
from adr_app.rlgames.agent_state import (
    AGENT_RANKS_KEY,
    AGENT_STATE_KEY,
    apply_agent_state,
    apply_model_buffers,
    capture_agent_state,
)
from adr_app.rlgames.env_state import DistributedEnvState
from adr_app.rlgames.epoch_end import EpochAgreement, agree, failing_ranks_error
from adr_app.rlgames.options import AgentOptions, adr_engine_of
from adr_app.rlgames.run_record import RUN_RECORD_KEY, RobustBest, RunRecord, robust_npd
from adr_app.rlgames.training_eval import current_ranges, eval_due, report_evaluation
from adr_app.runs.preemption import TrainingStopped
from adr_infra import (
    Checkpoint,
    CheckpointError,
    CheckpointKind,
    CheckpointName,
    save_checkpoint,
)

__all__ = ["ADRAgent"]

log = logging.getLogger(__name__)


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


def _is_periodic(path: Path) -> bool:
    parsed = CheckpointName.parse(path.name)
    return parsed is not None and parsed.kind is CheckpointKind.PERIODIC


class ADRAgent(a2c_continuous.A2CAgent):  # type: ignore[misc]
    """rl_games' ``A2CAgent`` with the behaviour of the module docstring.

    Attributes:
        record: the run's own files and robust best.
        stopped: set when the run stopped on a signal (else None).
    """

    def __init__(self, base_name: str, params: dict[str, Any], options: AgentOptions) -> None:
        self.options = options
        self.record = RunRecord()
        self.stopped: TrainingStopped | None = None
        self._resumed: dict[str, Any] | None = None
        self._other_agent_states: list[Any] = []
        self._pending_buffers: Any = None
        self._scratch_dir: str | None = None
        self._save_error: CheckpointError | None = None
        self._epoch_ended = False
        self._epochs_trained = 0
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

    # ----------------------------------------------------------------- the loop

    def train(self) -> Any:
        try:
            with _cuda_set_device_guard(str(self.ppo_device)):
                result = super().train()
                self._between_epochs(can_stop=False)
                return result
        except TrainingStopped as stop:
            self.stopped = stop
            return self.last_mean_rewards, stop.epoch
        finally:
            if self.writer is not None:
                # A stopped or failed multi-process run leaves with os._exit: flush now.
                self.writer.flush()
            if self._scratch_dir is not None:
                if self.writer is not None:
                    self.writer.close()
                shutil.rmtree(self._scratch_dir, ignore_errors=True)

    def update_epoch(self) -> int:
        self._between_epochs(can_stop=True)
        epoch: int = super().update_epoch()
        return epoch

    def train_epoch(self) -> Any:
        if self._pending_buffers is not None:
            apply_model_buffers(self, self._pending_buffers)
            self._pending_buffers = None
        result = super().train_epoch()
        if self.options.world_size > 1:
            self._gather_ranks()
        self._epoch_ended = True
        self._epochs_trained += 1
        return result

    def _between_epochs(self, *, can_stop: bool) -> None:
        """After rl_games' saves of an epoch and before the next: robust best, failures, stop.

        Raises:
            CheckpointError: a save of some rank failed (its error, on every rank).
            TrainingStopped: every rank agreed to stop (after rank 0 saved).
        """
        if self._epoch_ended and self.options.rank == 0:
            self._save_robust_best()
            self._evaluate_if_due()
        self._epoch_ended = False
        stop = can_stop and self.options.stop is not None and self.options.stop.requested
        if not self._agree(stop).stop:
            return
        saved = None
        if self.options.rank == 0 and self._epochs_trained:
            saved = self._save_stop_checkpoint()
        self._agree(False)  # a failed stop save is everyone's error
        raise TrainingStopped(self.epoch_num, None if saved is None else str(saved))

    def _evaluate_if_due(self) -> None:
        """Every ``eval_every`` epochs: the policy on the evaluation's test set, in envs of
        its own (the training run goes on exactly as without it)."""
        evaluate, stop = self.options.evaluate, self.options.stop
        if evaluate is None or not eval_due(self.epoch_num, self.options.eval_every):
            return
        engine = adr_engine_of(self.vec_env)
        if engine is None or (stop is not None and stop.requested):
            return  # a stopping run saves at once
        figures = evaluate(self.model, current_ranges(engine))
        report_evaluation(self.writer, figures, frame=int(self.frame), epoch=self.epoch_num)

    def _agree(self, stop: bool) -> EpochAgreement:
        agreement = agree(
            stop,
            self._save_error is not None,
            rank=self.options.rank,
            world_size=self.options.world_size,
            device=self.ppo_device,
        )
        if agreement.failed_rank is not None:
            raise failing_ranks_error(
                self._save_error, agreement, world_size=self.options.world_size
            )
        return agreement

    def _gather_ranks(self) -> None:
        """Bring every rank's env state and agent state to rank 0 (all ranks call it).

        Each rank's agent state includes its model buffers: rl_games keeps the
        observation and value normalizers per rank (only gradients are
        all-reduced), so an exact resume needs every rank's own.
        """
        env = self.vec_env.env if isinstance(self.vec_env, DistributedEnvState) else self.vec_env
        local = {"env": env.get_env_state(), "agent": capture_agent_state(self, with_buffers=True)}
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
            self._pending_buffers = apply_agent_state(self, self._resumed)
            self._resumed = None
        return obs

    # ----------------------------------------------------------------- checkpoints

    def save(self, fn: str) -> None:
        """Save to ``fn`` + the configured suffix (rl_games passes names without one)."""
        self._save_to(Path(fn + self.options.checkpoint_suffix))

    def _mean_reward(self) -> float:
        if self.game_rewards.current_size > 0:
            return float(self.game_rewards.get_mean()[0])
        return -math.inf

    def _save_stop_checkpoint(self) -> Path | None:
        path = self.options.layout.periodic_path(
            self.epoch_num, self._mean_reward(), suffix=self.options.checkpoint_suffix, final=True
        )
        return path if self._save_to(path) else None

    def _save_robust_best(self) -> None:
        if self.epoch_num < self.save_best_after:  # as rl_games' reward-best file
            return
        engine = adr_engine_of(self.vec_env)
        npd = None if engine is None else robust_npd(engine)
        if npd is None or not self.record.robust.improved_by(npd):
            return
        previous = self.record
        self.record = RunRecord(previous.own_checkpoints, RobustBest(npd, self.epoch_num))
        path = self.options.layout.robust_path(suffix=self.options.checkpoint_suffix)
        # Under ADR the mastered ranges widen nearly every epoch: DEBUG, not the progress lines.
        if self._save_to(path, level=logging.DEBUG):
            log.debug("new robust best: NPD %.4f at epoch %d", npd, self.epoch_num)
        else:
            self.record = previous

    def _checkpoint(self) -> Checkpoint:
        weights = self.get_full_state_weights()
        weights[AGENT_STATE_KEY] = capture_agent_state(self)
        if self.options.world_size > 1:
            weights[AGENT_RANKS_KEY] = list(self._other_agent_states)
        # The run's settings travel in every checkpoint: a resume is the same run.
        weights[RUN_RECORD_KEY] = self.record.to_tree() | {SETTINGS_KEY: self.options.settings}
        engine = adr_engine_of(self.vec_env)
        return Checkpoint.from_rl_games(
            weights,
            experiment=self.options.layout.experiment,
            adr_config=None if engine is None else engine.cfg.model_dump(mode="json"),
            world_size=self.options.world_size,
        )

    def _save_to(self, path: Path, level: int = logging.INFO) -> bool:
        """Save the current state at ``path``; prune own periodic files. False if it failed:
        the error is kept and raised on every rank between this epoch and the next."""
        periodic = _is_periodic(path)
        before = self.record
        if periodic:
            self.record = self.record.with_file(path.name)
        try:
            save_checkpoint(path, self._checkpoint())
        except CheckpointError as exc:
            self.record = before
            self._save_error = self._save_error or exc
            return False
        log.log(level, "saved %s (epoch %s)", path, self.epoch_num)
        keep = self.options.keep_checkpoints
        if periodic and keep:
            removed = self.options.layout.prune(self.record.own_checkpoints, keep)
            for file in removed:
                log.info("removed old checkpoint %s", file)
            self.record = self.record.without_files({p.name for p in removed})
        return True

    def restore(self, fn: str, set_epoch: bool = True) -> None:
        """Restore from any store's file; the agent state is applied when training starts."""
        weights = self.options.read_checkpoint(fn).to_rl_games()
        agent_state = weights.pop(AGENT_STATE_KEY, None)
        others = weights.pop(AGENT_RANKS_KEY, None)
        self.record = RunRecord.resumed(weights.pop(RUN_RECORD_KEY, None), fn, self.options.layout)
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
