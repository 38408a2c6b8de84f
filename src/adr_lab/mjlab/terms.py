"""The mjlab manager terms of ADR and the one call that adds them to an env config.

:func:`attach_adr` adds three terms to a ``ManagerBasedRlEnvCfg``:

* the curriculum term :class:`AdrCurriculum`, which holds the engine for all
  envs: mjlab calls it at the start of every reset, before the reset events,
  with the envs being reset; it scores the finished ones with the objective,
  updates the engine (record, move bounds, recycle, resample) and puts the
  ``adr/...`` keys into ``extras["log"]``;
* the reset event :class:`AdrModelFields`, which declares the bound model
  fields (so mjlab expands them per world) and writes the reset envs' new
  values into them, after which the event manager recomputes derived
  constants;
* the step event :class:`AdrStepSync`, which notes every step (so the resets
  that follow score all their envs without reading episode lengths back) and
  in a ``torchrun`` run makes every rank update exactly once per step (the
  update is a collective).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import torch
from mjlab.envs import ManagerBasedRlEnv, ManagerBasedRlEnvCfg
from mjlab.managers.curriculum_manager import CurriculumManager, CurriculumTermCfg
from mjlab.managers.event_manager import EventTermCfg

from adr_domain import ADRConfig, ADREngine, Commit, StateReader, commit_all
from adr_lab.core import (
    LAB_STATE_KEY,
    ManagerEnvIds,
    publish_log,
    resolve_env_ids,
    start_core,
    update_on_reset,
)
from adr_lab.mjlab.fields import FieldBinding, FieldWriter, declared_fields
from adr_lab.objectives import Objective

__all__ = [
    "AdrCurriculum",
    "AdrModelFields",
    "AdrSpec",
    "AdrStepSync",
    "adr_engine",
    "adr_term",
    "adr_terms",
    "attach_adr",
]

log = logging.getLogger(__name__)

MODEL_FIELDS_KEY = "model_fields"
"""Entry of the ``adr_lab`` state with the bound model fields as written."""


def _adr_config(value: ADRConfig | Mapping[str, Any]) -> ADRConfig:
    return ADRConfig.from_mapping(value)


def _bindings(value: Iterable[FieldBinding]) -> tuple[FieldBinding, ...]:
    return tuple(value)


@attrs.frozen
class AdrSpec:
    """One ADR set-up of an mjlab env.

    Attributes:
        adr: the ``task.adr`` block (validated on construction).
        objective: scores finished episodes (see :mod:`adr_lab.objectives`).
        bindings: ADR parameters bound to model fields.
        seed: seed of the engine's streams; None: the env's seed (0 if unset).
        name: the curriculum term's name (event terms derive theirs from it).
    """

    adr: ADRConfig = attrs.field(converter=_adr_config)
    objective: Objective
    bindings: tuple[FieldBinding, ...] = attrs.field(default=(), converter=_bindings)
    seed: int | None = None
    name: str = "adr"


def attach_adr(env_cfg: ManagerBasedRlEnvCfg, spec: AdrSpec) -> ManagerBasedRlEnvCfg:
    """Add the ADR curriculum term and its two event terms to ``env_cfg`` (in place).

    Returns:
        ``env_cfg``.
    """
    params: dict[str, Any] = {"spec": spec}
    env_cfg.curriculum[spec.name] = CurriculumTermCfg(func=AdrCurriculum, params=params)
    env_cfg.events[f"{spec.name}_model_fields"] = EventTermCfg(
        func=AdrModelFields, mode="reset", params=params
    )
    env_cfg.events[f"{spec.name}_step_sync"] = EventTermCfg(
        func=AdrStepSync, mode="step", params=params
    )
    return env_cfg


def _spec(cfg: CurriculumTermCfg | EventTermCfg) -> AdrSpec:
    spec = cfg.params.get("spec")
    if not isinstance(spec, AdrSpec):
        raise TypeError(f"ADR term params need 'spec', an AdrSpec; got {type(spec).__name__}")
    return spec


class AdrCurriculum:
    """The ADR curriculum term: one engine for all envs, updated at every reset.

    Built by mjlab's curriculum manager as ``AdrCurriculum(cfg, env)``, after
    the event manager has expanded the bound fields. Construction checks the
    bindings and the objective (errors name them) and writes every env's
    initial values into the model, all before any step.

    Attributes:
        core: the engine glue (``core.engine`` is the engine).
        writer: writes engine values into the bound model fields.
        objective: scores finished episodes.
    """

    def __init__(self, cfg: CurriculumTermCfg, env: ManagerBasedRlEnv) -> None:
        spec = _spec(cfg)
        device = torch.device(env.device)
        seed = spec.seed if spec.seed is not None else (env.cfg.seed or 0)
        self.objective = spec.objective
        self.core = start_core(spec.adr, env, device, seed, spec.objective)
        self.writer = FieldWriter(env, spec.bindings, self.core.engine)
        self._env = env
        self._all = torch.arange(env.num_envs, device=device)
        self.writer.write_and_recompute(self._all)

    @property
    def engine(self) -> ADREngine:
        """The engine (``engine.get(name, env_ids)`` reads a tensor parameter)."""
        return self.core.engine

    def __call__(self, env: ManagerBasedRlEnv, env_ids: ManagerEnvIds, **params: Any) -> None:
        """Update the engine with the finished envs among ``env_ids``; log ``adr/...``."""
        update_on_reset(self.core, self.objective, env, env_ids)
        publish_log(env.extras, self.core)

    def apply(self, env_ids: torch.Tensor) -> None:
        """Write the current values of ``env_ids`` into the bound model fields."""
        self.writer.write(env_ids)

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """The env-state entries of ADR, with the bound model fields as they are now."""
        state = self.core.state_dict()
        state[LAB_STATE_KEY][MODEL_FIELDS_KEY] = self.writer.state_dict()
        return state

    def stage_state_dict(
        self,
        state: Mapping[str, Any],
        *,
        restore_ranges: bool | None = None,
        shared_only: bool = False,
    ) -> Commit:
        """Check a saved ADR state completely; the commit restores it.

        With ``shared_only`` (another number of envs, or a rank other than 0)
        only the shared curriculum is restored; every env then draws fresh
        values from the restored ranges, which are written into the model.

        Raises:
            StateError: naming the wrong entry (nothing has changed).
        """
        core = self.core.stage_state_dict(
            state, restore_ranges=restore_ranges, shared_only=shared_only
        )
        if shared_only:
            return commit_all([core, lambda: self.writer.write_and_recompute(self._all)])
        fields = StateReader(state, "ADR env state").child(LAB_STATE_KEY).child(MODEL_FIELDS_KEY)
        return commit_all([core, self.writer.stage_state_dict(fields.state)])

    def load_state_dict(self, state: Mapping[str, Any], **options: Any) -> None:
        """Stage, then commit (see :meth:`stage_state_dict`)."""
        self.stage_state_dict(state, **options)()


class AdrModelFields:
    """Reset event writing the ADR values of the reset envs into the bound model fields.

    Its ``model_fields`` make mjlab expand those fields per world; its
    ``recompute`` makes the event manager recompute derived constants after
    the reset events (e.g. after a body mass).
    """

    def __init__(self, cfg: EventTermCfg, env: ManagerBasedRlEnv) -> None:
        spec = _spec(cfg)
        self.model_fields, self.recompute = declared_fields(spec.bindings)
        self._name = spec.name

    def __call__(self, env: ManagerBasedRlEnv, env_ids: ManagerEnvIds, **params: Any) -> None:
        """Write the values of ``env_ids`` (the envs being reset)."""
        term = adr_term(env, self._name)
        term.apply(resolve_env_ids(env_ids, env.num_envs, term.engine.device))


class AdrStepSync:
    """Step event: notes the step; in ``torchrun`` runs, an empty update on every step
    this rank resets nothing.

    mjlab runs it every step after counting the step and before the resets, so
    every env the resets reach has played (:meth:`AdrCore.note_step`). The
    engine update is a collective; mjlab resets (and so updates) only on steps
    where some env of this rank finished; in a distributed run this term
    updates with no results exactly when no reset will follow, so every rank
    updates once per step.
    """

    def __init__(self, cfg: EventTermCfg, env: ManagerBasedRlEnv) -> None:
        self._name = _spec(cfg).name

    def __call__(self, env: ManagerBasedRlEnv, env_ids: ManagerEnvIds, **params: Any) -> None:
        """Update with nothing when this step will not reset any env of this rank."""
        term = adr_term(env, self._name)
        term.core.note_step()
        if not term.core.distributed:
            return
        if env.cfg.auto_reset and bool(env.reset_buf.any()):
            return
        none = torch.zeros(0, dtype=torch.long, device=term.engine.device)
        term.core.record(none, torch.zeros(0, device=term.engine.device))
        publish_log(env.extras, term.core)


def adr_terms(env: ManagerBasedRlEnv) -> dict[str, AdrCurriculum]:
    """Every ADR curriculum term of the env by name (none before its curriculum manager exists)."""
    manager = getattr(env, "curriculum_manager", None)
    if not isinstance(manager, CurriculumManager):
        return {}
    funcs = {name: manager.get_term_cfg(name).func for name in manager.active_terms}
    return {name: f for name, f in funcs.items() if isinstance(f, AdrCurriculum)}


def adr_term(env: ManagerBasedRlEnv, name: str = "adr") -> AdrCurriculum:
    """The env's ADR curriculum term.

    Raises:
        ValueError: the env has no ADR curriculum term of that name.
    """
    manager = getattr(env, "curriculum_manager", None)
    func = None
    if isinstance(manager, CurriculumManager) and name in manager.active_terms:
        func = manager.get_term_cfg(name).func
    if not isinstance(func, AdrCurriculum):
        raise ValueError(
            f"the env has no ADR curriculum term {name!r} (add one with adr_lab.mjlab.attach_adr)"
        )
    return func


def adr_engine(env: ManagerBasedRlEnv, name: str = "adr") -> ADREngine:
    """The engine of the env's ADR term: ``adr_engine(env).get(param, env_ids)`` in user terms."""
    return adr_term(env, name).engine
