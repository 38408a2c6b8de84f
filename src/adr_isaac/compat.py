"""IsaacGymEnvs' ``ADRVecTask`` ADR API over :class:`~adr_domain.ADREngine`, without Isaac Gym.

:class:`ADRCompat` exposes the reference's names with the reference's meaning
so that DeXtreme-style code can drive this engine unchanged. Its dict-style
views (``adr_params``, ``adr_objective_queues``, ``extras``) read the engine
state when accessed; ``adr_update`` itself never copies to the host (beyond
the engine's optional input check).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch

from adr_domain import ADRConfig, ADREngine, EnvIds, UpdateReport, WorkerType, step_bound
from adr_infra import restore_engine

__all__ = [
    "ADRCompat",
    "ADRExtras",
    "ReferenceConfigNames",
    "RolloutWorkerModes",
    "adr_log_values",
]

log = logging.getLogger(__name__)


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
        spec = engine.cfg.params[engine.params.names[index]]
        self._static: dict[str, Any] = {
            "init_range": list(spec.init_range),
            "limits": list(spec.limits),
            "delta": spec.delta,
            "delta_style": spec.delta_style.value,
            "type": spec.type.value,
        }
        if spec.range_path is not None:
            self._static["range_path"] = spec.range_path

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


class _QueuesView(Sequence[_QueueView]):
    def __init__(self, engine: ADREngine) -> None:
        self._queues = [_QueueView(engine, q) for q in range(2 * engine.num_params)]

    def __len__(self) -> int:
        return len(self._queues)

    def __getitem__(self, index: Any) -> Any:
        return self._queues[index]


def adr_log_values(engine: ADREngine, report: UpdateReport | None = None) -> dict[str, float]:
    """The reference's ADR log entries with their current values (one host copy):
    ``adr/params/<name>/lower|upper``,
    ``adr/objective_perf/boundary/<name>/lower|upper/value|queue_len``,
    ``adr/objective_perf/rollouts`` and ``adr/npd``.

    With ``report``, the engine's latest update, each boundary ``value`` is the
    queue mean that update evaluated, as the reference logs it: the objective
    that moved a bound, although its queue is now empty. Without it, ``value``
    is the mean of what each queue holds now.
    """
    bounds = engine.bounds.tolist()
    means = (engine.queue_means() if report is None else report.queue_means).tolist()
    lengths = engine.queue_lengths.tolist()
    values: dict[str, float] = {}
    for name, (lo, hi) in zip(engine.param_names, bounds, strict=True):
        values[f"adr/params/{name}/lower"] = lo
        values[f"adr/params/{name}/upper"] = hi
    for n, name in enumerate(engine.param_names):
        for b, side in enumerate(("lower", "upper")):
            prefix = f"adr/objective_perf/boundary/{name}/{side}"
            values[f"{prefix}/value"] = means[n][b]
            values[f"{prefix}/queue_len"] = lengths[n][b]
    values["adr/objective_perf/rollouts"] = float(engine.rollout_perf.item())
    values["adr/npd"] = float(engine.npd().item())
    return values


class ADRExtras(dict[str, Any]):
    """``extras``: a plain ``dict`` holding the task's entries and the reference's ADR keys.

    ADR entries (``adr/params/<name>/lower|upper``,
    ``adr/objective_perf/boundary/<name>/lower|upper/value|queue_len``,
    ``adr/objective_perf/rollouts``, ``adr/npd``) are Python numbers refreshed
    from the engine, with one host copy, when the dict is read after an update
    (``adr_update`` itself copies nothing). It is a real ``dict``, as
    IsaacGymEnvs' observer requires; reads that bypass Python methods (e.g.
    ``dict(extras)``) see the values of the last refresh.
    """

    def __init__(self, engine: ADREngine) -> None:
        super().__init__()
        self._engine = engine
        self._refreshed = -1
        self._report: UpdateReport | None = None
        self._report_generation = -1
        self.refresh()

    def record(self, report: UpdateReport) -> None:
        """Take the boundary values of the engine's latest update from its report."""
        self._report = report
        self._report_generation = self._engine.generation

    def adr_values(self) -> dict[str, Any]:
        """All ADR entries, freshly read from the engine (and its latest report)."""
        current = self._report_generation == self._engine.generation
        return adr_log_values(self._engine, self._report if current else None)

    def refresh(self) -> None:
        """Bring the ADR entries up to date if the engine changed (update or load)."""
        if self._refreshed != self._engine.generation:
            super().update(self.adr_values())
            self._refreshed = self._engine.generation

    def __getitem__(self, key: str) -> Any:
        self.refresh()
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.refresh()
        return super().get(key, default)

    def __iter__(self) -> Iterator[str]:
        self.refresh()
        return super().__iter__()

    def __contains__(self, key: object) -> bool:
        self.refresh()
        return super().__contains__(key)

    def keys(self) -> Any:
        self.refresh()
        return super().keys()

    def values(self) -> Any:
        self.refresh()
        return super().values()

    def items(self) -> Any:
        self.refresh()
        return super().items()

    def copy(self) -> dict[str, Any]:
        self.refresh()
        return dict(super().items())

    def clear(self) -> None:
        """Remove the task's own entries (ADR entries stay)."""
        super().clear()
        self._refreshed = -1
        self.refresh()


class ReferenceConfigNames(ABC):
    """The reference's attribute names for ``task.adr`` values (read-only)."""

    @property
    @abstractmethod
    def adr_cfg(self) -> ADRConfig:
        """The validated ``task.adr`` block."""

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


class ADRCompat(ReferenceConfigNames):
    """The ADR part of IsaacGymEnvs' ``ADRVecTask``, simulator-free.

    Args:
        adr_cfg: the ``task.adr`` mapping (or a validated :class:`ADRConfig`).
        num_envs: number of environments.
        device: device of every tensor.
        seed: seed of the engine's random streams.

    Attributes (reference names):
        adr_params: ``{name: {"range": [lo, hi], "next_limits": [lo, hi],
            "init_range", "limits", "delta", "delta_style", ...}}``, read live.
        adr_params_keys: parameter names in order (``n`` of modes ``2n``/``2n+1``).
        adr_params_builtin_keys: names of the parameters with a ``range_path``.
        num_adr_params: ``P``.
        adr_objective_queues: ``2P`` queues supporting ``len()`` and iteration.
        worker_types, adr_modes: live ``(num_envs,)`` int64 tensors.
        adr_tensor_values: ``{name: (num_envs,) tensor}`` of tensor parameters.
        extras: :class:`ADRExtras`.
        last_step: set by the simulator adapter (frame count); -1 here.
    """

    def __init__(
        self,
        adr_cfg: ADRConfig | Mapping[str, Any],
        num_envs: int,
        device: torch.device | str = "cpu",
        seed: int = 0,
    ) -> None:
        self._adr_cfg = ADRConfig.from_mapping(adr_cfg)
        self.engine = ADREngine(self._adr_cfg, num_envs, device=device, seed=seed)
        self.num_envs = num_envs
        self.device = self.engine.device
        self.all_env_ids = torch.arange(num_envs, device=self.device)
        self.adr_params_keys = list(self.engine.param_names)
        self.adr_params_builtin_keys = list(self.engine.params.builtin_names)
        self.num_adr_params = self.engine.num_params
        self.adr_params: dict[str, _ParamView] = {
            name: _ParamView(self.engine, n) for n, name in enumerate(self.adr_params_keys)
        }
        self.adr_objective_queues = _QueuesView(self.engine)
        self.worker_types = self.engine.worker_types
        self.adr_modes = self.engine.adr_modes
        self.adr_tensor_values = self.engine.tensor_values()
        self.extras = ADRExtras(self.engine)
        self.last_step = -1
        self.last_report: UpdateReport | None = None

    @property
    def adr_cfg(self) -> ADRConfig:
        """The validated ``task.adr`` block."""
        return self._adr_cfg

    @property
    def use_adr(self) -> bool:
        return self.adr_cfg.use_adr

    @property
    def adr_rollout_perf_last(self) -> float | None:
        """Rollout performance EMA, None until a rollout worker finished."""
        if not self.engine.rollout_perf_valid:
            return None
        return float(self.engine.rollout_perf.item())

    # The reference's methods.
    def adr_update(self, rand_envs: EnvIds, adr_objective: torch.Tensor) -> UpdateReport:
        """One ADR update (see :meth:`ADREngine.update`).

        Args:
            rand_envs: envs being reset (list of ints or a LongTensor).
            adr_objective: ``(num_envs,)`` per-env objective.

        Returns:
            The engine's report (the reference returns None).
        """
        self.last_report = self.engine.update(rand_envs, adr_objective)
        self.extras.record(self.last_report)
        return self.last_report

    def sample_adr_tensor(self, param_name: str, env_ids: EnvIds | None = None) -> torch.Tensor:
        """Sample and store new values of a tensor parameter (``(len(env_ids),)``)."""
        return self.engine.sample(param_name, env_ids)

    def get_adr_tensor(self, param_name: str, env_ids: EnvIds | None = None) -> torch.Tensor:
        """Current values of a tensor parameter (the live tensor when ``env_ids`` is None)."""
        return self.engine.get(param_name, env_ids)

    def recycle_envs(self, recycle_envs: EnvIds) -> None:
        """Give envs new worker types and modes."""
        self.engine.recycle(recycle_envs)

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

    # State.
    def get_env_state(self) -> dict[str, Any]:
        """``{"adr": <complete engine state>, "adr_params": <reference-style ranges>}``.

        ``adr_params`` mirrors what IsaacGymEnvs saves (per parameter ``range``,
        ``next_limits`` and its config), for tools that read it.
        """
        return {
            "adr": self.engine.state_dict(),
            "adr_params": {name: dict(view) for name, view in self.adr_params.items()},
        }

    def set_env_state(self, env_state: Mapping[str, Any] | None) -> None:
        """Restore :meth:`get_env_state` output; ``None`` is a no-op.

        A state from IsaacGymEnvs (only ``adr_params``) restores ranges and next
        limits; everything else starts fresh (logged).
        """
        if env_state is None:
            return
        restore_engine(self.engine, env_state, path="env state")
