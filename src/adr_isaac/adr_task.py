"""IsaacGymEnvs' ``ADRVecTask`` as a simulator-free mixin over the ADR engine.

:class:`ADRTaskMixin` goes in front of a ``VecTaskDextreme``-like simulator
base (``class ADRVecTask(ADRTaskMixin, VecTaskDextreme)``, see
:mod:`adr_isaac.isaacgym_task`). It keeps the reference's constructor, method
names and attributes, so a DeXtreme-style task written for IsaacGymEnvs runs
on :class:`~adr_domain.ADREngine` by changing its import, and it adds:

* start-up validation of the DR dict and of every ADR ``range_path``;
* domain randomization from one saved random stream, with the values written
  to the simulator remembered per env (:mod:`adr_isaac.randomizer`);
* hierarchical ``get_env_state`` / ``set_env_state`` that restore everything,
  write the restored physical properties back to the simulator, and keep
  episodes cut short by a restore out of the ADR statistics.

The mixin touches the simulator only through ``self.gym`` (typed as
:class:`~adr_isaac.gym_types.Gym`), ``self.sim`` and ``self.envs``, which the
simulator base and the task provide.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import attrs
import torch

from adr_domain import ADRConfig, ADREngine, ConfigError, EnvIds, StateError, UpdateReport
from adr_infra import RestoreSource, restore_engine
from adr_isaac.compat import ADRCompat, ReferenceConfigNames, RolloutWorkerModes
from adr_isaac.dr_params import (
    DRParams,
    splice_ranges,
    validate_dr_params,
    validate_range_paths,
    with_value_at,
)
from adr_isaac.env_state import ADR_KEY, ADR_LEVEL_KEYS, ADR_PARAMS_KEY, DR_KEY
from adr_isaac.gym_types import EnvHandle, Gym, GymApi, SimHandle
from adr_isaac.randomizer import PropertyRandomizer, RandomisationCallback, SimContext

__all__ = ["DR_STATE_VERSION", "ADRTaskMixin", "RolloutWorkerModes", "TaskSettings"]

log = logging.getLogger(__name__)

DR_STATE_VERSION = 1
"""Version of the :data:`~adr_isaac.env_state.DR_KEY` entry written by this code."""

_DR_SEED_OFFSET = 0x5DEECE66D  # keeps the DR stream apart from the engine's streams


@attrs.frozen
class TaskSettings:
    """What the mixin reads from the task config, once, before the sim exists.

    Attributes:
        num_envs: ``env.numEnvs``.
        device: device of the ADR tensors: the simulator base's pipeline device
            (``cuda:<id>`` with ``sim.use_gpu_pipeline`` on a CUDA ``sim_device``,
            else ``cpu``).
        randomize: ``task.randomize``.
        adr_cfg: the validated ``task.adr`` block, None when ``use_adr`` is false.
        dr_params: the validated ``task.randomization_params``, None without ``randomize``.
        dr_source: the config's own ``randomization_params`` object (the DR
            dict tasks pass back to ``apply_randomizations``).
        seed: seed of the ADR and DR random streams: the config's top-level
            ``seed`` when it is an int, else ``torch.initial_seed()`` (which
            IsaacGymEnvs' ``set_seed`` fixes).
    """

    num_envs: int
    device: torch.device
    randomize: bool
    adr_cfg: ADRConfig | None
    dr_params: DRParams | None
    dr_source: object
    seed: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any], sim_device: str) -> TaskSettings:
        """Read and validate the config.

        Raises:
            ConfigError: naming each bad field (``env.numEnvs``, ``task.adr.*``,
                ``task.randomization_params.*``, ADR ``range_path`` s).
        """
        env = config.get("env", {})
        num_envs = env.get("numEnvs") if isinstance(env, Mapping) else None
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs <= 0:
            raise ConfigError(f"env.numEnvs: must be a positive int, got {num_envs!r}")
        sim = config.get("sim", {})
        gpu_pipeline = (
            bool(sim.get("use_gpu_pipeline", False)) if isinstance(sim, Mapping) else False
        )
        kind, _, index = sim_device.partition(":")
        device = torch.device("cpu")
        if gpu_pipeline and kind.lower() in ("cuda", "gpu"):
            device = torch.device(f"cuda:{int(index) if index else 0}")
        task = config.get("task", {})
        if not isinstance(task, Mapping):
            raise ConfigError("task: expected a mapping")
        randomize = bool(task.get("randomize", False))
        adr_block = task.get("adr", {})
        use_adr = isinstance(adr_block, Mapping) and bool(adr_block.get("use_adr", False))
        adr_cfg = ADRConfig.from_mapping(adr_block, where="task.adr") if use_adr else None
        if adr_cfg is not None and not randomize:
            raise ConfigError(
                "task.adr.use_adr: ADR patches the domain randomization, so it needs "
                "task.randomize: true"
            )
        dr_source = task.get("randomization_params", {})
        dr_params = None
        if randomize:
            dr_params = validate_dr_params(dr_source, where="task.randomization_params")
            if adr_cfg is not None:
                validate_range_paths(adr_cfg, dr_params, where="task.randomization_params")
        seed = config.get("seed")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            seed = torch.initial_seed()
        return cls(
            num_envs=num_envs,
            device=device,
            randomize=randomize,
            adr_cfg=adr_cfg,
            dr_params=dr_params,
            dr_source=dr_source,
            seed=int(seed) % (2**63),
        )


@attrs.frozen
class _WorkerSnapshot:
    """Host copies of the worker assignment and ranges, for per-env DR dicts."""

    types: list[int]
    modes: list[int]
    bounds: list[list[float]]
    next_limits: list[list[float]]
    range_paths: tuple[str | None, ...]


class ADRTaskMixin(ReferenceConfigNames):
    """The reference ``ADRVecTask`` API and attributes over :class:`ADRCompat`.

    Use it in front of the simulator base: ``class ADRVecTask(ADRTaskMixin,
    VecTaskDextreme)``. The task sets ``self.cfg`` and calls
    ``super().__init__(config=..., rl_device=..., sim_device=...,
    graphics_device_id=..., headless=..., use_dict_obs=...)`` as with
    IsaacGymEnvs; the ADR state exists before the base creates the sim, so
    ``create_sim`` may already call :meth:`apply_randomizations`.

    Reference attributes (read-only views of the engine unless noted):
    ``use_adr``, ``adr_cfg``, ``adr_params``, ``adr_params_keys``,
    ``adr_params_builtin_keys``, ``num_adr_params``, ``adr_objective_queues``,
    ``worker_types``, ``adr_modes`` (live ``(num_envs,)`` int64 tensors),
    ``adr_tensor_values``, ``all_env_ids``, the ``task.adr`` options
    (``update_adr_ranges``, ``adr_load_from_checkpoint``, ...) and ``extras``
    (the simulator base's dict; after every update it holds the reference's
    ``adr/...`` entries as 0-dim tensors, so logging them needs no host copy).

    Class attributes:
        gym_api: the ``gymapi`` module, for colour randomization (None skips it).
        restores_episode_state: set True in a task whose ``set_env_state``
            restores its episode buffers (progress, resets, objective), so that
            episodes in flight at save time simply continue. With False (the
            default, like IsaacGymEnvs' tasks) every env's current episode is
            taken to restart at a restore, and its end is not fed to ADR.
    """

    # Provided by the simulator base (VecTaskDextreme) and the task.
    gym: Gym
    sim: SimHandle
    envs: Sequence[EnvHandle]
    extras: dict[str, Any]
    first_randomization: bool
    sim_initialized: bool
    last_step: int
    last_rand_step: int
    reset_buf: torch.Tensor
    randomize_buf: torch.Tensor

    gym_api: ClassVar[GymApi | None] = None
    restores_episode_state: ClassVar[bool] = False

    def __init__(
        self,
        config: Mapping[str, Any],
        rl_device: str,
        sim_device: str,
        graphics_device_id: int,
        headless: bool,
        use_dict_obs: bool = False,
    ) -> None:
        settings = TaskSettings.from_config(config, sim_device)
        n = settings.num_envs
        self._settings = settings
        self.use_adr = settings.adr_cfg is not None
        self._adr = (
            ADRCompat(settings.adr_cfg, n, device=settings.device, seed=settings.seed)
            if settings.adr_cfg is not None
            else None
        )
        self.all_env_ids = torch.arange(n, device=settings.device)
        self._randomizer = PropertyRandomizer(n, settings.seed + _DR_SEED_OFFSET)
        self._dr_source: object = settings.dr_source
        self._dr_checked: DRParams | None = settings.dr_params
        self._dr_callback: RandomisationCallback | None = None
        self._frame_offset = 0
        self._pending_resync: bool | None = None  # None: nothing; True: exact; False: redraw
        self._restarted = torch.zeros(n, dtype=torch.bool, device=settings.device)
        self._any_restarted = False
        self._snapshot: _WorkerSnapshot | None = None
        self._env_state_taken: set[str] = set()
        self._extras_keys: tuple[str, ...] | None = None  # the adr/... keys, in order
        # The base sets these too; they exist early so create_sim may randomize.
        self.extras = {}
        self.first_randomization = True
        self.sim_initialized = False
        self.last_step = -1
        self.last_rand_step = -1
        # The simulator base (VecTaskDextreme) takes these arguments.
        super().__init__(  # type: ignore[call-arg]
            config,
            rl_device,
            sim_device,
            graphics_device_id,
            headless,
            use_dict_obs=use_dict_obs,
        )

    # ------------------------------------------------------------------ ADR views

    def _require_adr(self, name: str) -> ADRCompat:
        if self._adr is None:
            raise AttributeError(f"{name}: ADR is off (task.adr.use_adr is false)")
        return self._adr

    @property
    def adr(self) -> ADRCompat:
        """The ADR facade (engine, views and reference methods)."""
        return self._require_adr("adr")

    @property
    def adr_engine(self) -> ADREngine:
        """The ADR engine."""
        return self._require_adr("adr_engine").engine

    @property
    def adr_cfg(self) -> ADRConfig:
        """The validated ``task.adr`` block (the reference keeps the raw dict)."""
        return self._require_adr("adr_cfg").adr_cfg

    @property
    def adr_params(self) -> Mapping[str, Mapping[str, Any]]:
        """``{name: {"range", "next_limits", "init_range", "limits", "delta", ...}}``, live."""
        return self._require_adr("adr_params").adr_params

    @property
    def adr_params_keys(self) -> list[str]:
        """Parameter names in order (parameter ``n`` has ADR modes ``2n``, ``2n + 1``)."""
        return self._require_adr("adr_params_keys").adr_params_keys

    @property
    def adr_params_builtin_keys(self) -> list[str]:
        """Names of the parameters applied through a ``range_path``."""
        return self._require_adr("adr_params_builtin_keys").adr_params_builtin_keys

    @property
    def num_adr_params(self) -> int:
        """Number of ADR parameters."""
        return self._require_adr("num_adr_params").num_adr_params

    @property
    def adr_objective_queues(self) -> Sequence[Sequence[float]]:
        """The ``2 * num_adr_params`` boundary queues (``len()``, iteration, ``maxlen``)."""
        return self._require_adr("adr_objective_queues").adr_objective_queues

    @property
    def worker_types(self) -> torch.Tensor:
        """``(num_envs,)`` int64 live :class:`RolloutWorkerModes` of each env."""
        return self._require_adr("worker_types").worker_types

    @property
    def adr_modes(self) -> torch.Tensor:
        """``(num_envs,)`` int64 live boundary (``2n`` low, ``2n + 1`` high) of each env."""
        return self._require_adr("adr_modes").adr_modes

    @property
    def adr_tensor_values(self) -> dict[str, torch.Tensor]:
        """``{name: (num_envs,) live tensor}`` of the tensor parameters."""
        return self._require_adr("adr_tensor_values").adr_tensor_values

    @property
    def adr_rollout_perf_last(self) -> float | None:
        """Rollout performance EMA, None until a rollout worker finished."""
        return self._require_adr("adr_rollout_perf_last").adr_rollout_perf_last

    # ------------------------------------------------------------------ reference methods

    def adr_update(self, rand_envs: EnvIds, adr_objective: torch.Tensor) -> UpdateReport:
        """One ADR update, then the ``adr/...`` entries of ``extras`` are refreshed.

        Args:
            rand_envs: envs whose episode ended (ints or a LongTensor).
            adr_objective: ``(num_envs,)`` per-env objective (e.g. successes).

        Returns:
            What the update did (the reference returns None).
        """
        report = self._require_adr("adr_update").adr_update(rand_envs, adr_objective)
        self._publish(report)
        return report

    def sample_adr_tensor(self, param_name: str, env_ids: EnvIds | None = None) -> torch.Tensor:
        """Sample and store new values of a tensor parameter (``(len(env_ids),)``)."""
        return self._require_adr("sample_adr_tensor").sample_adr_tensor(param_name, env_ids)

    def get_adr_tensor(self, param_name: str, env_ids: EnvIds | None = None) -> torch.Tensor:
        """Current values of a tensor parameter (the live tensor when ``env_ids`` is None)."""
        return self._require_adr("get_adr_tensor").get_adr_tensor(param_name, env_ids)

    def recycle_envs(self, recycle_envs: EnvIds) -> None:
        """Give envs new worker types and boundaries."""
        self._require_adr("recycle_envs").recycle_envs(recycle_envs)

    def modify_adr_param(
        self,
        param: float,
        direction: str,
        adr_param_dict: Mapping[str, Any],
        param_limit: float | None = None,
    ) -> tuple[float, bool]:
        """Move ``param`` one step ``'up'`` or ``'down'``; returns ``(value, changed)``."""
        return self._require_adr("modify_adr_param").modify_adr_param(
            param, direction, adr_param_dict, param_limit
        )

    @staticmethod
    def env_ids_from_mask(mask: torch.Tensor) -> torch.Tensor:
        """Ids of the True entries of a ``(num_envs,)`` mask."""
        return ADRCompat.env_ids_from_mask(mask)

    def get_current_adr_params(self, dr_params: Mapping[str, Any]) -> DRParams:
        """A copy of a DR dict with every ``range_path`` set to its current ADR range.

        Args:
            dr_params: the built-in DR dict (not mutated).

        Returns:
            A new dict.

        Raises:
            ConfigError: ``dr_params`` is invalid or lacks a ``range_path``.
        """
        adr = self._require_adr("get_current_adr_params")
        plain = self._checked_dr(dr_params)
        bounds = adr.engine.bounds.tolist()
        ranges = {
            path: bounds[n]
            for n, path in enumerate(adr.engine.params.range_paths)
            if path is not None
        }
        return splice_ranges(plain, ranges)

    def get_dr_params_by_env_id(
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
        adr = self._require_adr("get_dr_params_by_env_id")
        snap = self._snapshot if self._snapshot is not None else self._take_snapshot(adr)
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
        source = snap.next_limits if adr.adr_extended_boundary_sample else snap.bounds
        value = source[param][bound]
        return with_value_at(current_adr_params, path, [value, value])

    # ------------------------------------------------------------------ randomization

    def apply_randomizations(
        self,
        dr_params: Mapping[str, Any],
        randomize_buf: torch.Tensor | None = None,
        adr_objective: torch.Tensor | None = None,
        randomisation_callback: RandomisationCallback | None = None,
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
            randomisation_callback: called as ``callback(name, values,
                actor=, env_id=)`` for every attribute written, and as
                ``callback("gravity", gravity)``.

        Raises:
            ValueError: ``randomize_buf`` or ``adr_objective`` missing with ADR.
        """
        dr = self._checked_dr(dr_params)
        self._dr_callback = randomisation_callback
        ctx = self._sim_context()
        self.last_step = self._frame()
        if self._pending_resync is not None:
            self._resync_sim(ctx, exact=self._pending_resync)
        first = self.first_randomization
        freq = int(dr.get("frequency", 1))
        if self._adr is not None:
            env_ids = self.all_env_ids if first else self._ids_of(randomize_buf)
            self._update_adr(env_ids, adr_objective, first)
            do_nonenv = first or (self.last_step - self.last_rand_step) >= freq
        else:
            do_nonenv, env_ids = self._manual_dr_envs(first, freq)
        if do_nonenv:
            self.last_rand_step = self.last_step
            if "sim_params" in dr:
                self._randomizer.randomize_sim_params(
                    ctx, dr["sim_params"], self.last_step, randomisation_callback
                )
        self._randomize_actors(ctx, env_ids.tolist(), dr, randomisation_callback)
        self.first_randomization = False

    def _ids_of(self, randomize_buf: torch.Tensor | None) -> torch.Tensor:
        if randomize_buf is None:
            raise ValueError("randomize_buf: a (num_envs,) mask is needed when use_adr is true")
        return torch.nonzero(randomize_buf, as_tuple=False).squeeze(-1).to(self.all_env_ids.device)

    def _update_adr(
        self, env_ids: torch.Tensor, adr_objective: torch.Tensor | None, first: bool
    ) -> None:
        if adr_objective is None:
            raise ValueError("adr_objective: a (num_envs,) tensor is needed when use_adr is true")
        if self._any_restarted and not first:
            # Episodes restarted by a restore ran (partly) on a fresh simulator:
            # their results are not fed to ADR.
            restarted = self._restarted.index_select(0, env_ids)
            credited = env_ids[~restarted]
            self._restarted.index_fill_(0, env_ids, False)
            self._any_restarted = bool(self._restarted.any())
            skipped = env_ids.numel() - credited.numel()
            if skipped:
                log.info(
                    "%d envs whose episode restarted at the restore were not fed to ADR", skipped
                )
            if credited.numel() == 0:
                return
            env_ids = credited
        self.adr_update(env_ids, adr_objective)

    def _manual_dr_envs(self, first: bool, freq: int) -> tuple[bool, torch.Tensor]:
        if first:
            return True, self.all_env_ids
        due = (self.randomize_buf >= freq) & self.reset_buf.bool()
        self.randomize_buf[due] = 0
        ids = torch.nonzero(due, as_tuple=False).squeeze(-1)
        return (self.last_step - self.last_rand_step) >= freq, ids

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
        current = self.get_current_adr_params(dr) if self._adr is not None else dr
        setup = not self.sim_initialized
        with self._worker_snapshot():
            for env_id in env_ids:
                env_dr = (
                    self.get_dr_params_by_env_id(env_id, dr, current)
                    if self._adr is not None
                    else dr
                )
                self._randomizer.randomize_env(
                    ctx,
                    env_id,
                    env_dr["actor_params"],
                    actors,
                    self.last_step,
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
        callback = self._dr_callback
        n = self._settings.num_envs
        if exact:
            self._randomizer.reapply_sim_params(ctx, callback)
            for env_id in range(n):
                self._randomizer.reapply_env(ctx, env_id, actors, callback)
            log.info("wrote the restored physical properties of %d envs back to the simulator", n)
        else:
            self._randomize_actors(ctx, list(range(n)), dr, callback)
            log.info("re-randomized the physical properties of %d envs from the restored ranges", n)

    # ------------------------------------------------------------------ env state

    def get_env_state(self) -> dict[str, Any]:
        """The ADR level's entries; task levels add theirs via ``super()``.

        Returns:
            ``{"adr": <engine state>, "adr_params": <reference-style ranges>,
            "domain_randomization": {"schema_version", "rng", "values", "gravity",
            "frame", "last_step", "last_rand_step"}}`` (``adr*`` only with ADR):
            CPU tensors and primitives, loadable with ``torch.load(weights_only=True)``.
        """
        state: dict[str, Any] = {}
        if self._adr is not None:
            state[ADR_KEY] = self._adr.engine.state_dict()
            state[ADR_PARAMS_KEY] = {
                name: dict(view) for name, view in self._adr.adr_params.items()
            }
        dr_state = self._randomizer.state_dict()
        dr_state["schema_version"] = DR_STATE_VERSION
        dr_state["frame"] = self._frame() if self.sim_initialized else self._frame_offset
        dr_state["last_step"] = int(self.last_step)
        dr_state["last_rand_step"] = int(self.last_rand_step)
        state[DR_KEY] = dr_state
        return state

    def take_env_state(
        self, env_state: Mapping[str, Any] | None, *keys: str
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Split a level's entries off an env state, in a ``set_env_state`` override.

        Args:
            env_state: what this level's ``set_env_state`` received (None passes through).
            keys: the entries this level restores.

        Returns:
            ``(taken, rest)``: the entries present, and the state without them to
            pass to ``super().set_env_state`` (None when ``env_state`` is None).
            Missing entries are logged at warning level.
        """
        if env_state is None:
            return {}, None
        taken = {k: env_state[k] for k in keys if k in env_state}
        missing = [k for k in keys if k not in env_state]
        if missing:
            log.warning("env state lacks %s; they keep their current values", ", ".join(missing))
        self._env_state_taken.update(keys)
        return taken, {k: v for k, v in env_state.items() if k not in taken}

    def set_env_state(self, env_state: Mapping[str, Any] | None) -> None:
        """Restore the ADR level, then make the simulator agree with it.

        ``None`` (rl_games passes it for checkpoints without env state) is a
        no-op. The engine state is restored completely (honouring
        ``adr_load_from_checkpoint``); an IsaacGymEnvs state (``adr_params``
        only) restores ranges and next limits. Then every env's physical
        properties are written back exactly as saved, or, when they cannot be
        (no saved values, ranges not restored, another DR layout), every env
        is re-randomized from the restored ranges without an ADR update; both
        happen at once (or at the next randomization if the sim does not
        exist yet). Entries no level took are restored by attribute when a
        level's ``get_env_state`` names them (as IsaacGymEnvs does), else
        ignored; both are logged, as are missing entries.

        Raises:
            StateError: a malformed DR or env state entry (nothing is restored).
            adr_infra.IncompatibleCheckpointError: an ADR state of another
                parameter set or env count, or a malformed one.
        """
        taken, self._env_state_taken = self._env_state_taken, set()
        if env_state is None:
            log.debug("set_env_state(None): nothing to restore")
            return
        if not isinstance(env_state, Mapping):
            raise StateError(f"env state must be a mapping or None, got {type(env_state).__name__}")
        state = dict(env_state)
        expected = set(self.get_env_state()) - ADR_LEVEL_KEYS
        dr_in = state.get(DR_KEY)
        staged = counters = None
        if dr_in is not None:
            if not isinstance(dr_in, Mapping):
                raise StateError(f"env state entry {DR_KEY!r} must be a mapping")
            version = dr_in.get("schema_version")
            if version != DR_STATE_VERSION:
                raise StateError(
                    f"env state entry {DR_KEY!r} has schema_version {version!r}, "
                    f"this code reads {DR_STATE_VERSION}"
                )
            staged = self._randomizer.stage(dr_in)
            counters = (
                _int_entry(dr_in, "frame"),
                _int_entry(dr_in, "last_step"),
                _int_entry(dr_in, "last_rand_step"),
            )
        ranges_restored = self._restore_adr(state)
        exact = staged is not None and staged.layout_matches and ranges_restored
        if staged is not None:
            self._randomizer.commit(staged, values=exact)
        if counters is not None:
            frame, self.last_step, self.last_rand_step = counters
            self._frame_offset = frame - (self._sim_frames() if self.sim_initialized else 0)
        self._log_dr_restore(dr_in is not None, staged is not None and staged.layout_matches)
        self._restore_leftovers(state, expected, taken)
        if self._settings.randomize:
            if self.sim_initialized:
                self._resync_sim(self._sim_context(), exact=exact)
            else:
                self._pending_resync = exact
        if self._adr is not None and not self.restores_episode_state:
            self._restarted.fill_(True)
            self._any_restarted = True

    def _restore_adr(self, state: Mapping[str, Any]) -> bool:
        """Restore the engine; True when the saved ranges were restored with it."""
        adr = self._adr
        if adr is None:
            present = [k for k in (ADR_KEY, ADR_PARAMS_KEY) if k in state]
            if present:
                log.warning("ADR is off (task.adr.use_adr is false): ignoring %s", present)
            return True
        report = restore_engine(adr.engine, state, path="env state")
        # An IsaacGymEnvs state brings back ranges only: the envs are redrawn.
        return report.source is RestoreSource.ADR_KIT and report.ranges_restored

    def _log_dr_restore(self, present: bool, layout_matches: bool) -> None:
        if not self._settings.randomize:
            return
        if not present:
            log.warning(
                "env state has no %r entry (an IsaacGymEnvs checkpoint?): every env is "
                "re-randomized from the restored ranges",
                DR_KEY,
            )
        elif not layout_matches:
            log.warning(
                "the saved physical properties do not match this task's randomized "
                "properties (another DR dict or asset?): every env is re-randomized from "
                "the restored ranges"
            )

    def _restore_leftovers(
        self, state: Mapping[str, Any], expected: set[str], taken: set[str]
    ) -> None:
        by_attribute: list[str] = []
        unknown: list[str] = []
        for key, value in state.items():
            if key in ADR_LEVEL_KEYS or key in taken:
                continue
            if key not in expected:
                unknown.append(key)
                continue
            current = getattr(self, key, None)
            if (
                isinstance(current, torch.Tensor)
                and isinstance(value, torch.Tensor)
                and current.shape == value.shape
            ):
                current.copy_(value)
                by_attribute.append(key)
                continue
            try:
                setattr(self, key, value)
            except AttributeError:
                log.warning("env state entry %r names a read-only attribute; not restored", key)
                continue
            by_attribute.append(key)
        if by_attribute:
            log.info(
                "restored env state entries %s by attribute assignment (as IsaacGymEnvs "
                "does); take them in your set_env_state to restore them explicitly",
                ", ".join(by_attribute),
            )
        if unknown:
            log.warning("ignoring env state entries no class level knows: %s", ", ".join(unknown))
        missing = sorted(expected - set(state) - taken)
        if missing:
            log.warning("env state lacks %s; they keep their current values", ", ".join(missing))

    # ------------------------------------------------------------------ helpers

    def _checked_dr(self, dr_params: Mapping[str, Any]) -> DRParams:
        """The validated plain copy of a DR dict (checked once per object)."""
        if self._dr_checked is not None and (
            dr_params is self._dr_source or dr_params is self._dr_checked
        ):
            return self._dr_checked
        checked = validate_dr_params(dr_params)
        if self._adr is not None:
            validate_range_paths(self._adr.adr_cfg, checked)
        self._dr_source, self._dr_checked = dr_params, checked
        return checked

    def _sim_context(self) -> SimContext:
        return SimContext(gym=self.gym, sim=self.sim, envs=self.envs, gym_api=self.gym_api)

    def _sim_frames(self) -> int:
        return int(self.gym.get_frame_count(self.sim))

    def _frame(self) -> int:
        """Frames simulated in this run, counting those before a restore."""
        return self._sim_frames() + self._frame_offset

    def _take_snapshot(self, adr: ADRCompat) -> _WorkerSnapshot:
        engine = adr.engine
        return _WorkerSnapshot(
            types=engine.worker_types.tolist(),
            modes=engine.adr_modes.tolist(),
            bounds=engine.bounds.tolist(),
            next_limits=engine.next_limits.tolist(),
            range_paths=engine.params.range_paths,
        )

    @contextmanager
    def _worker_snapshot(self) -> Iterator[None]:
        """Read the worker assignment once for a loop over envs."""
        if self._adr is None:
            yield
            return
        self._snapshot = self._take_snapshot(self._adr)
        try:
            yield
        finally:
            self._snapshot = None

    def _publish(self, report: UpdateReport) -> None:
        """Write the reference's ``adr/...`` entries into ``extras`` (0-dim tensors)."""
        names = self.adr_params_keys
        if self._extras_keys is None:
            sides = [(name, side) for name in names for side in ("lower", "upper")]
            boundary = [f"adr/objective_perf/boundary/{n}/{s}" for n, s in sides]
            self._extras_keys = (
                *(f"adr/params/{n}/{s}" for n, s in sides),
                *(f"{prefix}/value" for prefix in boundary),
                *(f"{prefix}/queue_len" for prefix in boundary),
                "adr/objective_perf/rollouts",
                "adr/npd",
            )
        # One unbind per table: three calls instead of one indexing op per entry.
        values = (
            *report.bounds.reshape(-1).unbind(),
            *report.queue_means.reshape(-1).unbind(),
            *report.queue_lengths.reshape(-1).unbind(),
            report.rollout_perf,
            report.npd,
        )
        self.extras.update(zip(self._extras_keys, values, strict=True))
        if log.isEnabledFor(logging.INFO):
            moved = report.moved_bounds(tuple(names))
            if moved:
                log.info("ADR update %d moved %s", report.step, ", ".join(moved))


def _int_entry(state: Mapping[str, Any], key: str) -> int:
    value = state.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise StateError(f"env state entry {DR_KEY!r}: {key!r} must be an int, got {value!r}")
    return value
