"""The engine glue every manager-based binding shares (mjlab, Isaac Lab).

:class:`AdrCore` holds one :class:`~adr_domain.ADREngine` for all envs of a
process, takes the objective of the envs whose episode ended, and owns the
complete ADR state the checkpoint carries. It knows nothing of managers,
scenes or model fields: the framework glue (``adr_lab.manager``,
``adr_lab.mjlab``, ``adr_lab.isaaclab``) finds the finished envs, evaluates the
objective and writes the values into the simulator.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch

from adr_domain import (
    ENGINE_STATE_KEY,
    REFERENCE_PARAMS_KEY,
    SCHEMA_VERSION_KEY,
    ADREngine,
    Commit,
    StagedLoad,
    StateReader,
    UpdateReport,
    adopt_shared_state,
    adr_log_keys,
    adr_log_tensors,
    migrate_engine_state,
    reference_params,
)

__all__ = ["LAB_STATE_KEY", "LAB_STATE_VERSION", "AdrCore"]

log = logging.getLogger(__name__)

LAB_STATE_KEY = "adr_lab"
"""The env-state entry of adr_lab's own state (beside the engine's ``adr`` entry)."""
LAB_STATE_VERSION = 1
"""Version of the ``adr_lab`` entry written by this code."""
NOISE_RNG_KEY = "noise_rng"


def noise_seed(seed: int, rank: int) -> int:
    """The seed of rank ``rank``'s noise stream: distinct per rank and from the engine's."""
    return ((seed * 0x9E3779B1 + rank) * 0x5EED + 1) % (2**63)


class AdrCore(StagedLoad):
    """One ADR engine for all envs, fed the objective of finished episodes.

    Args:
        engine: the engine (its ``exchange`` makes updates collectives).
        seed: the run's seed, from which :attr:`noise` is seeded per rank.
        objective_name: how errors name the objective (e.g. its repr).

    Attributes:
        engine: the engine (read ``bounds``, ``get(name, env_ids)``, ...).
        noise: a generator for terms that draw per-step noise from ADR
            values (e.g. action noise scaled by an ADR parameter); its own
            stream on every rank, and part of :meth:`state_dict`.
        last_report: the latest update's report (``engine.report()`` before
            the first).
    """

    def __init__(self, engine: ADREngine, *, seed: int, objective_name: str = "objective") -> None:
        self.engine = engine
        self.objective_name = objective_name
        self.noise = torch.Generator(device=engine.device)
        self.noise.manual_seed(noise_seed(seed, engine.rank))
        self._objective = torch.zeros(engine.num_envs, dtype=torch.float64, device=engine.device)
        self.last_report: UpdateReport = engine.report()

    @property
    def num_envs(self) -> int:
        """``N``."""
        return self.engine.num_envs

    @property
    def distributed(self) -> bool:
        """Whether updates are collectives with other ranks."""
        return self.engine.world_size > 1

    def record(self, done_env_ids: torch.Tensor, values: object) -> UpdateReport:
        """Feed finished episodes to the engine: record, move bounds, recycle, resample.

        Args:
            done_env_ids: ``(K,)`` int64 envs whose episode ended (possibly none;
                in a distributed run every rank calls this once per step).
            values: ``(K,)`` their objective (what the objective returned).

        Returns:
            The update's report (also kept as :attr:`last_report`).

        Raises:
            ValueError: naming the objective, when ``values`` is not a ``(K,)``
                tensor or holds non-finite values (then the state is untouched).
        """
        scores = self.checked_scores(values, done_env_ids.numel())
        self._objective.index_copy_(0, done_env_ids, scores.detach().to(self._objective))
        try:
            report = self.engine.update(done_env_ids, self._objective)
            self.engine.check()
        except ValueError as exc:
            raise ValueError(f"ADR objective {self.objective_name}: {exc}") from exc
        self.last_report = report
        return report

    def checked_scores(self, values: object, count: int) -> torch.Tensor:
        """``values`` once it has proven to be a ``(count,)`` tensor.

        Raises:
            ValueError: naming the objective and what it returned.
        """
        if not isinstance(values, torch.Tensor) or tuple(values.shape) != (count,):
            got = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values)
            raise ValueError(
                f"ADR objective {self.objective_name} returned {got} for {count} envs, "
                f"expected a tensor of shape ({count},)"
            )
        return values

    def log_tensors(self) -> dict[str, torch.Tensor]:
        """The ``adr/...`` entries of the latest report as ``()`` tensors (no host copy)."""
        report = self.last_report
        return dict(zip(adr_log_keys(report.param_names), adr_log_tensors(report), strict=True))

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """The env-state entries of ADR: the engine state, the reference ranges and ours."""
        return {
            ENGINE_STATE_KEY: self.engine.state_dict(),
            REFERENCE_PARAMS_KEY: reference_params(self.engine),
            LAB_STATE_KEY: {
                SCHEMA_VERSION_KEY: LAB_STATE_VERSION,
                NOISE_RNG_KEY: self.noise.get_state(),
            },
        }

    def stage_state_dict(
        self,
        state: Mapping[str, Any],
        *,
        restore_ranges: bool | None = None,
        shared_only: bool = False,
    ) -> Commit:
        """Check the ADR entries of an env state; the commit restores them.

        Args:
            state: env state with the entries of :meth:`state_dict`.
            restore_ranges: see ``ADREngine.load_state_dict`` (default: the
                config's ``adr_load_from_checkpoint``).
            shared_only: restore only what every rank shares (ranges, queues,
                EMA, decision stream) and keep this process's envs: for a
                checkpoint of another number of envs, or a rank other than 0.

        Raises:
            StateError: naming the entry that is wrong (nothing has changed).
        """
        reader = StateReader(state, "ADR env state")
        engine_state = reader.child(ENGINE_STATE_KEY).state
        lab = reader.child(LAB_STATE_KEY)
        lab.version(LAB_STATE_VERSION)
        noise = lab.generator(NOISE_RNG_KEY, self.engine.device)
        if shared_only:
            own = self.engine.state_dict()
            engine_state = adopt_shared_state(own, migrate_engine_state(engine_state))
            restore_ranges = True
        load = self.engine.stage_state_dict(engine_state, restore_ranges=restore_ranges)

        def commit() -> None:
            load()
            if shared_only:
                self._resample_all()
            else:
                self.noise.set_state(noise)
            self.last_report = self.engine.report()

        return commit

    def _resample_all(self) -> None:
        """Draw every env's tensor-parameter values from the (just loaded) ranges."""
        for name in self.engine.tensor_param_names:
            self.engine.sample(name)
