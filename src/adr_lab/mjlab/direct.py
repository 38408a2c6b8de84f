"""The write of a binding's values into its model field in a few torch operations.

An mjlab ``dr`` function resolves its entities, reads the compiled defaults,
samples and combines per axis and writes the targeted cells: some eighty
small torch operations per call, whatever the number of envs. At every reset
that fixed cost is most of what ADR's writes cost. :class:`DirectWrite` does
the same write with what the ``dr`` function resolved once: the binding's
cells (found by the ``dr`` function itself, :func:`~adr_lab.mjlab.cells.probe_cells`),
their compiled defaults and mjlab's own operation (``combine``), in four
operations: select the values, gather the base, combine, scatter.

It stands in for a ``dr`` function only where it writes what that function
writes: :func:`writes_like` calls both for env 0 with probe values and
compares every field the function declares, bit for bit (a function that does
more, such as ``geom_size`` recomputing bounds, keeps its own path).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from mjlab.envs import ManagerBasedRlEnv
from mjlab.envs.mdp.dr._types import resolve_operation

from adr_lab.mjlab.cells import exact_values

__all__ = ["PROBE_VALUES", "DirectWrite", "writes_like"]

PROBE_VALUES = (1.375, 0.0, -2.5)
"""Values :func:`writes_like` writes both ways (exact in float32; of both signs and zero)."""


class DirectWrite:
    """Writes per-env values into the cells of one model field, as a ``dr`` function would.

    Args:
        env: the env (the field expanded per world).
        field: the model field.
        cells: ``(E,)`` or ``(E, A)`` bool, the cells of one world the binding writes.
        operation: ``"scale"``, ``"add"`` or ``"abs"`` (mjlab's operation of that name).
    """

    def __init__(
        self, env: ManagerBasedRlEnv, field: str, cells: torch.Tensor, operation: str
    ) -> None:
        self._model = env.sim.model
        self._field = field
        device = torch.device(env.device)
        where = cells.nonzero().to(device)
        self._cells = tuple(where[:, d].unsqueeze(0) for d in range(where.shape[1]))
        self._operation = resolve_operation(operation)
        self._defaults: torch.Tensor | None = None
        self._per_world = field in env.sim.per_world_default_fields
        if self._operation.uses_defaults:
            default = env.sim.get_default_field(field).to(device)
            mask = cells.to(device)  # boolean indexing orders cells as nonzero() does
            self._defaults = default[:, mask] if self._per_world else default[mask].unsqueeze(0)

    def write(self, env_ids: torch.Tensor, values: torch.Tensor) -> None:
        """Write ``values`` (``(K,)``) of the envs ``env_ids`` (``(K,)`` int64) into every cell.

        The values are taken as float32, as :func:`~adr_lab.mjlab.cells.exact_values` does.
        """
        field = getattr(self._model, self._field)
        index = (env_ids.unsqueeze(1), *self._cells)
        combined = self._operation.combine(
            self._base(field, env_ids, index), values.float().unsqueeze(1)
        )
        field.index_put_(index, combined)

    def _base(
        self, field: torch.Tensor, env_ids: torch.Tensor, index: tuple[torch.Tensor, ...]
    ) -> torch.Tensor:
        """The values the operation combines with: compiled defaults or the field as it is."""
        if self._defaults is None:
            return field[index]
        if self._per_world:
            return self._defaults.index_select(0, env_ids)
        return self._defaults


def writes_like(
    env: ManagerBasedRlEnv,
    direct: DirectWrite,
    func: Callable[..., None],
    call: Mapping[str, Any],
    fields: tuple[str, ...],
) -> bool:
    """Whether ``direct`` leaves env 0's ``fields`` exactly as the ``dr`` function ``func`` does.

    Both write each of :data:`PROBE_VALUES` into env 0; env 0's fields are
    restored afterwards.

    Args:
        env: the env.
        direct: the direct write.
        func: the ``dr`` function.
        call: its keyword arguments besides ``ranges`` and ``distribution``.
        fields: every field it may write (its ``model_fields`` that are expanded).
    """
    model = env.sim.model
    saved = {f: getattr(model, f)[0].clone() for f in fields}
    env0 = torch.zeros(1, dtype=torch.long, device=env.device)

    def written() -> dict[str, torch.Tensor]:
        found = {f: getattr(model, f)[0].clone() for f in fields}
        for f, values in saved.items():
            getattr(model, f)[0].copy_(values)
        return found

    try:
        for probe in PROBE_VALUES:
            value = torch.full((1,), probe, device=env.device)
            func(env, env0, ranges=(0.0, 0.0), distribution=exact_values(value), **call)
            by_func = written()
            direct.write(env0, value)
            by_direct = written()
            if any(not torch.equal(by_func[f], by_direct[f]) for f in fields):
                return False
        return True
    finally:
        written()
