"""IsaacGymEnvs' ADR names, defined once over an :class:`~adr_domain.ADREngine`.

:class:`ReferenceADR` is the base of both :class:`~adr_isaac.compat.ADRCompat`
(simulator-free) and :class:`~adr_isaac.adr_task.ADRTaskMixin` (the Isaac Gym
task base): the ``task.adr`` option names, the live views (``adr_params``,
``adr_objective_queues``, ``worker_types``, ...) and the reference's methods
(``adr_update``, ``sample_adr_tensor``, ``recycle_envs``, ...), each with the
reference's meaning. A subclass provides :attr:`ReferenceADR.adr_engine`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch

from adr_domain import (
    ADRConfig,
    ADREngine,
    EnvIds,
    UpdateReport,
    WorkerType,
    reference_param_entry,
    step_bound,
)

__all__ = ["ReferenceADR", "RolloutWorkerModes"]


class RolloutWorkerModes:
    """The reference's worker type constants (values of ``worker_types``)."""

    ADR_ROLLOUT = int(WorkerType.ROLLOUT)
    ADR_BOUNDARY = int(WorkerType.BOUNDARY)
    TEST_ENV = int(WorkerType.TEST)


class _ParamView(Mapping[str, Any]):
    """``adr_params[name]``: the config entry plus live ``range`` and ``next_limits``."""

    def __init__(self, engine: ADREngine, index: int) -> None:
        self._engine = engine
        self._index = index
        self._static = reference_param_entry(engine.cfg.params[engine.params.names[index]])

    def __getitem__(self, key: str) -> Any:
        if key == "range":
            return self._engine.bounds[self._index].tolist()
        if key == "next_limits":
            return self._engine.next_limits[self._index].tolist()
        return self._static[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._static
        yield "range"
        yield "next_limits"

    def __len__(self) -> int:
        return len(self._static) + 2

    def __repr__(self) -> str:
        return repr(dict(self))


class _QueueView(Sequence[float]):
    """``adr_objective_queues[i]``: results of queue ``i``, oldest first."""

    def __init__(self, engine: ADREngine, queue: int) -> None:
        self._engine = engine
        self._queue = queue

    def _values(self) -> list[float]:
        values: list[float] = self._engine.queue_contents(
            self._queue // 2, self._queue % 2
        ).tolist()
        return values

    def __len__(self) -> int:
        return int(self._engine.queue_lengths.view(-1)[self._queue].item())

    def __getitem__(self, index: Any) -> Any:
        return self._values()[index]

    def __iter__(self) -> Iterator[float]:
        return iter(self._values())

    @property
    def maxlen(self) -> int:
        """The queue length threshold (as ``collections.deque.maxlen``)."""
        return self._engine.queue_length

    def __repr__(self) -> str:
        return f"queue({self._values()}, maxlen={self.maxlen})"


class _Views:
    """The dict- and list-like views of one engine, built once."""

    def __init__(self, engine: ADREngine) -> None:
        self.engine = engine
        names = engine.param_names
        self.params = {name: _ParamView(engine, n) for n, name in enumerate(names)}
        self.queues = [_QueueView(engine, q) for q in range(2 * engine.num_params)]


class ReferenceADR(ABC):
    """The reference's ADR attributes and methods over :attr:`adr_engine`.

    Subclasses provide :attr:`adr_engine` (raising ``AttributeError`` when
    ADR is off) and :meth:`_after_adr_update`.
    """

    _reference_views: _Views | None = None

    @property
    @abstractmethod
    def adr_engine(self) -> ADREngine:
        """The ADR engine."""

    def _views(self) -> _Views:
        engine = self.adr_engine
        views = self._reference_views
        if views is None or views.engine is not engine:
            views = self._reference_views = _Views(engine)
        return views

    # ------------------------------------------------------------------ config names

    @property
    def adr_cfg(self) -> ADRConfig:
        """The validated ``task.adr`` block (the reference keeps the raw dict)."""
        return self.adr_engine.cfg

    @property
    def update_adr_ranges(self) -> bool:
        """``task.adr.update_adr_ranges``."""
        return self.adr_cfg.update_adr_ranges

    @property
    def adr_clear_other_queues(self) -> bool:
        """``task.adr.clear_other_queues``."""
        return self.adr_cfg.clear_other_queues

    @property
    def adr_extended_boundary_sample(self) -> bool:
        """``task.adr.adr_extended_boundary_sample``."""
        return self.adr_cfg.adr_extended_boundary_sample

    @property
    def worker_adr_boundary_fraction(self) -> float:
        """``task.adr.worker_adr_boundary_fraction``: share of *boundary* workers."""
        return self.adr_cfg.worker_adr_boundary_fraction

    @property
    def adr_queue_threshold_length(self) -> int:
        """``task.adr.adr_queue_threshold_length``."""
        return self.adr_cfg.adr_queue_threshold_length

    @property
    def adr_objective_threshold_low(self) -> float:
        """``task.adr.adr_objective_threshold_low``."""
        return self.adr_cfg.adr_objective_threshold_low

    @property
    def adr_objective_threshold_high(self) -> float:
        """``task.adr.adr_objective_threshold_high``."""
        return self.adr_cfg.adr_objective_threshold_high

    @property
    def adr_rollout_perf_alpha(self) -> float:
        """``task.adr.adr_rollout_perf_alpha``."""
        return self.adr_cfg.adr_rollout_perf_alpha

    @property
    def adr_load_from_checkpoint(self) -> bool:
        """``task.adr.adr_load_from_checkpoint``."""
        return self.adr_cfg.adr_load_from_checkpoint

    # ------------------------------------------------------------------ views

    @property
    def adr_params(self) -> Mapping[str, Mapping[str, Any]]:
        """``{name: {"range", "next_limits", "init_range", "limits", "delta", ...}}``, live."""
        return self._views().params

    @property
    def adr_params_keys(self) -> list[str]:
        """Parameter names in order (parameter ``n`` has ADR modes ``2n``, ``2n + 1``)."""
        return list(self.adr_engine.param_names)

    @property
    def adr_params_builtin_keys(self) -> list[str]:
        """Names of the parameters applied through a ``range_path``."""
        return list(self.adr_engine.params.builtin_names)

    @property
    def num_adr_params(self) -> int:
        """Number of ADR parameters."""
        return self.adr_engine.num_params

    @property
    def adr_objective_queues(self) -> Sequence[Sequence[float]]:
        """The ``2 * num_adr_params`` boundary queues (``len()``, iteration, ``maxlen``)."""
        return self._views().queues

    @property
    def worker_types(self) -> torch.Tensor:
        """``(num_envs,)`` int64 live :class:`RolloutWorkerModes` of each env."""
        return self.adr_engine.worker_types

    @property
    def adr_modes(self) -> torch.Tensor:
        """``(num_envs,)`` int64 live boundary (``2n`` low, ``2n + 1`` high) of each env."""
        return self.adr_engine.adr_modes

    @property
    def adr_tensor_values(self) -> dict[str, torch.Tensor]:
        """``{name: (num_envs,) live tensor}`` of the tensor parameters."""
        return self.adr_engine.tensor_values()

    @property
    def adr_rollout_perf_last(self) -> float | None:
        """Rollout performance EMA, None until a rollout worker finished."""
        engine = self.adr_engine
        if not engine.rollout_perf_valid:
            return None
        return float(engine.rollout_perf.item())

    # ------------------------------------------------------------------ methods

    def adr_update(self, rand_envs: EnvIds, adr_objective: torch.Tensor) -> UpdateReport:
        """One ADR update (see :meth:`ADREngine.update`).

        Args:
            rand_envs: envs whose episode ended (ints or a LongTensor).
            adr_objective: ``(num_envs,)`` per-env objective (e.g. successes).

        Returns:
            What the update did (the reference returns None).
        """
        report = self.adr_engine.update(rand_envs, adr_objective)
        self._after_adr_update(report)
        return report

    @abstractmethod
    def _after_adr_update(self, report: UpdateReport) -> None:
        """Run after every :meth:`adr_update` (e.g. to publish the ``adr/...`` entries)."""

    def sample_adr_tensor(self, param_name: str, env_ids: EnvIds | None = None) -> torch.Tensor:
        """Sample and store new values of a tensor parameter (``(len(env_ids),)``)."""
        return self.adr_engine.sample(param_name, env_ids)

    def get_adr_tensor(self, param_name: str, env_ids: EnvIds | None = None) -> torch.Tensor:
        """Current values of a tensor parameter (the live tensor when ``env_ids`` is None)."""
        return self.adr_engine.get(param_name, env_ids)

    def recycle_envs(self, recycle_envs: EnvIds) -> None:
        """Give envs new worker types and modes."""
        self.adr_engine.recycle(recycle_envs)

    def modify_adr_param(
        self,
        param: float,
        direction: str,
        adr_param_dict: Mapping[str, Any],
        param_limit: float | None = None,
    ) -> tuple[float, bool]:
        """Move ``param`` one step ``'up'`` or ``'down'`` by the dict's ``delta`` and
        ``delta_style``, never past ``param_limit``.

        Returns:
            ``(new_value, changed)``; ``changed`` is whether it moved by more than 1e-9.
        """
        if "delta" not in adr_param_dict:
            raise ValueError("adr_param_dict: needs a 'delta' entry")
        return step_bound(
            float(param),
            direction,
            float(adr_param_dict["delta"]),
            adr_param_dict.get("delta_style", "additive"),
            None if param_limit is None else float(param_limit),
        )

    @staticmethod
    def env_ids_from_mask(mask: torch.Tensor) -> torch.Tensor:
        """Ids of the True entries of a ``(num_envs,)`` mask (syncs with the host)."""
        return torch.nonzero(mask, as_tuple=False).squeeze(-1)
