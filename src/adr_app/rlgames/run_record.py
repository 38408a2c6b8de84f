"""What a run remembers about itself across resumes: the checkpoint files it wrote, and
its most robust policy so far.

**Most robust.** Under ADR the reward falls as the task gets harder, so the
highest-reward checkpoint is the policy of the *easiest* ranges. The robust
best is the checkpoint of the epoch that reached the widest randomization (the
highest NPD) while the rollout performance met the ADR high threshold
(``adr_objective_threshold_high``): the hardest ranges the policy still masters.
Epochs before rl_games' ``save_best_after`` do not count (as for its best reward).

**Own files.** Retention may delete only periodic checkpoints this run (or the
runs it resumed) wrote. The record travels in every checkpoint under
:data:`RUN_RECORD_KEY`, so a requeued run knows its predecessors' files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from adr_app.config.run_settings import RUN_RECORD_KEY
from adr_domain import ADREngine, is_int
from adr_infra import CheckpointKind, CheckpointName, RunLayout

__all__ = ["RUN_RECORD_KEY", "RobustBest", "RunRecord", "robust_npd"]


def robust_npd(engine: ADREngine) -> float | None:
    """The NPD the engine's ranges reach, if the rollout performance meets the ADR high
    threshold; None otherwise (no rollout worker finished yet, or performance too low)."""
    if not engine.rollout_perf_valid:
        return None
    if float(engine.rollout_perf.item()) < float(engine.cfg.adr_objective_threshold_high):
        return None
    return float(engine.npd().item())


@attrs.frozen
class RobustBest:
    """The widest ranges mastered so far.

    Attributes:
        npd: their NPD (``-inf`` before any epoch qualified).
        epoch: the epoch that reached them, or None.
    """

    npd: float = -math.inf
    epoch: int | None = None

    def improved_by(self, npd: float | None) -> bool:
        """Whether an epoch that reached ``npd`` (None: did not qualify) is a new robust best."""
        return npd is not None and npd > self.npd


def _own_periodic(name: str, layout: RunLayout) -> bool:
    parsed = CheckpointName.parse(name)
    return (
        parsed is not None
        and parsed.kind is CheckpointKind.PERIODIC
        and parsed.name == layout.experiment
    )


@attrs.frozen
class RunRecord:
    """The run's own periodic checkpoint files (names in ``nn/``, oldest first) and its
    robust best."""

    own_checkpoints: tuple[str, ...] = ()
    robust: RobustBest = RobustBest()

    def with_file(self, name: str) -> RunRecord:
        """The record after this run wrote the periodic file ``name``."""
        kept = tuple(n for n in self.own_checkpoints if n != name)
        return attrs.evolve(self, own_checkpoints=(*kept, name))

    def without_files(self, names: set[str]) -> RunRecord:
        """The record after these files were removed (or never written)."""
        return attrs.evolve(
            self, own_checkpoints=tuple(n for n in self.own_checkpoints if n not in names)
        )

    def to_tree(self) -> dict[str, Any]:
        """The checkpoint entry."""
        return {
            "own_checkpoints": list(self.own_checkpoints),
            "robust_npd": self.robust.npd,
            "robust_epoch": self.robust.epoch,
        }

    @classmethod
    def resumed(cls, tree: object, path: str | Path, layout: RunLayout) -> RunRecord:
        """The record of a run resumed from the checkpoint at ``path`` with entry ``tree``.

        Files the entry names stay owned if they are periodic files of this
        experiment; so does ``path`` itself when it is one in this run's ``nn/``.
        A checkpoint without the entry (older, or rl_games') starts a new record.
        """
        entry = tree if isinstance(tree, Mapping) else {}
        names = entry.get("own_checkpoints")
        owned = [n for n in names if isinstance(n, str)] if isinstance(names, list) else []
        resumed = Path(path)
        if resumed.parent.resolve() == layout.nn_dir.resolve():
            owned.append(resumed.name)
        owned = [n for n in dict.fromkeys(owned) if _own_periodic(n, layout)]
        npd = entry.get("robust_npd")
        epoch = entry.get("robust_epoch")
        robust = RobustBest(
            npd=float(npd) if isinstance(npd, (int, float)) else -math.inf,
            epoch=epoch if is_int(epoch) else None,
        )
        return cls(tuple(owned), robust)
