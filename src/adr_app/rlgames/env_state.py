"""The env-state wrapper that makes rl_games checkpoints hold every rank's state.

rl_games 1.6.5 facts this module relies on (see ``shared/RL_GAMES_NOTES.md``):
only rank 0 saves, and it saves ``vec_env.get_env_state()``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from adr_app.rlgames.options import adr_engine_of
from adr_domain import ENGINE_STATE_KEY, adopt_shared_state, split_engine_state
from adr_domain.errors import StateError
from adr_infra import tree_differences

__all__ = ["DistributedEnvState"]

log = logging.getLogger(__name__)


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
            own[ENGINE_STATE_KEY] = adopt_shared_state(
                own[ENGINE_STATE_KEY], env_state[ENGINE_STATE_KEY]
            )
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
