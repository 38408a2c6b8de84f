"""The task's ADR engine, the report of its latest update, and the episodes a
restore cut short.

:class:`TaskADR` is the engine-backed part of
:class:`~adr_isaac.adr_task.ADRTaskMixin`: after every ADR update it publishes
the reference's ``adr/...`` entries into the task's ``extras`` and, every
:data:`CHECK_INTERVAL` updates, raises a deferred input error; after a
restore it keeps the results of the episodes then in flight out of ADR.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from adr_domain import ADREngine, UpdateReport, adr_log_keys, adr_log_tensors

__all__ = ["CHECK_INTERVAL", "TaskADR"]

log = logging.getLogger(__name__)

CHECK_INTERVAL = 100
"""ADR updates between two ``engine.check()`` calls (one host sync each; the
reference logs its ADR entries at the same interval)."""


class TaskADR:
    """One task's ADR engine and what the task keeps beside it.

    Args:
        engine: the engine, None when ``task.adr.use_adr`` is false.
        num_envs: number of envs.
        device: device of the engine's tensors.

    Attributes:
        engine: the engine (None without ADR).
        last_report: the latest update's report (None before the first).
    """

    def __init__(self, engine: ADREngine | None, num_envs: int, device: torch.device) -> None:
        self.engine = engine
        self.last_report: UpdateReport | None = None
        self._restarted = torch.zeros(num_envs, dtype=torch.bool, device=device)
        self._any_restarted = False

    def publish(self, report: UpdateReport, extras: dict[str, Any]) -> None:
        """Keep ``report``, write the reference's ``adr/...`` entries into ``extras``
        (0-dim tensors) and, every :data:`CHECK_INTERVAL` updates, raise a
        deferred input error."""
        self.last_report = report
        if report.step % CHECK_INTERVAL == 0 and self.engine is not None:
            self.engine.check()
        extras.update(zip(adr_log_keys(report.param_names), adr_log_tensors(report), strict=True))
        if log.isEnabledFor(logging.INFO):
            moved = report.moved_bounds()
            if moved:
                log.info("ADR update %d moved %s", report.step, ", ".join(moved))

    def restart_all(self) -> None:
        """Take every env's current episode to restart now (at a restore): the
        results of these episodes are not fed to ADR."""
        self._restarted.fill_(True)
        self._any_restarted = True

    def credited(self, env_ids: torch.Tensor) -> torch.Tensor | None:
        """The envs of ``env_ids`` whose finished episode counts for ADR (None:
        none does); the others' episodes ran (partly) on a fresh simulator."""
        if not self._any_restarted:
            return env_ids
        restarted = self._restarted.index_select(0, env_ids)
        credited = env_ids[~restarted]
        self._restarted.index_fill_(0, env_ids, False)
        self._any_restarted = bool(self._restarted.any())
        skipped = env_ids.numel() - credited.numel()
        if skipped:
            log.info("%d envs whose episode restarted at the restore were not fed to ADR", skipped)
        return credited if credited.numel() else None
