"""IsaacGymEnvs' ``ADRVecTask`` ADR API over :class:`~adr_domain.ADREngine`, without Isaac Gym.

:class:`ADRCompat` holds one engine and exposes the reference's names (from
:class:`~adr_isaac.reference.ReferenceADR`) with the reference's meaning, so
that DeXtreme-style code can drive this engine unchanged. Its dict-style
views (``adr_params``, ``adr_objective_queues``, ``extras``) read the engine
state when accessed; ``adr_update`` itself never copies to the host.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch

from adr_domain import (
    ENGINE_STATE_KEY,
    REFERENCE_PARAMS_KEY,
    ADRConfig,
    ADREngine,
    UpdateReport,
    adr_log_values,
    reference_params,
)
from adr_infra import restore_engine
from adr_isaac.reference import ReferenceADR, RolloutWorkerModes

__all__ = ["ADRCompat", "ADRExtras", "RolloutWorkerModes"]


class ADRExtras(dict[str, Any]):
    """``extras``: a plain ``dict`` holding the task's entries and the reference's ADR keys.

    ADR entries (see :mod:`adr_domain.adr_log_keys`) are Python numbers refreshed
    from the engine, with one host copy, when the dict is read after an
    update (``adr_update`` itself copies nothing). It is a real ``dict``, as
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

    def adr_values(self) -> dict[str, float]:
        """All ADR entries, freshly read from the engine: a boundary ``value`` is
        the queue mean the latest update evaluated (the objective that moved a
        bound, although its queue is now empty), or after a load the mean of
        what the queue holds."""
        current = self._report if self._report_generation == self._engine.generation else None
        self._engine.check()
        return adr_log_values(current if current is not None else self._engine.report())

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


class ADRCompat(ReferenceADR):
    """The ADR part of IsaacGymEnvs' ``ADRVecTask``, simulator-free.

    Args:
        adr_cfg: the ``task.adr`` mapping (or a validated :class:`ADRConfig`).
        num_envs: number of environments.
        device: device of every tensor.
        seed: seed of the engine's random streams.
        compile_update: see :class:`~adr_domain.ADREngine`.

    Attributes (beyond the reference names of :class:`ReferenceADR`):
        engine: the engine.
        all_env_ids: ``(num_envs,)`` int64.
        extras: :class:`ADRExtras`.
        last_report: the latest update's report (None before the first).
        last_step: set by the simulator adapter (frame count); -1 here.
    """

    def __init__(
        self,
        adr_cfg: ADRConfig | Mapping[str, Any],
        num_envs: int,
        device: torch.device | str = "cpu",
        seed: int = 0,
        compile_update: bool | str = False,
    ) -> None:
        self.engine = ADREngine(
            adr_cfg, num_envs, device=device, seed=seed, compile_update=compile_update
        )
        self.num_envs = num_envs
        self.device = self.engine.device
        self.all_env_ids = torch.arange(num_envs, device=self.device)
        self.extras = ADRExtras(self.engine)
        self.last_step = -1
        self.last_report: UpdateReport | None = None

    @property
    def adr_engine(self) -> ADREngine:
        """The engine."""
        return self.engine

    @property
    def use_adr(self) -> bool:
        """``task.adr.use_adr``."""
        return self.adr_cfg.use_adr

    def _after_adr_update(self, report: UpdateReport) -> None:
        self.last_report = report
        self.extras.record(report)

    def get_env_state(self) -> dict[str, Any]:
        """``{"adr": <complete engine state>, "adr_params": <reference-style ranges>}``.

        ``adr_params`` mirrors what IsaacGymEnvs saves (per parameter ``range``,
        ``next_limits`` and its config), for tools that read it.
        """
        return {
            ENGINE_STATE_KEY: self.engine.state_dict(),
            REFERENCE_PARAMS_KEY: reference_params(self.engine),
        }

    def set_env_state(self, env_state: Mapping[str, Any] | None) -> None:
        """Restore :meth:`get_env_state` output; ``None`` is a no-op.

        A state from IsaacGymEnvs (only ``adr_params``) restores ranges and next
        limits; everything else starts fresh (logged).
        """
        if env_state is None:
            return
        restore_engine(self.engine, env_state, path="env state")
