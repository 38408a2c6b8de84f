"""What the rl_games agent and player need beyond rl_games' config (the checkpoint
to restore among it), and how they find the ADR engine behind a vecenv."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import attrs
import torch

from adr_domain import ADREngine
from adr_infra import Checkpoint, ChosenCheckpoint, RunLayout, load_checkpoint
from adr_infra.preemption import StopRequest

if TYPE_CHECKING:
    from adr_app.rlgames.training_eval import SetResult

__all__ = ["AgentOptions", "Evaluate", "adr_engine_of"]

Evaluate = Callable[[torch.nn.Module, Mapping[str, tuple[float, float]]], "Sequence[SetResult]"]
"""Evaluates the model being trained at the current ADR ranges (by name) on a fixed
test set, without touching the training run; one result per range set."""


@attrs.frozen
class AgentOptions:
    """What the agent and player need beyond rl_games' config.

    Attributes:
        layout: the run directory.
        checkpoint_suffix: ``.pth`` or ``.h5`` for new checkpoints.
        keep_checkpoints: keep the last K periodic checkpoints this run wrote (0: all).
        rank, local_rank, world_size: position in a multi-process run.
        stop: the signals' stop request (training only).
        settings: the run's settings as its checkpoints carry them (JSON text).
        resume: the checkpoint the run was planned to start from, if any.
        evaluate: the evaluation during training (rank 0), if any.
        eval_every: evaluate after every this many epochs (0: never).
    """

    layout: RunLayout
    checkpoint_suffix: str = ".pth"
    keep_checkpoints: int = 0
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    stop: StopRequest | None = None
    settings: str = "{}"
    resume: ChosenCheckpoint | None = None
    evaluate: Evaluate | None = None
    eval_every: int = 0

    def read_checkpoint(self, fn: str) -> Checkpoint:
        """The checkpoint rl_games restores from ``fn``: the planned one's content when
        ``fn`` is its file (read once, while choosing it), else the file read now."""
        if self.resume is not None and str(self.resume.path) == fn:
            return self.resume.read()
        return load_checkpoint(fn)


def adr_engine_of(env: object) -> ADREngine | None:
    """The ADR engine behind a vecenv, if it exposes one (``adr_engine``)."""
    engine = getattr(env, "adr_engine", None)
    return engine if isinstance(engine, ADREngine) else None
