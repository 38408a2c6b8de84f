"""The valid domain of what each supported Isaac Lab event term writes, and its defaults.

:data:`TERM_FIELDS` maps an event term of ``isaaclab.envs.mdp`` and its range
argument to the asset fields that argument drives: each with its valid
domain (:mod:`adr_lab.validity`), whether its elements are bodies or joints,
and how to read the defaults the term applies its operation to (from the
asset's data, as the term itself reads them). :func:`check_valid` refuses,
while the env is built, a binding whose parameter could put an element
outside its domain.

The table covers Isaac Lab's mass, inertia, joint-parameter and actuator-gain
terms and the per-env terms of :mod:`adr_lab.isaaclab.terms` (COM, shape
friction, gravity). A term or range argument it does not know (a user term, a
subclass, ``randomize_rigid_body_scale``, tendon parameters, ...) is not checked.
A mass term with ``recompute_inertia`` (its default) scales the body's inertia
by the new mass over the default, which a valid mass keeps valid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import torch
from isaaclab.envs import mdp
from isaaclab.managers import SceneEntityCfg

from adr_domain import ADRParamConfig
from adr_lab.isaaclab import terms
from adr_lab.validity import ANY, NON_NEGATIVE, POSITIVE, ValidDomain, find_violation, param_bounds

__all__ = ["TERM_FIELDS", "TermField", "check_valid"]

Reader = Callable[[Any], torch.Tensor]
"""The asset -> its defaults, ``(N, elements)`` or ``(N, elements, axes)``."""


@attrs.frozen
class TermField:
    """One asset field an event term's range argument writes.

    Attributes:
        field: its name in errors (the asset data's attribute, e.g. ``"body_mass"``).
        domain: the values its elements may hold.
        kind: ``"body"``, ``"joint"`` or ``"world"`` (one per env): what its elements are.
        read: reads the defaults the term applies its operation to (None: any value is valid).
        axis: what the last axis of a 3-D default indexes, in errors (``"axis"``, ``"shape"``).
    """

    field: str
    domain: ValidDomain
    kind: str
    read: Reader | None = None
    axis: str = "axis"


def _data(name: str) -> Reader:
    return lambda asset: getattr(asset.data, name).torch


def _inertia_diagonal(asset: Any) -> torch.Tensor:
    """Ixx, Iyy, Izz of ``body_inertia`` (the entries ``diagonal_only`` terms write)."""
    inertia: torch.Tensor = asset.data.body_inertia.torch
    return inertia[..., [0, 4, 8]]


def _gains(gain: str) -> Reader:
    """An actuator gain per joint, as ``randomize_actuator_gains`` reads it (NaN: not written)."""

    def read(asset: Any) -> torch.Tensor:
        from isaaclab.actuators import IdealPDActuator
        from isaaclab.actuators.newton import read_group_parameter

        collection = asset.actuators
        native: set[str] = getattr(collection, "_native_group_names", set())
        indices = getattr(collection, "_group_joint_indices", None)
        values = torch.full_like(getattr(asset.data, f"joint_{gain}").torch, float("nan"))
        for name, actuator in collection.items():
            if name in native:
                group = read_group_parameter(collection, name, "controller", _KP_KD[gain])
            elif getattr(actuator, "is_implicit_model", False) or isinstance(
                actuator, IdealPDActuator
            ):
                group = getattr(actuator, gain)
            else:
                continue
            joints = indices[name] if indices is not None else actuator.joint_indices
            values[:, joints] = group.to(values)
        return values

    return read


_KP_KD = {"stiffness": "kp", "damping": "kd"}


def _shape_friction(asset: Any) -> torch.Tensor:
    """``(N, bodies, most shapes of a body)`` each body's shape friction (NaN: no such shape)."""
    mu = terms.shape_friction(asset)
    shapes = terms.body_shapes(asset)
    most = max(1, *map(len, shapes))
    values = torch.full((mu.shape[0], len(shapes), most), float("nan"), dtype=mu.dtype)
    for body, ids in enumerate(shapes):
        values[:, body, : len(ids)] = mu[:, ids].to(values)
    return values


_MASS = TermField("body_mass", POSITIVE, "body", _data("body_mass"))
_INERTIA = TermField("body_inertia", POSITIVE, "body", _inertia_diagonal)
_COM = TermField("body_com_pos_b", ANY, "body")
_SHAPE_FRICTION = TermField("shape_material_mu", NON_NEGATIVE, "body", _shape_friction, "shape")
_GRAVITY = TermField("gravity", ANY, "world")
_FRICTION = (
    TermField("joint_friction_coeff", NON_NEGATIVE, "joint", _data("joint_friction_coeff")),
    TermField(
        "joint_viscous_friction_coeff",
        NON_NEGATIVE,
        "joint",
        _data("joint_viscous_friction_coeff"),
    ),
)
_ARMATURE = TermField("joint_armature", NON_NEGATIVE, "joint", _data("default_joint_armature"))
_POS_LIMITS = TermField("joint_pos_limits", ANY, "joint")

TERM_FIELDS: Mapping[tuple[object, str], tuple[TermField, ...]] = {
    (mdp.randomize_rigid_body_mass, "mass_distribution_params"): (_MASS,),
    (mdp.randomize_rigid_body_inertia, "inertia_distribution_params"): (_INERTIA,),
    (terms.randomize_com, "com_distribution_params"): (_COM,),
    (terms.randomize_friction, "friction_distribution_params"): (_SHAPE_FRICTION,),
    (terms.randomize_gravity, "gravity_distribution_params"): (_GRAVITY,),
    (mdp.randomize_joint_parameters, "friction_distribution_params"): _FRICTION,
    (mdp.randomize_joint_parameters, "armature_distribution_params"): (_ARMATURE,),
    (mdp.randomize_joint_parameters, "lower_limit_distribution_params"): (_POS_LIMITS,),
    (mdp.randomize_joint_parameters, "upper_limit_distribution_params"): (_POS_LIMITS,),
    (mdp.randomize_actuator_gains, "stiffness_distribution_params"): (
        TermField("joint_stiffness", NON_NEGATIVE, "joint", _gains("stiffness")),
    ),
    (mdp.randomize_actuator_gains, "damping_distribution_params"): (
        TermField("joint_damping", NON_NEGATIVE, "joint", _gains("damping")),
    ),
}
"""(event term, range argument) -> the fields it writes, with their valid domains."""


def _cell_defaults(values: torch.Tensor, ids: list[int]) -> torch.Tensor:
    """``(elements x axes, 2)`` float64: each cell's smallest and largest default over the envs."""
    cells = values[:, ids].detach().cpu().double()
    cells = cells.reshape(cells.shape[0], -1)
    return torch.stack([cells.amin(0), cells.amax(0)], dim=1)


def _label(field: TermField, asset: str, name: str, axis: int | None) -> str:
    label = f"{field.kind} {name!r} of {asset!r}"
    return label if axis is None else f"{label} ({field.axis} {axis})"


def _check_field(
    field: TermField,
    entity: SceneEntityCfg,
    asset: Any,
    operation: str,
    cfg: ADRParamConfig,
) -> str | None:
    """What is wrong with ``field`` of the elements ``entity`` selects, or None.

    Returns:
        One line naming the bound, field and element (see :meth:`Violation.describe`).
    """
    if field.read is None or field.domain == ANY:
        return None
    ids = _ids(entity, field.kind, asset)
    values = field.read(asset)
    axes = 1 if values.dim() == 2 else int(values.shape[-1])
    defaults = _cell_defaults(values, ids)
    written = ~defaults.isnan().any(dim=1)
    cells = written.nonzero().flatten().tolist()
    flat = defaults[written].reshape(-1).tolist()
    violation = find_violation(field.domain, operation, flat, param_bounds(cfg))
    if violation is None:
        return None
    element, axis = divmod(cells[violation.element // 2], axes)
    names = getattr(asset, f"{field.kind}_names")
    label = _label(field, entity.name, names[ids[element]], axis if axes > 1 else None)
    return violation.describe(field.field, label, operation)


def _ids(entity: SceneEntityCfg, kind: str, asset: Any) -> list[int]:
    ids = getattr(entity, f"{kind}_ids")
    if isinstance(ids, slice):
        return list(range(len(getattr(asset, f"{kind}_names"))))[ids]
    return [int(i) for i in ids]


def check_valid(
    func: object,
    range_arg: str,
    params: Mapping[str, Any],
    env: Any,
    cfg: ADRParamConfig,
) -> str | None:
    """What is wrong with a binding of ``cfg`` to ``range_arg`` of ``func``, or None.

    Args:
        func: the event term's function or class.
        range_arg: the argument that receives the parameter's values.
        params: the term's arguments, defaults filled in and scene entities resolved
            (``operation`` and ``asset_cfg`` among them).
        env: the env being built.
        cfg: the ADR parameter.
    """
    fields = [f for f in TERM_FIELDS.get((func, range_arg), ()) if f.read is not None]
    entity = params.get("asset_cfg")
    if not fields or not isinstance(entity, SceneEntityCfg):
        return None
    asset = env.scene[entity.name]
    for field in fields:
        problem = _check_field(field, entity, asset, str(params["operation"]), cfg)
        if problem is not None:
            return problem
    return None
