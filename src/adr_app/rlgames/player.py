"""rl_games' continuous player, reading checkpoints through sim2real-adr's stores and
collecting each finished episode's consecutive successes (``adr-train test=True``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import attrs
import torch
from rl_games.algos_torch import players

from adr_app.rlgames.options import AgentOptions, adr_engine_of
from adr_domain import ENGINE_STATE_KEY
from adr_infra import restore_engine

__all__ = ["ADRPlayer", "SuccessStats"]

log = logging.getLogger(__name__)


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
        checkpoint = self.options.read_checkpoint(fn)
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
