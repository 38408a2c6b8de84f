"""ADR-driven randomization of real MuJoCo Warp model fields, through mjlab's own ``dr`` functions.

A :class:`FieldBinding` ties one ADR *tensor parameter* to a model field of a
scene entity (which bodies, geoms, joints, ... and which axes, and how the
value combines with the compiled default: ``scale``, ``add`` or ``abs``).
The engine draws every env's value from its own saved generators (rollout
workers uniformly in the current range, boundary workers exactly at their
bound); :class:`FieldWriter` writes those values with the mjlab ``dr``
function of that field, in one call per binding: the call gets a
``Distribution`` whose "sample" is the engine's per-env values, so mjlab's
code resolves the entities, reads the defaults, applies the operation and
writes only the targeted axes. Where a binding's ``dr`` function is a plain
write of its cells (checked bit for bit when the writer is built),
:class:`~adr_lab.mjlab.direct.DirectWrite` repeats that write at every reset
in a few torch operations instead of the function's many. Values read back
from ``env.sim.model`` are the engine's, to float32 precision.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import torch
from mjlab.envs import ManagerBasedRlEnv
from mjlab.envs.mdp import dr
from mjlab.envs.mdp.dr._core import _randomize_model_field
from mjlab.managers.event_manager import RecomputeLevel, requires_model_fields
from mjlab.managers.scene_entity_config import SceneEntityCfg

from adr_domain import ADREngine, Commit, StateReader
from adr_lab.mjlab.cells import binding_error as _fail
from adr_lab.mjlab.cells import check_cells, dr_call_args, exact_values
from adr_lab.mjlab.direct import DirectWrite, writes_like
from adr_lab.validity import OPERATIONS

__all__ = ["DR_FUNCTIONS", "FieldBinding", "FieldWriter", "actuator_gear"]

DrFunction = Callable[..., None]

UNUSED_RANGE = (0.0, 0.0)
"""The ``ranges`` argument of a dr function writing ADR values (:func:`exact_values` ignores it)."""


@requires_model_fields("actuator_gear")
def actuator_gear(
    env: ManagerBasedRlEnv,
    env_ids: torch.Tensor | None,
    ranges: tuple[float, float],
    asset_cfg: SceneEntityCfg,
    distribution: dr.Distribution | str = "uniform",
    operation: dr.Operation | str = "scale",
    axes: list[int] | None = None,
    shared_random: bool = False,
) -> None:
    """Randomize actuator gear (a motor's strength: force = gear x gain x control).

    mjlab 1.6 has no public ``dr`` function for this field; this one is the
    same call its public functions make into mjlab's field randomizer.
    """
    _randomize_model_field(
        env,
        env_ids,
        "actuator_gear",
        entity_type="actuator",
        ranges=ranges,
        distribution=distribution,
        operation=operation,
        asset_cfg=asset_cfg,
        axes=axes,
        shared_random=shared_random,
        default_axes=[0],
    )


def _writes_one_range(func: object) -> bool:
    """A ``dr`` function of the one-range family (``ranges``, ``distribution``, ``axes``)."""
    if not callable(func) or not hasattr(func, "model_fields"):
        return False
    names = set(inspect.signature(func).parameters)
    return {"ranges", "asset_cfg", "distribution", "operation", "axes"} <= names


def _dr_functions() -> dict[str, DrFunction]:
    """Model field -> the mjlab ``dr`` function that randomizes it."""
    table: dict[str, DrFunction] = {}
    for name in sorted(dir(dr)):
        func = getattr(dr, name)
        if _writes_one_range(func):
            table.setdefault(func.model_fields[0], func)
    table["actuator_gear"] = actuator_gear
    return table


DR_FUNCTIONS: Mapping[str, DrFunction] = _dr_functions()
"""Every model field a binding can target, with the function that writes it."""


@attrs.frozen
class FieldBinding:
    """One ADR tensor parameter bound to a model field of a scene entity.

    Attributes:
        param: the ADR parameter (one without ``range_path``).
        field: the model field, e.g. ``"body_mass"``, ``"geom_friction"``,
            ``"dof_damping"``, ``"body_ipos"``, ``"actuator_gear"`` (a key of
            :data:`DR_FUNCTIONS`).
        asset_cfg: the entity and its elements (``body_names``, ``geom_names``,
            ``joint_names``, ``actuator_names``, ...).
        operation: ``"scale"`` (default x value), ``"add"`` (default + value) or
            ``"abs"`` (value).
        axes: the field's axes to write (e.g. ``(0,)`` for sliding friction);
            None: the ``dr`` function's default.
    """

    param: str
    field: str
    asset_cfg: SceneEntityCfg
    operation: str = attrs.field(default="scale")
    axes: tuple[int, ...] | None = None

    @operation.validator
    def _check_operation(self, attribute: attrs.Attribute[str], value: object) -> None:
        if value not in OPERATIONS:
            raise ValueError(
                f"FieldBinding of parameter {self.param!r}: operation must be one of "
                f"{', '.join(OPERATIONS)}, got {value!r}"
            )

    @property
    def func(self) -> DrFunction:
        """The mjlab ``dr`` function writing :attr:`field`."""
        return DR_FUNCTIONS[self.field]


def declared_fields(bindings: Iterable[FieldBinding]) -> tuple[tuple[str, ...], RecomputeLevel]:
    """The model fields the bindings need expanded per world, and the recompute they need.

    Unknown fields are left out here; :class:`FieldWriter` reports them.
    """
    fields: list[str] = []
    level = RecomputeLevel.none
    for binding in bindings:
        func = DR_FUNCTIONS.get(binding.field)
        if func is None:
            continue
        fields.extend(f for f in getattr(func, "model_fields", ()) if f not in fields)
        level = max(level, getattr(func, "recompute", RecomputeLevel.none))
    return tuple(fields), level


@attrs.frozen
class _Resolved:
    """A checked binding and its resolved entity selection."""

    binding: FieldBinding
    asset_cfg: SceneEntityCfg


@attrs.frozen
class _Write:
    """How one binding's values reach the model: its ``dr`` call, or a direct write like it."""

    param: str
    func: DrFunction
    call: Mapping[str, Any]
    direct: DirectWrite | None


class FieldWriter:
    """Writes the engine's per-env values into the bound model fields.

    Args:
        env: the env (model fields already expanded per world).
        bindings: the bindings; each is checked now.
        engine: the engine whose tensor parameters hold the values.

    Raises:
        ValueError: naming the binding, when its parameter is unknown or not a
            tensor parameter, its field is not in the model or has no ``dr``
            function, its entity or elements are not in the scene, or an axis
            is out of the field's range; when the parameter's init range or
            limits could put an element outside the field's valid domain
            (:mod:`adr_lab.validity`); when two bindings write the same element
            and axis of a field.
    """

    def __init__(
        self, env: ManagerBasedRlEnv, bindings: Sequence[FieldBinding], engine: ADREngine
    ) -> None:
        self._env = env
        self._engine = engine
        resolved = [_resolve(env, engine, b) for b in bindings]
        cells = check_cells(env, engine.cfg.params, [(r.binding, r.asset_cfg) for r in resolved])
        self._writes = [_write(env, r, mask) for r, mask in zip(resolved, cells, strict=True)]
        self.fields, self.recompute_level = declared_fields(bindings)
        self._targets = tuple(dict.fromkeys(b.field for b in bindings))

    def write(self, env_ids: torch.Tensor) -> None:
        """Write the engine's current values of ``env_ids`` (``(K,)`` int64) into the model.

        Derived constants are left to the caller (the event manager
        recomputes after reset events; :meth:`write_and_recompute` does it).
        """
        for item in self._writes:
            # No host read: the ids come from the manager, and the values from the
            # distribution (dr's range only becomes the bounds its sample ignores).
            values = self._engine.get(item.param).index_select(0, env_ids)
            if item.direct is not None:
                item.direct.write(env_ids, values)
                continue
            distribution = exact_values(values)
            item.func(
                self._env, env_ids, ranges=UNUSED_RANGE, distribution=distribution, **item.call
            )

    @property
    def direct_params(self) -> tuple[str, ...]:
        """The parameters written by a :class:`~adr_lab.mjlab.direct.DirectWrite`."""
        return tuple(w.param for w in self._writes if w.direct is not None)

    def write_and_recompute(self, env_ids: torch.Tensor) -> None:
        """:meth:`write`, then the derived constants the written fields need."""
        self.write(env_ids)
        self.recompute()

    def recompute(self) -> None:
        """Recompute the derived constants of the bound fields (e.g. after a body mass)."""
        if self.recompute_level != RecomputeLevel.none:
            self._env.sim.recompute_constants(self.recompute_level)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Every bound field as it is in the model: ``{field: (N, ...) tensor}`` (CPU copies)."""
        model = self._env.sim.model
        return {f: getattr(model, f).detach().cpu().clone() for f in self._targets}

    def stage_state_dict(self, state: Mapping[str, Any]) -> Commit:
        """Check saved fields against the model; the commit writes them and recomputes.

        Raises:
            StateError: a bound field is missing or has another shape or dtype.
        """
        reader = StateReader(state, "ADR model fields")
        model = self._env.sim.model
        saved = {}
        for f in self._targets:
            live = getattr(model, f)
            saved[f] = reader.tensor(f, tuple(live.shape), live.dtype, finite=True)

        def commit() -> None:
            for f, values in saved.items():
                getattr(model, f).copy_(values.to(self._env.device))
            self.recompute()

        return commit


def _resolve(env: ManagerBasedRlEnv, engine: ADREngine, binding: FieldBinding) -> _Resolved:
    """Check a binding against the engine and the env; resolve its selection."""
    _check_param(engine, binding)
    _check_field(env, binding)
    asset_cfg = _resolve_selection(env, binding)
    _check_axes(env, binding)
    return _Resolved(binding, asset_cfg)


def _write(env: ManagerBasedRlEnv, resolved: _Resolved, cells: torch.Tensor) -> _Write:
    """The binding's write: direct where that writes exactly what its ``dr`` function does."""
    b = resolved.binding
    call = dr_call_args(b, resolved.asset_cfg)
    direct = DirectWrite(env, b.field, cells, b.operation)
    declared = dict.fromkeys((b.field, *getattr(b.func, "model_fields", ())))
    touched = tuple(f for f in declared if f in env.sim.expanded_fields)
    plain = writes_like(env, direct, b.func, call, touched)
    return _Write(b.param, b.func, call, direct if plain else None)


def _check_param(engine: ADREngine, binding: FieldBinding) -> None:
    if binding.param not in engine.param_names:
        raise _fail(binding, f"no such ADR parameter (known: {', '.join(engine.param_names)})")
    if binding.param not in engine.tensor_param_names:
        raise _fail(binding, "the parameter has a range_path; bind a tensor parameter")


def _check_field(env: ManagerBasedRlEnv, binding: FieldBinding) -> None:
    if not hasattr(env.sim.mj_model, binding.field):
        raise _fail(binding, "the model has no such field")
    if binding.field not in DR_FUNCTIONS:
        raise _fail(binding, f"no mjlab dr function writes it (known: {', '.join(DR_FUNCTIONS)})")
    if binding.field not in env.sim.expanded_fields:
        raise _fail(
            binding,
            "the field is not expanded per world (add the ADR event term of "
            "adr_lab.mjlab.attach_adr, which declares the bound fields)",
        )


def _resolve_selection(env: ManagerBasedRlEnv, binding: FieldBinding) -> SceneEntityCfg:
    entities = env.scene.entities
    name = binding.asset_cfg.name
    if name not in entities:
        raise _fail(binding, f"the scene has no entity {name!r} (entities: {', '.join(entities)})")
    asset_cfg = copy.deepcopy(binding.asset_cfg)
    try:
        asset_cfg.resolve(env.scene)
    except (KeyError, ValueError) as exc:
        raise _fail(binding, f"entity {name!r}: {exc}") from None
    return asset_cfg


def _check_axes(env: ManagerBasedRlEnv, binding: FieldBinding) -> None:
    if binding.axes is None:
        return
    shape = tuple(getattr(env.sim.model, binding.field).shape)
    count = shape[2] if len(shape) > 2 else 1
    bad = [a for a in binding.axes if not 0 <= a < count]
    if bad or not binding.axes:
        raise _fail(binding, f"axes {list(binding.axes)} out of range: the field has {count} axes")
