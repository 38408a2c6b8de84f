"""ADR parameters bound to Isaac Lab event terms, which write the engine's per-env values.

An :class:`EventBinding` ties one ADR tensor parameter to one argument of an
Isaac Lab event term, given as its ``EventTermCfg`` (e.g.
``mdp.randomize_rigid_body_mass`` with ``mass_distribution_params``).
:class:`BoundEvent` builds that term as Isaac Lab's managers do (defaults
filled in, scene entities resolved, a class-based term instantiated once with
``(cfg, env)``) and then calls it for the envs being reset with the argument
set to ``(v, v)``, ``v`` the ``(K, 1)`` float32 tensor of those envs' engine
values. Isaac Lab's terms sample through ``_randomize_prop_by_op``, i.e.
``math_utils.sample_uniform(lo, hi, size) = rand * (hi - lo) + lo``, which is
exactly ``v`` for every selected body or joint; the term then applies its
operation (``scale``, ``add``, ``abs``) to its defaults and writes through the
asset's own setters. No host sync, no grouping by range.

Before the term is built, a binding to a term of
:data:`adr_lab.isaaclab.domains.TERM_FIELDS` is checked against the valid
domain of the fields it writes (:mod:`adr_lab.validity`); other terms are not.

Isaac Lab's terms that cannot take one value per env this way
(``randomize_rigid_body_com``, whose range is a dict of floats; Newton's
``randomize_rigid_body_material``, which converts its range once when built;
``randomize_physics_scene_gravity``, which caches one range for all envs) are
refused, naming the term of :mod:`adr_lab.isaaclab.terms` to bind instead
(:data:`~adr_lab.isaaclab.terms.FIXED_RANGE_TERMS`).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping
from typing import Any, cast

import attrs
import torch
from isaaclab.envs import ManagerBasedRLEnv
from isaaclab.managers import EventTermCfg, ManagerTermBase, SceneEntityCfg
from isaaclab.utils.string import string_to_callable

from adr_domain import ADREngine
from adr_lab.isaaclab.domains import check_valid
from adr_lab.isaaclab.terms import FIXED_RANGE_TERMS

__all__ = ["BoundEvent", "EventBinding"]

ENV_ARGS = 2
"""A term's leading arguments the manager passes itself: ``env`` and ``env_ids``."""


@attrs.frozen
class EventBinding:
    """One ADR tensor parameter applied through an Isaac Lab event term.

    Attributes:
        param: the ADR parameter (one without ``range_path``).
        term: the event term, e.g. ``EventTermCfg(func=mdp.randomize_rigid_body_mass,
            mode="reset", params={"asset_cfg": SceneEntityCfg("robot", body_names=["pole"]),
            "mass_distribution_params": (1.0, 1.0), "operation": "scale"})``; its
            ``mode`` and ``interval`` are ignored (the ADR term calls it at
            every reset). Not changed: the ADR term builds a copy.
        range_arg: the term's argument that receives ``(v, v)``, e.g.
            ``"mass_distribution_params"``; its value in ``term.params`` is replaced.
    """

    param: str
    term: EventTermCfg
    range_arg: str


class BoundEvent:
    """A checked binding with its event term built: writes engine values for some envs.

    Args:
        binding: the binding.
        env: the env being built (its scene is playing).
        engine: the engine whose tensor parameter holds the values.

    Raises:
        ValueError: naming the parameter, when it is unknown or not a tensor
            parameter, the term cannot write one value per env (naming the
            term to bind instead), the term lacks ``range_arg`` or a required
            argument, the term refuses its asset, bodies or joints (or, for
            :mod:`adr_lab.isaaclab.terms`, its axes or operation), or the parameter's
            init range or limits could put a written element outside its
            field's valid domain (:mod:`adr_lab.isaaclab.domains`: naming
            the field, element and bound).
    """

    def __init__(self, binding: EventBinding, env: ManagerBasedRLEnv, engine: ADREngine) -> None:
        self.binding = binding
        self._env = env
        self._engine = engine
        _check_param(binding, engine)
        cfg = copy.deepcopy(binding.term)
        func = _callable(binding, cfg.func)
        low, high = engine.bounds[engine.params.index(binding.param)].tolist()
        cfg.params = {**cfg.params, binding.range_arg: (low, high)}
        _check_arguments(binding, func, cfg.params)
        _check_uniform(binding, cfg.params)
        self._entities = _resolve_entities(binding, cfg.params, env)
        _check_valid(binding, func, cfg.params, env, engine)
        self.func: Callable[..., Any] = _instance(binding, func, cfg, env)
        for entity in self._entities:
            entity.finalize(str(env.device))
        self.params: dict[str, Any] = cfg.params

    def apply(self, env_ids: torch.Tensor) -> None:
        """Write the engine's values of ``env_ids`` (``(K,)`` int64, valid ids) through the term.

        Selects from the live ``(N,)`` values: ``engine.get(param, env_ids)``
        would check the ids with a host read, and the term's ids are the env's own.
        """
        if env_ids.numel() == 0:
            return
        live = self._engine.get(self.binding.param)
        values = live.index_select(0, env_ids).float().unsqueeze(1)
        params = {**self.params, self.binding.range_arg: (values, values)}
        self.func(self._env, env_ids, **params)


def _fail(binding: EventBinding, problem: str) -> ValueError:
    return ValueError(
        f"ADR binding of parameter {binding.param!r} to {binding.range_arg!r}: {problem}"
    )


def _check_param(binding: EventBinding, engine: ADREngine) -> None:
    if binding.param not in engine.param_names:
        raise _fail(binding, f"no such ADR parameter (known: {', '.join(engine.param_names)})")
    if binding.param not in engine.tensor_param_names:
        raise _fail(binding, "the parameter has a range_path; bind a tensor parameter")


def _check_uniform(binding: EventBinding, params: Mapping[str, Any]) -> None:
    """The term draws uniformly, so that ``(v, v)`` writes exactly ``v`` (a ``gaussian``
    term would read it as mean and standard deviation, ``log_uniform`` round it).

    ``params`` holds the term's defaults already (:func:`_check_arguments`).
    """
    distribution = params.get("distribution", "uniform")
    if distribution != "uniform":
        raise _fail(
            binding,
            f"the term draws from a {distribution!r} distribution; ADR writes each env's "
            "value exactly only through distribution='uniform' (set it in the term's params)",
        )


def _check_valid(
    binding: EventBinding,
    func: Callable[..., Any],
    params: Mapping[str, Any],
    env: ManagerBasedRLEnv,
    engine: ADREngine,
) -> None:
    """Refuse a range that could put a written element outside its field's valid domain."""
    cfg = engine.cfg.params[binding.param]
    problem = check_valid(func, binding.range_arg, params, env, cfg)
    if problem is not None:
        raise _fail(binding, problem)


def _callable(binding: EventBinding, func: object) -> Callable[..., Any]:
    """The term's function or class (a ``"module:name"`` string is imported)."""
    if isinstance(func, str):
        func = string_to_callable(func)
    if not callable(func):
        raise _fail(binding, f"the event term's func {func!r} is not callable")
    replacement = FIXED_RANGE_TERMS.get(func)
    if replacement is not None:
        raise _fail(
            binding,
            f"the event term {_name(func)} cannot write one value per env (it fixes or "
            f"shares its range); bind {replacement} instead",
        )
    return func


def _check_arguments(
    binding: EventBinding, func: Callable[..., Any], params: dict[str, Any]
) -> None:
    """Fill in the term's defaults (as Isaac Lab's managers do); check required arguments."""
    call = func.__call__ if inspect.isclass(func) else func
    args = list(inspect.signature(call).parameters.values())
    if inspect.isclass(func):
        args = args[1:]
    named = args[ENV_ARGS:]
    if binding.range_arg not in {a.name for a in named}:
        raise _fail(binding, f"the event term {_name(func)} has no argument {binding.range_arg!r}")
    missing = [
        a.name for a in named if a.default is inspect.Parameter.empty and a.name not in params
    ]
    if missing:
        raise _fail(binding, f"the event term {_name(func)} needs {', '.join(missing)}")
    for a in named:
        if a.default is not inspect.Parameter.empty and a.name not in params:
            params[a.name] = copy.deepcopy(a.default)


def _resolve_entities(
    binding: EventBinding, params: Mapping[str, Any], env: ManagerBasedRLEnv
) -> list[SceneEntityCfg]:
    """Resolve every scene entity among the term's arguments against the scene."""
    entities = [v for v in params.values() if isinstance(v, SceneEntityCfg)]
    for entity in entities:
        try:
            entity.resolve(env.scene)
        except (KeyError, ValueError) as exc:
            raise _fail(binding, f"scene entity {entity.name!r}: {exc}") from None
    return entities


def _instance(
    binding: EventBinding, func: Callable[..., Any], cfg: EventTermCfg, env: ManagerBasedRLEnv
) -> Callable[..., Any]:
    """A class-based term built once with ``(cfg, env)``; a function as it is."""
    if not inspect.isclass(func):
        return func
    if not issubclass(func, ManagerTermBase):
        raise _fail(binding, f"{_name(func)} is a class but not a ManagerTermBase")
    cfg.func = func
    build = cast("Callable[..., Callable[..., Any]]", func)
    try:
        term = build(cfg=cfg, env=env)
    except (KeyError, ValueError, TypeError) as exc:
        raise _fail(binding, f"the event term {_name(func)} refused its params: {exc}") from exc
    return term


def _name(func: object) -> str:
    return str(getattr(func, "__qualname__", func))
