"""Domain randomization of the Isaac Gym task base: ADR ranges into per-env DR dicts.

:class:`DomainRandomization` is the part of
:class:`~adr_isaac.adr_task.ADRTaskMixin` that applies the built-in DR dict
to the simulator as IsaacGymEnvs' ``apply_randomizations`` does, with ADR's
ranges spliced in and each boundary worker's range collapsed to its bound.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import attrs
import torch

from adr_domain import ADREngine
from adr_isaac.actor_props import SimContext
from adr_isaac.dr_params import (
    DRParams,
    splice_ranges,
    validate_dr_params,
    validate_range_paths,
    with_value_at,
)
from adr_isaac.randomizer import PropertyRandomizer, RandomisationCallback
from adr_isaac.reference import RolloutWorkerModes
from adr_isaac.task_adr import TaskADR
from adr_isaac.task_host import TaskHost
from adr_isaac.task_settings import TaskSettings

__all__ = ["DomainRandomization", "WorkerSnapshot"]

log = logging.getLogger(__name__)


@attrs.frozen
class WorkerSnapshot:
    """Host copies of the worker assignment and ranges, for per-env DR dicts."""

    types: list[int]
    modes: list[int]
    bounds: list[list[float]]
    next_limits: list[list[float]]
    range_paths: tuple[str | None, ...]


class DomainRandomization:
    """Applies DR dicts with ADR's ranges to the task's simulator.

    Args:
        task: the task (its simulator and randomization counters).
        adr: the task's ADR part (engine, restarted episodes).
        randomizer: writes the properties and remembers them.
        settings: the task's settings (the validated DR dict).
        all_env_ids: ``(num_envs,)`` int64 ``0..N-1``.
    """

    def __init__(
        self,
        task: TaskHost,
        adr: TaskADR,
        randomizer: PropertyRandomizer,
        settings: TaskSettings,
        all_env_ids: torch.Tensor,
    ) -> None:
        self._task = task
        self._adr = adr
        self._engine = adr.engine
        self._randomizer = randomizer
        self._num_envs = settings.num_envs
        self._all_env_ids = all_env_ids
        self._dr_source = settings.dr_source
        self._dr_checked = settings.dr_params
        self._callback: RandomisationCallback | None = None
        self._frame_offset = 0
        self._pending_resync: bool | None = None  # None: nothing; True: exact; False: redraw
        self._snapshot: WorkerSnapshot | None = None

    def _engine_or_raise(self) -> ADREngine:
        if self._engine is None:
            raise AttributeError("adr_engine: ADR is off (task.adr.use_adr is false)")
        return self._engine

    def current_adr_params(self, dr_params: Mapping[str, Any]) -> DRParams:
        """A copy of a DR dict with every ``range_path`` set to its current ADR range.

        Args:
            dr_params: the built-in DR dict (not mutated).

        Returns:
            A new dict.

        Raises:
            ConfigError: ``dr_params`` is invalid or lacks a ``range_path``.
        """
        engine = self._engine_or_raise()
        plain = self.checked_dr(dr_params)
        bounds = engine.bounds.tolist()
        ranges = {
            path: bounds[n] for n, path in enumerate(engine.params.range_paths) if path is not None
        }
        return splice_ranges(plain, ranges)

    def dr_params_by_env_id(
        self,
        env_id: int,
        default_dr_params: DRParams,
        current_adr_params: DRParams,
    ) -> DRParams:
        """The DR dict of one env.

        Rollout workers get ``current_adr_params``; a boundary worker of a
        ``range_path`` parameter gets it with that range collapsed to its bound
        (its next limit with ``adr_extended_boundary_sample``); boundary workers
        of tensor parameters get ``current_adr_params``; test workers get
        ``default_dr_params``. Unchanged branches are shared with the inputs
        (treat the result as read-only).
        """
        engine = self._engine_or_raise()
        snap = self._snapshot if self._snapshot is not None else self._take_snapshot(engine)
        env_id = int(env_id)
        worker = snap.types[env_id]
        if worker == RolloutWorkerModes.ADR_ROLLOUT:
            return current_adr_params
        if worker == RolloutWorkerModes.TEST_ENV:
            return default_dr_params
        if worker != RolloutWorkerModes.ADR_BOUNDARY:
            raise ValueError(f"env {env_id}: unknown worker type {worker}")
        param, bound = divmod(snap.modes[env_id], 2)
        path = snap.range_paths[param]
        if path is None:
            return current_adr_params
        source = snap.next_limits if engine.cfg.adr_extended_boundary_sample else snap.bounds
        value = source[param][bound]
        return with_value_at(current_adr_params, path, [value, value])

    # ------------------------------------------------------------------ randomization

    def apply(
        self,
        dr_params: Mapping[str, Any],
        randomize_buf: torch.Tensor | None,
        adr_objective: torch.Tensor | None,
        callback: RandomisationCallback | None,
    ) -> None:
        """Update ADR with the envs that finished, then randomize them.

        As IsaacGymEnvs: on the first call every env is updated and randomized;
        later, with ADR, the envs flagged in ``randomize_buf`` are; without ADR,
        the envs in the base's ``randomize_buf`` counter that reached the DR
        ``frequency`` and are resetting. Gravity is re-drawn once ``frequency``
        frames have passed since its last draw.

        Args:
            dr_params: the built-in DR dict (checked once per object).
            randomize_buf: ``(num_envs,)`` mask of the envs to update and
                randomize (ADR only).
            adr_objective: ``(num_envs,)`` objective of each env (ADR only).
            callback: the task's ``randomisation_callback``, called as
                ``callback(name, values, actor=, env_id=)`` for every attribute
                written, and as ``callback("gravity", gravity)``.

        Raises:
            ValueError: ``randomize_buf`` or ``adr_objective`` missing with ADR.
        """
        task = self._task
        dr = self.checked_dr(dr_params)
        self._callback = callback
        ctx = self._sim_context()
        task.last_step = self._frame()
        if self._pending_resync is not None:
            self._resync_sim(ctx, exact=self._pending_resync)
        first = task.first_randomization
        freq = int(dr.get("frequency", 1))
        if self._engine is not None:
            env_ids = self._all_env_ids if first else self._ids_of(randomize_buf)
            self._update_adr(env_ids, adr_objective, first)
            do_nonenv = first or (task.last_step - task.last_rand_step) >= freq
        else:
            do_nonenv, env_ids = self._manual_dr_envs(first, freq)
        if do_nonenv:
            task.last_rand_step = task.last_step
            if "sim_params" in dr:
                self._randomizer.randomize_sim_params(
                    ctx, dr["sim_params"], task.last_step, callback
                )
        self._randomize_actors(ctx, env_ids.tolist(), dr, callback)
        task.first_randomization = False

    def _ids_of(self, randomize_buf: torch.Tensor | None) -> torch.Tensor:
        if randomize_buf is None:
            raise ValueError("randomize_buf: a (num_envs,) mask is needed when use_adr is true")
        ids = torch.nonzero(randomize_buf, as_tuple=False).squeeze(-1)
        return ids.to(self._all_env_ids.device)

    def _update_adr(
        self, env_ids: torch.Tensor, adr_objective: torch.Tensor | None, first: bool
    ) -> None:
        if adr_objective is None:
            raise ValueError("adr_objective: a (num_envs,) tensor is needed when use_adr is true")
        credited = env_ids if first else self._adr.credited(env_ids)
        if credited is not None:
            self._task.adr_update(credited, adr_objective)

    def _manual_dr_envs(self, first: bool, freq: int) -> tuple[bool, torch.Tensor]:
        task = self._task
        if first:
            return True, self._all_env_ids
        due = (task.randomize_buf >= freq) & task.reset_buf.bool()
        task.randomize_buf[due] = 0
        ids = torch.nonzero(due, as_tuple=False).squeeze(-1)
        return (task.last_step - task.last_rand_step) >= freq, ids

    def _randomize_actors(
        self,
        ctx: SimContext,
        env_ids: list[int],
        dr: DRParams,
        callback: RandomisationCallback | None,
    ) -> None:
        actors = dr.get("actor_params")
        if not actors or not env_ids:
            return
        task = self._task
        current = task.get_current_adr_params(dr) if self._engine is not None else dr
        setup = not task.sim_initialized
        with self._worker_snapshot():
            for env_id in env_ids:
                env_dr = (
                    task.get_dr_params_by_env_id(env_id, dr, current)
                    if self._engine is not None
                    else dr
                )
                self._randomizer.randomize_env(
                    ctx,
                    env_id,
                    env_dr["actor_params"],
                    actors,
                    task.last_step,
                    setup_phase=setup,
                    callback=callback,
                )

    def _resync_sim(self, ctx: SimContext, *, exact: bool) -> None:
        """Make the simulator's per-env properties agree with the restored state."""
        self._pending_resync = None
        dr = self._dr_checked
        if dr is None:
            return
        actors = dr.get("actor_params", {})
        callback = self._callback
        n = self._num_envs
        if exact:
            self._randomizer.reapply_sim_params(ctx, callback)
            for env_id in range(n):
                self._randomizer.reapply_env(ctx, env_id, actors, callback)
            log.info("wrote the restored physical properties of %d envs back to the simulator", n)
        else:
            self._randomize_actors(ctx, list(range(n)), dr, callback)
            log.info("re-randomized the physical properties of %d envs from the restored ranges", n)

    # ------------------------------------------------------------------ helpers

    def checked_dr(self, dr_params: Mapping[str, Any]) -> DRParams:
        """The validated plain copy of a DR dict (checked once per object)."""
        if self._dr_checked is not None and (
            dr_params is self._dr_source or dr_params is self._dr_checked
        ):
            return self._dr_checked
        checked = validate_dr_params(dr_params)
        if self._engine is not None:
            validate_range_paths(self._engine.cfg, checked)
        self._dr_source, self._dr_checked = dr_params, checked
        return checked

    def _sim_context(self) -> SimContext:
        task = self._task
        return SimContext(gym=task.gym, sim=task.sim, envs=task.envs, gym_api=task.gym_api)

    def _sim_frames(self) -> int:
        task = self._task
        return int(task.gym.get_frame_count(task.sim))

    def _frame(self) -> int:
        """Frames simulated in this run, counting those before a restore."""
        return self._sim_frames() + self._frame_offset

    def saved_frame(self) -> int:
        """The frame count to save (the frames before a restore until the sim is prepared)."""
        return self._frame() if self._task.sim_initialized else self._frame_offset

    def restore_frame(self, frame: int) -> None:
        """Count the ``frame`` frames of a restored run as simulated by now."""
        self._frame_offset = frame - (self._sim_frames() if self._task.sim_initialized else 0)

    def resync_after_restore(self, exact: bool) -> None:
        """Make the simulator agree with a restored state, now or (before the sim
        is prepared) at the next randomization: exactly from the values written,
        or re-randomized from the restored ranges."""
        if self._task.sim_initialized:
            self._resync_sim(self._sim_context(), exact=exact)
        else:
            self._pending_resync = exact

    @staticmethod
    def _take_snapshot(engine: ADREngine) -> WorkerSnapshot:
        return WorkerSnapshot(
            types=engine.worker_types.tolist(),
            modes=engine.adr_modes.tolist(),
            bounds=engine.bounds.tolist(),
            next_limits=engine.next_limits.tolist(),
            range_paths=engine.params.range_paths,
        )

    @contextmanager
    def _worker_snapshot(self) -> Iterator[None]:
        """Read the worker assignment once for a loop over envs."""
        if self._engine is None:
            yield
            return
        self._snapshot = self._take_snapshot(self._engine)
        try:
            yield
        finally:
            self._snapshot = None
