"""The ADR curriculum term of an Isaac Lab ``ManagerBasedRLEnv``.

Isaac Lab calls a curriculum term as ``term(env, env_ids, **params)`` at the
start of ``_reset_idx``, before the scene reset and the reset events, with
``env_ids`` ``slice(None)`` (``env.reset()``) or an int32 tensor (resets in a
step); then it rebuilds ``extras["log"]`` and calls ``term.reset(env_ids)``.
So :class:`AdrCurriculumTerm`:

* when built: starts the engine for all envs, probes the objective, builds
  every :class:`~adr_lab.isaaclab.bindings.EventBinding`'s event term and
  writes every env's values, all before any step (errors name what is wrong);
* on ``__call__``: updates the engine with the finished envs
  (:func:`adr_lab.manager.update_on_reset`), then writes the reset envs' new
  values through the bound event terms;
* on ``reset``: puts the ``adr/...`` keys into the new ``extras["log"]``.

Tensor parameters no binding writes (noise scales, delays, push strengths)
are read by user terms with :func:`adr_value`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from isaaclab.envs import ManagerBasedRLEnv, ManagerBasedRLEnvCfg
from isaaclab.managers import CurriculumTermCfg, ManagerTermBase

from adr_domain import ADRConfig, ADREngine
from adr_lab.isaaclab.bindings import BoundEvent, EventBinding
from adr_lab.manager import ManagerEnvIds, publish_log, resolve_env_ids, start_core, update_on_reset
from adr_lab.objectives import Objective

__all__ = ["AdrCurriculumTerm", "adr_term", "adr_value", "attach_adr"]


class AdrCurriculumTerm(ManagerTermBase):  # type: ignore[misc]
    """The ADR curriculum term: one engine for all envs, updated at every reset.

    Params of its ``CurriculumTermCfg``: ``adr`` (the ``task.adr`` block),
    ``objective`` (see :mod:`adr_lab.objectives`), and optionally
    ``bindings`` (a sequence of :class:`EventBinding`) and ``seed`` (None:
    the env's seed, 0 if unset).

    Attributes:
        core: the engine glue (``core.engine`` is the engine).
        objective: scores finished episodes.
        events: the built event terms, one per binding.
    """

    def __init__(self, cfg: CurriculumTermCfg, env: ManagerBasedRLEnv) -> None:
        super().__init__(cfg, env)
        params = cfg.params
        self.objective: Objective = params["objective"]
        device = torch.device(env.device)
        seed = params.get("seed")
        if seed is None:
            seed = env.cfg.seed or 0
        self.core = start_core(params["adr"], env, device, int(seed), self.objective)
        bindings: Sequence[EventBinding] = params.get("bindings") or ()
        self.events = [BoundEvent(b, env, self.core.engine) for b in bindings]
        self._all = torch.arange(env.num_envs, device=device)
        self.apply(self._all)

    @property
    def engine(self) -> ADREngine:
        """The engine (``engine.get(name, env_ids)`` reads a tensor parameter)."""
        return self.core.engine

    def __call__(
        self,
        env: ManagerBasedRLEnv,
        env_ids: ManagerEnvIds,
        adr: ADRConfig | Mapping[str, Any],
        objective: Objective,
        bindings: Sequence[EventBinding] = (),
        seed: int | None = None,
    ) -> None:
        """Update the engine with the finished envs among ``env_ids``; write their new values."""
        update_on_reset(self.core, self.objective, env, env_ids)
        self.apply(resolve_env_ids(env_ids, env.num_envs, self.core.engine.device))

    def reset(self, env_ids: ManagerEnvIds = None) -> None:
        """Publish the ``adr/...`` keys into the reset's fresh ``extras["log"]``."""
        publish_log(self._env.extras, self.core)

    def apply(self, env_ids: torch.Tensor) -> None:
        """Write the engine's values of ``env_ids`` (``(K,)`` int64) through every binding."""
        for event in self.events:
            event.apply(env_ids)

    def state_dict(self) -> dict[str, Any]:
        """The env-state entries of ADR (engine state, reference ranges, noise stream)."""
        return self.core.state_dict()

    def load_state_dict(self, state: Mapping[str, Any], *, shared_only: bool = False) -> None:
        """Restore :meth:`state_dict` output (checked first), then write every env's values."""
        self.core.stage_state_dict(state, shared_only=shared_only)()
        self.apply(self._all)


def attach_adr(
    env_cfg: ManagerBasedRLEnvCfg,
    adr: ADRConfig | Mapping[str, Any],
    objective: Objective,
    bindings: Sequence[EventBinding] = (),
    *,
    seed: int | None = None,
    name: str = "adr",
) -> ManagerBasedRLEnvCfg:
    """Add the ADR curriculum term ``name`` to ``env_cfg`` (in place; keeps its other terms).

    Returns:
        ``env_cfg``.
    """
    params = {"adr": adr, "objective": objective, "bindings": tuple(bindings), "seed": seed}
    term = CurriculumTermCfg(func=AdrCurriculumTerm, params=params)
    if env_cfg.curriculum is None:
        env_cfg.curriculum = {}
    if isinstance(env_cfg.curriculum, dict):
        env_cfg.curriculum[name] = term
    else:
        setattr(env_cfg.curriculum, name, term)
    return env_cfg


def adr_term(env: ManagerBasedRLEnv, name: str = "adr") -> AdrCurriculumTerm:
    """The env's ADR curriculum term.

    Raises:
        ValueError: the env has no ADR curriculum term ``name`` (yet: the
            curriculum manager is built after the action, observation, event,
            termination and reward managers).
    """
    manager = getattr(env, "curriculum_manager", None)
    func = None
    if manager is not None and name in manager.active_terms:
        # Isaac Lab 3.0's CurriculumManager has no get_term_cfg: its configs,
        # in the order of active_terms, are the built terms' only home.
        func = manager._term_cfgs[manager.active_terms.index(name)].func
    if not isinstance(func, AdrCurriculumTerm):
        raise ValueError(f"the env has no ADR curriculum term {name!r}")
    return func


def adr_value(
    env: ManagerBasedRLEnv, param: str, env_ids: torch.Tensor | None = None, term: str = "adr"
) -> torch.Tensor:
    """The current values of an ADR tensor parameter, for user terms (noise, delays, pushes).

    Args:
        env: the env.
        param: a tensor parameter of the ADR block.
        env_ids: ``(K,)`` int64 envs; None: all.
        term: the ADR curriculum term's name.

    Returns:
        With ``env_ids`` None, the live ``(N,)`` tensor (float32 for uniform
        parameters); else the ``(K,)`` values of those envs. Boundary workers
        hold their bound, rollout workers a draw from the current range.

    Raises:
        ValueError: no ADR term ``term``, or ``param`` is unknown or no tensor parameter.
    """
    return adr_term(env, term).engine.get(param, env_ids)
