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
  (:func:`adr_lab.core.update_on_reset`), then writes the reset envs' new
  values through the bound event terms;
* on ``reset``: puts the ``adr/...`` keys into the new ``extras["log"]``.

No host read per step: Isaac Lab has no step event, but ``step`` adds one to
the Python int ``env.common_step_counter`` after ``episode_length_buf += 1``
and before it resets the finished envs. So a call that finds the counter moved
since the previous update comes from a step, every env has played since its
last reset, and all of ``env_ids`` finished (:meth:`AdrCore.note_step`). The
first call, a second reset within one step, ``env.reset()`` between steps and
the first call after a loaded state read which envs played instead (one host
read; :func:`adr_lab.core.finished_envs`).

Tensor parameters no binding writes (noise scales, delays, push strengths)
are read by user terms with :func:`adr_value`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import torch
from isaaclab.envs import ManagerBasedRLEnv, ManagerBasedRLEnvCfg
from isaaclab.managers import CurriculumTermCfg, EventTermCfg, ManagerTermBase

from adr_domain import ADRConfig, ADREngine, Commit
from adr_infra.distributed import group_exists, launched_world_size
from adr_lab.core import (
    ManagerEnvIds,
    frozen_adr,
    join_run,
    publish_log,
    resolve_env_ids,
    start_core,
    update_on_reset,
)
from adr_lab.isaaclab.bindings import BoundEvent, EventBinding
from adr_lab.objectives import Objective

__all__ = [
    "AdrCurriculumTerm",
    "AdrSpec",
    "adr_step_sync",
    "adr_term",
    "adr_term_cfgs",
    "adr_value",
    "attach_adr",
    "find_adr_term",
    "freeze_adr",
]


def _adr_config(value: ADRConfig | Mapping[str, Any]) -> ADRConfig:
    return ADRConfig.from_mapping(value)


def _bindings(value: Iterable[EventBinding]) -> tuple[EventBinding, ...]:
    return tuple(value)


@attrs.frozen
class AdrSpec:
    """One ADR set-up of an Isaac Lab env: the single param of its curriculum term.

    One frozen value rather than several params, so that Isaac Lab neither
    resolves its parts as term configs nor turns the objective into a string
    when it writes ``params/env.yaml``.

    Attributes:
        adr: the ``task.adr`` block (validated on construction).
        objective: scores finished episodes (see :mod:`adr_lab.objectives`).
        bindings: ADR parameters bound to Isaac Lab event terms.
        seed: seed of the engine's streams; None: the env's seed (0 if unset).
    """

    adr: ADRConfig = attrs.field(converter=_adr_config)
    objective: Objective
    bindings: tuple[EventBinding, ...] = attrs.field(default=(), converter=_bindings)
    seed: int | None = None

    def frozen(self) -> AdrSpec:
        """This spec with the ranges frozen (``update_adr_ranges: false``): every env
        that finishes an episode draws from the current (e.g. loaded) ranges."""
        return attrs.evolve(self, adr=frozen_adr(self.adr))


class AdrCurriculumTerm(ManagerTermBase):  # type: ignore[misc]
    """The ADR curriculum term: one engine for all envs, updated at every reset.

    The one param of its ``CurriculumTermCfg`` is ``spec``, an :class:`AdrSpec`
    (:func:`attach_adr` adds the term).

    Attributes:
        core: the engine glue (``core.engine`` is the engine).
        objective: scores finished episodes.
        events: the built event terms, one per binding.
    """

    def __init__(self, cfg: CurriculumTermCfg, env: ManagerBasedRLEnv) -> None:
        super().__init__(cfg, env)
        spec = cfg.params.get("spec")
        if not isinstance(spec, AdrSpec):
            raise TypeError(f"ADR term params need 'spec', an AdrSpec; got {type(spec).__name__}")
        self.objective = spec.objective
        device = torch.device(env.device)
        seed = spec.seed if spec.seed is not None else (env.cfg.seed or 0)
        # Under torchrun with no process group yet, a trainer may make the group
        # after the env (rsl_rl's runner does): join it then (join_run).
        self._seed, self._joins_later = seed, launched_world_size() > 1 and not group_exists()
        joins_now = not self._joins_later
        self.core = start_core(spec.adr, env, device, seed, self.objective, join=joins_now)
        self.events = [BoundEvent(b, env, self.core.engine) for b in spec.bindings]
        self._all = torch.arange(env.num_envs, device=device)
        self._counter_at_update: int | None = None
        self.apply(self._all)

    @property
    def engine(self) -> ADREngine:
        """The engine (``engine.get(name, env_ids)`` reads a tensor parameter)."""
        return self.core.engine

    def __call__(
        self,
        env: ManagerBasedRLEnv,
        env_ids: ManagerEnvIds,
        spec: AdrSpec,
    ) -> None:
        """Update the engine with the finished envs among ``env_ids``; write their new values."""
        self.note_step_since_last_update(env)
        update_on_reset(self.core, self.objective, env, env_ids)
        self.apply(resolve_env_ids(env_ids, env.num_envs, self.core.engine.device))

    def note_step_since_last_update(self, env: ManagerBasedRLEnv) -> None:
        """Note a step (:meth:`AdrCore.note_step`) when ``env.common_step_counter``
        moved since the previous update: then this reset comes from a step."""
        counter = int(env.common_step_counter)
        if self._counter_at_update is not None and counter != self._counter_at_update:
            self.core.note_step()
        self._counter_at_update = counter

    def join_run(self) -> None:
        """Join the ``torchrun`` run's process group, if the term was built before it
        existed: every rank at once (a collective), e.g. from ``AdrPPO`` once rsl_rl's
        runner made the group, else after the first step (:meth:`sync_step`).

        The engine starts afresh with rank 0's seed (``AdrCore.join``; results
        recorded before, of episodes that ended in the first step, are dropped)
        and every env's values are written. A no-op when there is nothing to join.
        """
        if not self._joins_later:
            return
        join_run(self.core, self._seed)
        self._joins_later = False
        self.apply(self._all)

    def sync_step(self, env: ManagerBasedRLEnv) -> None:
        """In a ``torchrun`` run, update with no results when this step reset no env here.

        The engine update is a collective, and Isaac Lab calls the term only on
        steps where some env of this rank resets; :func:`adr_step_sync` calls
        this after every step's resets, so every rank updates once per step.
        After the first step of a term that has not joined the run yet, every
        rank joins it here instead (:meth:`join_run`).
        """
        counter = int(env.common_step_counter)
        if self._joins_later:
            self.join_run()
            self._counter_at_update = counter
            return
        if not self.core.distributed or self._counter_at_update == counter:
            return
        self._counter_at_update = counter
        none = torch.zeros(0, dtype=torch.long, device=self.core.engine.device)
        self.core.record(none, torch.zeros(0, device=self.core.engine.device))
        publish_log(env.extras, self.core)

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

    def stage_state_dict(self, state: Mapping[str, Any], *, shared_only: bool = False) -> Commit:
        """Check :meth:`state_dict` output; the commit restores it and writes every env's values.

        Raises:
            StateError: naming the entry that is wrong (nothing has changed).
        """
        restore = self.core.stage_state_dict(state, shared_only=shared_only)

        def commit() -> None:
            restore()
            self._counter_at_update = None  # a resume may set the step counter
            self.apply(self._all)

        return commit

    def load_state_dict(self, state: Mapping[str, Any], *, shared_only: bool = False) -> None:
        """Restore :meth:`state_dict` output (checked first), then write every env's values."""
        self.stage_state_dict(state, shared_only=shared_only)()


def adr_step_sync(env: ManagerBasedRLEnv, env_ids: ManagerEnvIds, name: str) -> None:
    """Interval event of a ``torchrun`` run, after every step's resets (see
    :meth:`AdrCurriculumTerm.sync_step`)."""
    term = find_adr_term(env, name)
    if term is not None:
        term.sync_step(env)


def _add_term(group: Any, name: str, term: Any) -> Any:
    """``group`` (a config object, a dict or None) with ``term`` as ``name``."""
    if group is None:
        group = {}
    if isinstance(group, dict):
        group[name] = term
    else:
        setattr(group, name, term)
    return group


def attach_adr(
    env_cfg: ManagerBasedRLEnvCfg, spec: AdrSpec, name: str = "adr"
) -> ManagerBasedRLEnvCfg:
    """Add the ADR curriculum term ``name`` to ``env_cfg`` (in place; keeps its other terms).

    In a process ``torchrun`` launched with others, also the interval event
    ``<name>_step_sync`` (every step, :func:`adr_step_sync`), so that the
    ranks' engines update together: one curriculum for all ranks.

    Returns:
        ``env_cfg``.
    """
    term = CurriculumTermCfg(func=AdrCurriculumTerm, params={"spec": spec})
    env_cfg.curriculum = _add_term(env_cfg.curriculum, name, term)
    if launched_world_size() > 1:
        sync = EventTermCfg(
            func=adr_step_sync,
            mode="interval",
            interval_range_s=(0.0, 0.0),  # due after every step
            is_global_time=True,
            params={"name": name},
        )
        env_cfg.events = _add_term(env_cfg.events, f"{name}_step_sync", sync)
    return env_cfg


def adr_term_cfgs(env_cfg: ManagerBasedRLEnvCfg) -> list[CurriculumTermCfg]:
    """The curriculum term configs of ``env_cfg`` whose ``params["spec"]`` is an
    :class:`AdrSpec` (the ADR terms :func:`attach_adr` adds), in order."""
    terms = env_cfg.curriculum
    if terms is None:
        return []
    found = terms.values() if isinstance(terms, dict) else vars(terms).values()
    return [
        term
        for term in found
        if isinstance(getattr(term, "params", None), dict)
        and isinstance(term.params.get("spec"), AdrSpec)
    ]


def freeze_adr(env_cfg: ManagerBasedRLEnvCfg) -> ManagerBasedRLEnvCfg:
    """Freeze the ranges of every ADR curriculum term of ``env_cfg`` (in place), for play:
    a policy then plays at the ranges of the checkpoint it loaded. Returns ``env_cfg``."""
    for term in adr_term_cfgs(env_cfg):
        term.params["spec"] = term.params["spec"].frozen()
    return env_cfg


def find_adr_term(env: ManagerBasedRLEnv, name: str = "adr") -> AdrCurriculumTerm | None:
    """The env's ADR curriculum term ``name``, or None (also while the env is being built:
    the curriculum manager comes after the action, observation, event,
    termination and reward managers, which call their terms once to size them).
    """
    manager = getattr(env, "curriculum_manager", None)
    if manager is None or name not in manager.active_terms:
        return None
    # Isaac Lab 3.0's CurriculumManager has no get_term_cfg: its configs,
    # in the order of active_terms, are the built terms' only home.
    func = manager._term_cfgs[manager.active_terms.index(name)].func
    return func if isinstance(func, AdrCurriculumTerm) else None


def adr_term(env: ManagerBasedRLEnv, name: str = "adr") -> AdrCurriculumTerm:
    """The env's ADR curriculum term.

    Raises:
        ValueError: the env has no ADR curriculum term ``name`` (yet: see :func:`find_adr_term`).
    """
    term = find_adr_term(env, name)
    if term is None:
        raise ValueError(f"the env has no ADR curriculum term {name!r}")
    return term


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
