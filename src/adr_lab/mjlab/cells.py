"""The cells of a model field a binding writes, and the build-time checks over them.

A binding's cells (which elements of its field, which axes) are found by
mjlab's own ``dr`` function: it writes NaN into env 0 once, and the cells that
became NaN are the binding's (the field is restored at once). So entity
types, default axes and addressing are mjlab's, not a copy of them. Over the
cells, :func:`check_cells` refuses a binding whose parameter could put an
element outside its field's valid domain (:mod:`adr_lab.validity`, with the
table of :mod:`adr_lab.mjlab.domains`) and two bindings writing the same cell
(the later would silently overwrite the earlier's values).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from mjlab.envs import ManagerBasedRlEnv
from mjlab.envs.mdp import dr
from mjlab.managers.scene_entity_config import SceneEntityCfg

from adr_domain import ADRParamConfig
from adr_lab.mjlab.domains import domain_of, element_label
from adr_lab.validity import ANY, find_violation, param_bounds

if TYPE_CHECKING:
    from adr_lab.mjlab.fields import FieldBinding

__all__ = ["binding_error", "check_cells", "dr_call_args", "exact_values", "probe_cells"]


def binding_error(binding: FieldBinding, problem: str) -> ValueError:
    """An error naming the binding's parameter and field, then ``problem``."""
    return ValueError(f"ADR binding of parameter {binding.param!r} to {binding.field!r}: {problem}")


def exact_values(values: torch.Tensor) -> dr.Distribution:
    """A ``dr`` distribution whose samples are ``values``, one per env, on every element."""
    flat = values.float()

    def sample(
        lower: torch.Tensor, upper: torch.Tensor, shape: tuple[int, ...], device: str
    ) -> torch.Tensor:
        return flat.view(-1, *([1] * (len(shape) - 1))).expand(shape).to(device)

    return dr.Distribution(name="adr-engine-values", sample=sample)


def dr_call_args(binding: FieldBinding, asset_cfg: SceneEntityCfg) -> dict[str, Any]:
    """The keyword arguments of the binding's ``dr`` call but ``ranges`` and ``distribution``."""
    return {
        "asset_cfg": asset_cfg,
        "operation": binding.operation,
        "axes": None if binding.axes is None else list(binding.axes),
    }


def probe_cells(
    env: ManagerBasedRlEnv, binding: FieldBinding, asset_cfg: SceneEntityCfg
) -> torch.Tensor:
    """The cells of the field ``binding`` writes: a bool mask of one world's field (CPU).

    Shape ``(E,)`` or ``(E, A)``, the field's shape without the world axis.
    Env 0's copy of every field the ``dr`` function touches is restored.
    """
    model = env.sim.model
    touched = {binding.field, *getattr(binding.func, "model_fields", ())}
    saved = {f: getattr(model, f)[0].clone() for f in touched if f in env.sim.expanded_fields}
    try:
        binding.func(
            env,
            torch.zeros(1, dtype=torch.long, device=env.device),
            ranges=(0.0, 0.0),
            distribution=exact_values(torch.full((1,), math.nan)),
            **dr_call_args(binding, asset_cfg),
        )
        written = torch.isnan(getattr(model, binding.field)[0])
        return (written & ~torch.isnan(saved[binding.field])).cpu()
    finally:
        for f, values in saved.items():
            getattr(model, f)[0].copy_(values)


def _cell_defaults(env: ManagerBasedRlEnv, field: str, mask: torch.Tensor) -> torch.Tensor:
    """``(C, 2)`` float64: each cell's smallest and largest compiled default over the worlds."""
    default = env.sim.get_default_field(field).detach().cpu().double()
    if field in env.sim.per_world_default_fields:
        worlds = default[:, mask]
        return torch.stack([worlds.amin(0), worlds.amax(0)], dim=1)
    return default[mask].unsqueeze(1).expand(-1, 2)


def _label(env: ManagerBasedRlEnv, field: str, mask: torch.Tensor, cell: int) -> str:
    index = mask.nonzero()[cell].tolist()
    return element_label(env.sim.mj_model, field, index[0], index[1] if len(index) > 1 else None)


def check_valid(
    env: ManagerBasedRlEnv, binding: FieldBinding, mask: torch.Tensor, cfg: ADRParamConfig
) -> None:
    """Refuse a binding whose parameter could put one of its cells outside the field's domain.

    Raises:
        ValueError: naming the parameter, field, element and the offending bound.
    """
    domain = domain_of(binding.field)
    if domain == ANY:
        return
    defaults = _cell_defaults(env, binding.field, mask).reshape(-1).tolist()
    violation = find_violation(domain, binding.operation, defaults, param_bounds(cfg))
    if violation is not None:
        element = _label(env, binding.field, mask, violation.element // 2)
        raise binding_error(binding, violation.describe(binding.field, element, binding.operation))


def check_no_overlap(
    env: ManagerBasedRlEnv, bound: Sequence[tuple[FieldBinding, torch.Tensor]]
) -> None:
    """Refuse two bindings that write a cell in common.

    Raises:
        ValueError: naming both parameters, the field and a shared element.
    """
    for i, (later, later_mask) in enumerate(bound):
        for earlier, earlier_mask in bound[:i]:
            if earlier.field != later.field or not bool(
                (shared := earlier_mask & later_mask).any()
            ):
                continue
            element = _label(env, later.field, shared, 0)
            raise ValueError(
                f"ADR parameters {earlier.param!r} and {later.param!r} are both bound to "
                f"{later.field!r} of {element}: the later binding would overwrite the earlier "
                "one's values and its curriculum would change nothing (bind each element and "
                "axis of a field to one parameter)"
            )


def check_cells(
    env: ManagerBasedRlEnv,
    params: Mapping[str, ADRParamConfig],
    bindings: Sequence[tuple[FieldBinding, SceneEntityCfg]],
) -> list[torch.Tensor]:
    """Probe every binding's cells; refuse invalid ranges and overlapping bindings.

    Args:
        env: the env (bound fields expanded per world).
        params: the ADR parameters by name (every binding's parameter among them).
        bindings: each binding with its resolved entity selection.

    Returns:
        Each binding's cells (see :func:`probe_cells`), in order.

    Raises:
        ValueError: see :func:`check_valid` and :func:`check_no_overlap`.
    """
    bound = [(b, probe_cells(env, b, asset_cfg)) for b, asset_cfg in bindings]
    for binding, mask in bound:
        check_valid(env, binding, mask, params[binding.param])
    check_no_overlap(env, bound)
    return [mask for _, mask in bound]
