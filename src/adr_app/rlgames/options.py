"""What the rl_games agent and player need beyond rl_games' config, and how they
find the ADR engine behind a vecenv."""

from __future__ import annotations

import attrs

from adr_app.runs.preemption import StopRequest
from adr_domain import ADREngine
from adr_infra import RunLayout

__all__ = ["AgentOptions", "adr_engine_of"]


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
    """

    layout: RunLayout
    checkpoint_suffix: str = ".pth"
    keep_checkpoints: int = 0
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    stop: StopRequest | None = None
    settings: str = "{}"


def adr_engine_of(env: object) -> ADREngine | None:
    """The ADR engine behind a vecenv, if it exposes one (``adr_engine``)."""
    engine = getattr(env, "adr_engine", None)
    return engine if isinstance(engine, ADREngine) else None
