"""The valid domain of every MuJoCo model field an ADR binding can write, and element names.

The rule that uses the table (a parameter's values after the binding's
operation must stay in the field's domain) is :mod:`adr_lab.validity`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from adr_lab.validity import (
    ANY,
    NON_NEGATIVE,
    POSITIVE,
    SAME_SIGN,
    UNIT_INTERVAL,
    ValidDomain,
)

__all__ = ["FIELD_DOMAINS", "domain_of", "element_label"]

OPEN_ANGLE = ValidDomain(low=0.0, high=180.0, low_open=True, high_open=True)
"""An angle in degrees strictly between 0 and 180 (a camera's field of view)."""

FIELD_DOMAINS: Mapping[str, ValidDomain] = {
    # Bodies: mass and inertia > 0; positions and the centre of mass anywhere.
    "body_mass": POSITIVE,
    "body_inertia": POSITIVE,
    "body_ipos": ANY,
    "body_pos": ANY,
    # Joints and dofs: passive forces and rotor inertia are never negative.
    "dof_armature": NON_NEGATIVE,
    "dof_damping": NON_NEGATIVE,
    "dof_frictionloss": NON_NEGATIVE,
    "jnt_stiffness": NON_NEGATIVE,
    "jnt_range": ANY,
    "qpos0": ANY,
    # Geoms and contact pairs: friction coefficients >= 0, sizes > 0.
    "geom_friction": NON_NEGATIVE,
    "pair_friction": NON_NEGATIVE,
    "geom_size": POSITIVE,
    "geom_pos": ANY,
    "geom_rgba": UNIT_INTERVAL,
    # Actuators: a gear of 0 disables the motor, a sign flip reverses it.
    "actuator_gear": SAME_SIGN,
    # Tendons: as joints.
    "tendon_armature": NON_NEGATIVE,
    "tendon_damping": NON_NEGATIVE,
    "tendon_frictionloss": NON_NEGATIVE,
    "tendon_stiffness": NON_NEGATIVE,
    # Cameras, lights, materials, sites (rendering only).
    "cam_fovy": OPEN_ANGLE,
    "cam_intrinsic": ANY,
    "cam_pos": ANY,
    "light_ambient": NON_NEGATIVE,
    "light_attenuation": NON_NEGATIVE,
    "light_cutoff": POSITIVE,
    "light_diffuse": NON_NEGATIVE,
    "light_dir": ANY,
    "light_exponent": NON_NEGATIVE,
    "light_pos": ANY,
    "light_specular": NON_NEGATIVE,
    "mat_emission": NON_NEGATIVE,
    "mat_rgba": UNIT_INTERVAL,
    "mat_shininess": UNIT_INTERVAL,
    "mat_specular": UNIT_INTERVAL,
    "mat_texrepeat": ANY,
    "site_pos": ANY,
}
"""Model field -> the values its elements may hold (every field of ``DR_FUNCTIONS``)."""


def domain_of(field: str) -> ValidDomain:
    """The valid domain of ``field`` (any value for a field the table does not know)."""
    return FIELD_DOMAINS.get(field, ANY)


_ACCESSORS = {
    "body": "body",
    "geom": "geom",
    "jnt": "joint",
    "actuator": "actuator",
    "tendon": "tendon",
    "cam": "camera",
    "light": "light",
    "mat": "material",
    "site": "site",
    "pair": "pair",
}
"""Field prefix -> the kind of model element its rows are (``MjModel``'s accessor of it)."""


def _row(model: Any, field: str, index: int) -> tuple[str, int] | None:
    """The named model element of row ``index`` of ``field``: its kind and id."""
    if field.startswith("dof_"):
        return "joint", int(model.dof_jntid[index])
    if field == "qpos0":
        starts = np.asarray(model.jnt_qposadr)
        return "joint", int(np.searchsorted(starts, index, side="right")) - 1
    kind = _ACCESSORS.get(field.split("_", 1)[0])
    return None if kind is None else (kind, index)


def element_label(model: object, field: str, index: int, axis: int | None) -> str:
    """A model element as errors name it: ``"body 'pole_1'"``, ``"geom 'foot' (axis 0)"``.

    Args:
        model: the compiled ``mujoco.MjModel``.
        field: a model field.
        index: a row of the field.
        axis: the axis of a multi-axis field, or None.
    """
    row = _row(model, field, index)
    name = None if row is None else str(getattr(model, row[0])(row[1]).name)
    kind = "element" if row is None else row[0]
    label = f"{kind} {name!r}" if name else f"{kind} {index}"
    return label if axis is None else f"{label} (axis {axis})"
