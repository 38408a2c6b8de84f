"""ADR objectives: what a finished episode scored, for the boundary queues.

An objective is any callable ``(env, env_ids) -> (K,) tensor``, called in the
reset of the ``K`` envs ``env_ids`` (int64) whose episode just ended, before
their reset clears episode sums and termination flags. The built-ins read the
manager surface mjlab and Isaac Lab share (``reward_manager``,
``termination_manager``, ``episode_length_buf``, ``step_dt``); each checks
its own arguments on its first call (the ADR term makes that call while the
env is built, before any step) and raises a ``ValueError`` that names them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import attrs
import torch

__all__ = [
    "EpisodeLength",
    "ManagerEnv",
    "Objective",
    "RewardSum",
    "Survived",
]


class RewardManagerLike(Protocol):
    """The part of a reward manager the built-in objectives read."""

    @property
    def active_terms(self) -> list[str]:
        """Names of the reward terms."""
        ...

    @property
    def _episode_sums(self) -> Mapping[str, torch.Tensor]:
        """Per term, ``(N,)`` weighted sums over the running episode."""
        ...


class TerminationManagerLike(Protocol):
    """The part of a termination manager the built-in objectives read."""

    @property
    def active_terms(self) -> list[str]:
        """Names of the termination terms."""
        ...

    @property
    def terminated(self) -> torch.Tensor:
        """``(N,)`` bool: a termination that is not a time-out fired this step."""
        ...

    def get_term(self, name: str) -> torch.Tensor:
        """``(N,)`` bool: term ``name`` fired this step."""
        ...


class ManagerEnv(Protocol):
    """The manager-based env surface adr_lab reads (mjlab's and Isaac Lab's RL env)."""

    @property
    def num_envs(self) -> int:
        """``N``."""
        ...

    @property
    def step_dt(self) -> float:
        """Seconds per env step."""
        ...

    @property
    def max_episode_length(self) -> int:
        """Steps of an episode that ends by time-out."""
        ...

    @property
    def episode_length_buf(self) -> torch.Tensor:
        """``(N,)`` int64 steps of each env's running episode."""
        ...

    @property
    def reward_manager(self) -> RewardManagerLike:
        """The reward manager."""
        ...

    @property
    def termination_manager(self) -> TerminationManagerLike:
        """The termination manager."""
        ...


class Objective(Protocol):
    """Scores the episodes that just ended."""

    def __call__(self, env: ManagerEnv, env_ids: torch.Tensor) -> torch.Tensor:
        """``(K,)`` scores of the envs ``env_ids`` (``(K,)`` int64)."""
        ...


def _require_terms(names: Sequence[str], active: Sequence[str], kind: str, who: str) -> None:
    """Raise naming every one of ``names`` that is not an active ``kind`` term."""
    missing = [n for n in names if n not in active]
    if missing:
        raise ValueError(
            f"ADR objective {who}: no {kind} term {', '.join(map(repr, missing))} "
            f"(active: {', '.join(active) or 'none'})"
        )


@attrs.frozen
class RewardSum:
    """The episode sum of one reward term (weighted, as the reward manager sums it).

    Attributes:
        term: the reward term's name.
        per_second: divide by the episode's duration (steps x ``step_dt``),
            which makes episodes of different lengths comparable (with
            rewards scaled by dt, the mean weighted reward rate).
    """

    term: str
    per_second: bool = False

    def __call__(self, env: ManagerEnv, env_ids: torch.Tensor) -> torch.Tensor:
        """``(K,)`` float32 sums (or rates) of the finished episodes."""
        manager = env.reward_manager
        _require_terms([self.term], manager.active_terms, "reward", repr(self))
        sums = manager._episode_sums[self.term].index_select(0, env_ids)
        if not self.per_second:
            return sums
        steps = env.episode_length_buf.index_select(0, env_ids).clamp(min=1)
        return sums / (steps * env.step_dt)


@attrs.frozen
class Survived:
    """1 for an episode that no failure ended (time-outs do not count), else 0.

    Attributes:
        terms: the termination terms that count as failures; empty: every
            termination that is not a time-out.
    """

    terms: tuple[str, ...] = ()

    def __call__(self, env: ManagerEnv, env_ids: torch.Tensor) -> torch.Tensor:
        """``(K,)`` float32 0/1 per finished episode."""
        manager = env.termination_manager
        if not self.terms:
            failed = manager.terminated
        else:
            _require_terms(self.terms, manager.active_terms, "termination", repr(self))
            failed = torch.stack([manager.get_term(t) for t in self.terms]).any(0)
        return 1.0 - failed.index_select(0, env_ids).float()


@attrs.frozen
class EpisodeLength:
    """The share of the full episode length an env lasted, in ``[0, 1]``."""

    def __call__(self, env: ManagerEnv, env_ids: torch.Tensor) -> torch.Tensor:
        """``(K,)`` float32 steps over ``max_episode_length``."""
        steps = env.episode_length_buf.index_select(0, env_ids).float()
        return steps / max(env.max_episode_length, 1)
