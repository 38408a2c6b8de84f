"""Per-env parameter values and worker assignment outside an update.

:class:`EnvValueAccess` is the object an :class:`~adr_domain.engine.ADREngine`
holds to read and draw per-env values of the tensor parameters (``get``,
``sample``, ``tensor_values``) and to reassign workers (``recycle``), over the
engine's buffers, tables and streams given to its constructor. Env ids
given to these methods are checked at once (one host sync) unless
``input_checks`` is ``off``; ``None`` means every env.
"""

from __future__ import annotations

import torch

from adr_domain import inputs, sampling, update, workers
from adr_domain.buffers import Buffers
from adr_domain.config import ADRConfig
from adr_domain.inputs import EnvIds
from adr_domain.params import ParamTable
from adr_domain.streams import RandomStreams
from adr_domain.tables import EngineTables, SamplingPlan
from adr_domain.types import InputChecks, ParamType

__all__ = ["EnvValueAccess", "value_slots"]


def value_slots(
    params: ParamTable, plan: SamplingPlan, buffers: Buffers
) -> dict[str, tuple[torch.Tensor, int]]:
    """``{name: (value table, row)}`` of every tensor parameter."""
    tables = (buffers.uvals, buffers.cvals)
    return {
        params.names[n]: (tables[categorical], row)
        for n, (categorical, row) in plan.rows_of(params.num_params).items()
    }


class EnvValueAccess:
    """``get`` / ``sample`` / ``pin`` / ``tensor_values`` / ``recycle`` over an engine's buffers.

    Args:
        cfg: the engine's config.
        params: its parameter table.
        buffers: its state tensors (values are read and written in place).
        tables: its constant tables.
        streams: its random streams.
        options: its update options.
        num_envs: ``N``.

    Attributes:
        slot_of: ``{name: (value table, row)}`` of every tensor parameter.
    """

    def __init__(
        self,
        cfg: ADRConfig,
        params: ParamTable,
        buffers: Buffers,
        tables: EngineTables,
        streams: RandomStreams,
        options: update.Options,
        num_envs: int,
    ) -> None:
        self.cfg = cfg
        self.params = params
        self.buffers = buffers
        self.tables = tables
        self.streams = streams
        self.options = options
        self.num_envs = num_envs
        self.device = buffers.bounds.device
        self.slot_of = value_slots(params, tables.sampling, buffers)
        self._single_plans: dict[str, SamplingPlan] = {}

    def resample(self, slots: torch.Tensor, pins: torch.Tensor) -> None:
        """Fresh values of every tensor parameter for the envs at ``slots``."""
        rows = self.tables.sampling.num_rows
        if rows:
            u = self.streams.uniforms(rows, slots.numel())
            update.resample_envs(self.buffers, self.tables, self.options, u, slots, pins)

    @torch.inference_mode()
    def sample(self, param_name: str, env_ids: EnvIds | None = None) -> torch.Tensor:
        """Draw new values of one tensor parameter for some envs and store them.

        Boundary workers evaluating this parameter get its bound (its next
        limit with ``adr_extended_boundary_sample``); every other env draws
        from the current range (uniform: real; categorical: integers).

        Args:
            param_name: a tensor parameter (one without ``range_path``).
            env_ids: ``(K,)`` envs to sample; None for all.

        Returns:
            ``(K,)`` the new values, in the order of ``env_ids`` (float32 for
            uniform, int64 for categorical parameters).

        Raises:
            ValueError: unknown or non-tensor parameter, bad env ids.
        """
        table, row = self._slot(param_name)
        ids = self._env_ids_or_all(env_ids)
        plan = self._single_plans.get(param_name)
        if plan is None:
            plan = self._single_plans[param_name] = self._plan_of(param_name)
        b = self.buffers
        pinned = b.next_ext if self.cfg.adr_extended_boundary_sample else b.bounds_ext
        values = sampling.fresh_values(
            self.streams.uniforms(2, ids.numel()),
            workers.pin_codes(b.types, b.modes, ids),
            b.bounds,
            pinned,
            plan,
            self.tables.positions,
        )[0].to(table.dtype)
        table[row].index_copy_(0, ids, values)
        return values

    def get(self, param_name: str, env_ids: EnvIds | None = None) -> torch.Tensor:
        """Current values of a tensor parameter.

        Returns:
            With ``env_ids`` None, the live ``(N,)`` tensor (float32 or int64);
            else ``(K,)`` values of those envs (a copy).

        Raises:
            ValueError: unknown or non-tensor parameter, bad env ids.
        """
        table, row = self._slot(param_name)
        if env_ids is None:
            return table[row, : self.num_envs]
        return table[row].index_select(0, self._env_ids_or_all(env_ids))

    @torch.inference_mode()
    def pin(self, param_name: str, values: torch.Tensor, env_ids: EnvIds | None = None) -> None:
        """Write given per-env values of one tensor parameter (e.g. to evaluate a
        policy at chosen settings); they hold until those envs are next resampled.

        Args:
            param_name: a tensor parameter.
            values: ``(K,)`` real values, one per env of ``env_ids`` (``(N,)``
                for None); categorical parameters take integral values.
            env_ids: ``(K,)`` envs to pin; None for all.

        Raises:
            ValueError: unknown or non-tensor parameter, bad env ids, or
                ``values`` of the wrong shape, not finite, or not integral for a
                categorical parameter (nothing is written then).
        """
        table, row = self._slot(param_name)
        ids = self._env_ids_or_all(env_ids)
        if not isinstance(values, torch.Tensor) or values.shape != ids.shape:
            shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values)
            raise ValueError(f"values: expected shape {tuple(ids.shape)}, got {shape}")
        checked = values.to(device=self.device, dtype=torch.float64)
        if not bool(torch.isfinite(checked).all()):
            raise ValueError(f"values: {param_name} values must be finite")
        if not table.is_floating_point() and not bool((checked == checked.round()).all()):
            raise ValueError(f"values: {param_name} is categorical; its values must be integers")
        table[row].index_copy_(0, ids, checked.to(table.dtype))

    def tensor_values(self) -> dict[str, torch.Tensor]:
        """Live ``(N,)`` value tensors of every tensor parameter, by name."""
        return {name: self.get(name) for name in self.params.tensor_names}

    @torch.inference_mode()
    def recycle(self, env_ids: EnvIds) -> None:
        """Give envs new worker types and modes (values are not resampled).

        Each env becomes a boundary worker with probability
        ``worker_adr_boundary_fraction``, evaluating a uniformly chosen bound.

        Raises:
            ValueError: bad env ids.
        """
        ids = self._env_ids_or_all(env_ids)
        draws = self.streams.assignment(ids.numel())
        b = self.buffers
        workers.assign(b.types, b.modes, ids, draws, self.cfg.worker_adr_boundary_fraction)

    def _plan_of(self, param_name: str) -> SamplingPlan:
        """The sampling plan of one tensor parameter alone."""
        n = torch.tensor([self.params.index(param_name)], device=self.device)
        none = n[:0]
        categorical = self.params.types[int(n)] is ParamType.CATEGORICAL
        uniform_index, categorical_index = (none, n) if categorical else (n, none)
        return SamplingPlan.build(
            uniform_index, categorical_index, self.buffers.num_queues, self.device
        )

    def _slot(self, param_name: str) -> tuple[torch.Tensor, int]:
        slot = self.slot_of.get(param_name)
        if slot is None:
            self.params.index(param_name)  # raises for unknown names
            raise ValueError(
                f"param_name: ADR parameter {param_name!r} has a range_path; its values are "
                "applied by the simulator adapter, not sampled as a tensor"
            )
        return slot

    def _env_ids_or_all(self, env_ids: EnvIds | None) -> torch.Tensor:
        if env_ids is None:
            return self.tables.positions[: self.num_envs]
        return self.checked_or_trashed(inputs.as_env_ids(env_ids, "env_ids", self.device))

    def checked_or_trashed(
        self, ids: torch.Tensor, name: str = "env_ids", *, deferred: bool = False
    ) -> torch.Tensor:
        """Ids checked at once (one sync), or kept out (to the trash slot) unchecked,
        or, for an update under deferred checks, kept out and noted."""
        checks = self.cfg.input_checks
        if checks is InputChecks.OFF:
            return torch.remainder(ids.clamp(-1, self.num_envs), self.num_envs + 1)
        if deferred and checks is InputChecks.DEFERRED:
            b = self.buffers
            slot, in_range, first = inputs.screen_ids(
                ids, b.seen, self.tables.positions, self.num_envs
            )
            ok = in_range & first
            inputs.note_offence(b.offence, ok, ids, ids.to(torch.float64))
            return torch.where(ok, slot, self.num_envs)
        inputs.check_ids_now(ids, self.num_envs, name)
        return ids
