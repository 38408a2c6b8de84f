"""Newton event terms that read their range at every call: COM, shape friction, gravity.

Isaac Lab's ``randomize_rigid_body_com`` (a per-axis ``com_range`` dict it
turns into floats), ``randomize_rigid_body_material`` (Newton: the friction
range is converted once, when the term is built) and
``randomize_physics_scene_gravity`` (one range for all envs, which it caches
as a tensor; add and scale accumulate over calls) cannot take one value per env.
The terms here can: each is an ordinary class-based event term whose range
argument is ``(low, high)``, floats or ``(K, 1)`` tensors for the ``K`` envs
being reset, drawn from uniformly per env (so an
:class:`~adr_lab.isaaclab.EventBinding`'s ``(v, v)`` writes exactly ``v``)
and applied with ``operation`` (``scale``, ``add``, ``abs``) to the value the
model was built with, never to the previous draw. They write the way Isaac
Lab's own Newton terms do:

* :class:`randomize_com` — the body's COM position through
  ``asset.set_coms_index`` (which notifies ``BODY_INERTIAL_PROPERTIES``);
  only the axes it names, so bindings of different axes of one body compose.
* :class:`randomize_friction` — Newton's ``shape_material_mu`` of every shape
  of the selected bodies, per world, through the asset's solver-view binding
  (Isaac Lab has no setter for it), then ``SHAPE_PROPERTIES``.
* :class:`randomize_gravity` — the env's row of Newton's per-world
  ``model.gravity`` in place (as Isaac Lab's Newton gravity term does;
  ``Model.set_gravity`` would read the array back to the host), then
  ``MODEL_PROPERTIES``. MuJoCo Warp keeps one gravity per world.

They need Newton physics (PhysX shares one gravity and buckets of materials
across envs); ``randomize_friction`` refuses Newton's Kamino solver, which
shares materials across worlds. :data:`FIXED_RANGE_TERMS` names, for each of
Isaac Lab's terms above, the term here that replaces it in a binding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import warp as wp
from isaaclab.envs import ManagerBasedEnv, mdp
from isaaclab.envs.mdp.events import _randomize_prop_by_op
from isaaclab.managers import EventTermCfg, ManagerTermBase, SceneEntityCfg
from isaaclab_newton.assets import Articulation
from isaaclab_newton.physics import NewtonCfg, NewtonManager
from newton import ModelFlags
from newton.solvers import SolverKamino

from adr_lab.validity import OPERATIONS

__all__ = [
    "AXES",
    "FIXED_RANGE_TERMS",
    "body_shapes",
    "randomize_com",
    "randomize_friction",
    "randomize_gravity",
    "shape_friction",
]

AXES = ("x", "y", "z")
"""The names of the components of a position or a gravity vector, in order."""

Range = tuple[float | torch.Tensor, float | torch.Tensor]
"""``(low, high)``: floats, or ``(K, 1)`` tensors for the ``K`` envs being reset."""

FIXED_RANGE_TERMS: Mapping[object, str] = {
    mdp.randomize_rigid_body_com: "adr_lab.isaaclab.terms.randomize_com",
    mdp.randomize_rigid_body_material: "adr_lab.isaaclab.terms.randomize_friction",
    mdp.randomize_physics_scene_gravity: "adr_lab.isaaclab.terms.randomize_gravity",
}
"""Isaac Lab's terms that cannot write one value per env -> the term to bind instead."""


def _require_newton(env: ManagerBasedEnv, term: str, why: str) -> None:
    if not isinstance(env.sim.cfg.physics, NewtonCfg):
        raise ValueError(
            f"{term} writes Newton's model and needs Newton physics "
            f"(the env runs {type(env.sim.cfg.physics).__name__}): {why}"
        )


def _check_operation(term: str, operation: str) -> None:
    if operation not in OPERATIONS:
        raise ValueError(
            f"{term}: operation must be one of {', '.join(OPERATIONS)}; got {operation!r}"
        )


def _axis_ids(term: str, axes: Sequence[str]) -> list[int]:
    unknown = [a for a in axes if a not in AXES]
    if unknown or not axes:
        raise ValueError(f"{term}: axes must be some of {', '.join(AXES)}; got {list(axes)!r}")
    return [AXES.index(a) for a in axes]


def _rows(env_ids: torch.Tensor | slice | None, columns: object) -> torch.Tensor | slice:
    """The row index of the envs ``env_ids`` (``None``: all) beside the column index ``columns``.

    Two index tensors select a block only when the rows are a column vector.
    """
    if env_ids is None:
        return slice(None)
    if isinstance(env_ids, slice) or isinstance(columns, slice):
        return env_ids
    return env_ids[:, None]


def _draw(
    defaults: torch.Tensor,
    value_range: Range,
    env_ids: torch.Tensor | slice | None,
    columns: Any,
    operation: str,
) -> torch.Tensor:
    """``(N, C)`` ``defaults`` with the cells of envs ``env_ids`` and ``columns`` drawn from
    ``value_range`` uniformly and combined with their default by ``operation``.

    Isaac Lab's own sampling (``_randomize_prop_by_op``, as its terms use it):
    ``rand * (high - low) + low``, exactly ``v`` for ``(v, v)``.
    """
    drawn: torch.Tensor = _randomize_prop_by_op(
        defaults.clone(), value_range, env_ids, columns, operation=operation, distribution="uniform"
    )
    return drawn


def body_shapes(asset: Any) -> list[list[int]]:
    """Per body, in the asset's public ``body_names`` order, its shape indices on the
    asset's solver-view shape axis (a rigid object has one body: all its shapes)."""
    shapes: list[list[int]] = asset._root_view.body_shapes
    if not isinstance(asset, Articulation):
        return [[s for body in shapes for s in body]]
    backend = asset.map_body_ids_to_backend(list(range(len(asset.body_names))))
    return [shapes[b] for b in backend]


def _selected_shapes(asset: Any, body_ids: Sequence[int] | slice) -> list[int]:
    """The shape indices of bodies ``body_ids``.

    Raises:
        ValueError: naming a selected body that has no shape.
    """
    per_body = body_shapes(asset)
    bodies = list(range(len(per_body)))[body_ids] if isinstance(body_ids, slice) else body_ids
    empty = [asset.body_names[b] for b in bodies if not per_body[b]]
    if empty:
        raise ValueError(f"randomize_friction: bodies {empty!r} have no collision shape")
    return [s for b in bodies for s in per_body[b]]


def shape_friction(asset: Any) -> torch.Tensor:
    """``(N, shapes)`` Newton's ``shape_material_mu`` of the asset's shapes, a view of the model."""
    view = asset._root_view.get_attribute("shape_material_mu", NewtonManager.get_model())
    mu: torch.Tensor = wp.to_torch(view[:, 0])
    return mu


class randomize_com(ManagerTermBase):  # type: ignore[misc]
    """Each env's COM position of the selected bodies, per axis, from the call's range.

    Params: ``asset_cfg``, ``com_distribution_params`` ``(low, high)`` [m, or
    a factor for ``scale``], ``axes`` (default all three; each axis its own
    draw), ``operation`` (default ``add``: an offset from the built COM).
    """

    def __init__(self, cfg: EventTermCfg, env: ManagerBasedEnv) -> None:
        super().__init__(cfg, env)
        name = "randomize_com"
        _require_newton(env, name, "the COM is written through Newton's asset setters")
        _check_operation(name, cfg.params["operation"])
        self._axes = _axis_ids(name, cfg.params["axes"])
        self._asset = env.scene[cfg.params["asset_cfg"].name]
        self._default: torch.Tensor = self._asset.data.body_com_pos_b.torch.clone()

    def __call__(
        self,
        env: ManagerBasedEnv,
        env_ids: torch.Tensor | slice | None,
        asset_cfg: SceneEntityCfg,
        com_distribution_params: Range,
        axes: Sequence[str] = AXES,
        operation: str = "add",
    ) -> None:
        """Write the COM of ``asset_cfg``'s bodies in ``env_ids``; other axes keep their value."""
        bodies = asset_cfg.body_ids
        rows = _rows(env_ids, bodies)
        coms = self._asset.data.body_com_pos_b.torch.clone()
        for axis in self._axes:
            drawn = _draw(
                self._default[..., axis], com_distribution_params, env_ids, bodies, operation
            )
            coms[..., axis] = drawn
        self._asset.set_coms_index(coms=coms[rows, bodies], body_ids=bodies, env_ids=env_ids)


class randomize_friction(ManagerTermBase):  # type: ignore[misc]
    """Each env's friction (Newton's ``shape_material_mu``) of the selected bodies' shapes.

    Params: ``asset_cfg``, ``friction_distribution_params`` ``(low, high)``
    (one draw per env, for every selected shape), ``operation`` (default
    ``abs``; ``scale`` and ``add`` apply to each shape's built friction).
    """

    def __init__(self, cfg: EventTermCfg, env: ManagerBasedEnv) -> None:
        super().__init__(cfg, env)
        name = "randomize_friction"
        _require_newton(env, name, "PhysX assigns materials from a few buckets")
        self._manager = env.sim.physics_manager
        if isinstance(self._manager._solver, SolverKamino):
            raise ValueError(f"{name}: Newton's Kamino solver shares materials across envs")
        _check_operation(name, cfg.params["operation"])
        entity: SceneEntityCfg = cfg.params["asset_cfg"]
        asset = env.scene[entity.name]
        self._mu = shape_friction(asset)
        self._shapes = torch.tensor(_selected_shapes(asset, entity.body_ids), device=env.device)
        self._default = self._mu[:, self._shapes].clone()

    def __call__(
        self,
        env: ManagerBasedEnv,
        env_ids: torch.Tensor | slice | None,
        asset_cfg: SceneEntityCfg,
        friction_distribution_params: Range,
        operation: str = "abs",
    ) -> None:
        """Write the friction of the shapes of ``asset_cfg``'s bodies in ``env_ids``."""
        drawn = _draw(self._default, friction_distribution_params, env_ids, slice(None), operation)
        rows = _rows(env_ids, self._shapes)
        self._mu[rows, self._shapes] = drawn[_rows(env_ids, slice(None))]
        self._manager.add_model_change(ModelFlags.SHAPE_PROPERTIES)


class randomize_gravity(ManagerTermBase):  # type: ignore[misc]
    """Each env's gravity (its world's row of Newton's ``model.gravity``), per axis.

    Params: ``gravity_distribution_params`` ``(low, high)`` [m/s^2, or a factor
    for ``scale``], ``axes`` (default all three; each axis its own draw),
    ``operation`` (default ``scale``: a factor on the built gravity, so
    ``(v, v)`` on all axes scales its magnitude by ``v``).
    """

    def __init__(self, cfg: EventTermCfg, env: ManagerBasedEnv) -> None:
        super().__init__(cfg, env)
        name = "randomize_gravity"
        _require_newton(env, name, "PhysX has one gravity for all envs")
        _check_operation(name, cfg.params["operation"])
        self._axes = torch.tensor(_axis_ids(name, cfg.params["axes"]), device=env.device)
        self._manager = env.sim.physics_manager
        self._default: torch.Tensor = self._gravity(env).clone()

    def _gravity(self, env: ManagerBasedEnv) -> torch.Tensor:
        """``(N, 3)`` the envs' rows of ``model.gravity`` (a view; the global world's is last)."""
        gravity: torch.Tensor = wp.to_torch(self._manager.get_model().gravity)[: env.num_envs]
        return gravity

    def __call__(
        self,
        env: ManagerBasedEnv,
        env_ids: torch.Tensor | slice | None,
        gravity_distribution_params: Range,
        axes: Sequence[str] = AXES,
        operation: str = "scale",
    ) -> None:
        """Write the gravity of the envs ``env_ids``; other axes keep their value."""
        drawn = _draw(self._default, gravity_distribution_params, env_ids, self._axes, operation)
        rows = _rows(env_ids, self._axes)
        self._gravity(env)[rows, self._axes] = drawn[rows, self._axes]
        self._manager.add_model_change(ModelFlags.MODEL_PROPERTIES)
