"""The engine glue every manager-based binding shares (mjlab, Isaac Lab).

:class:`AdrCore` holds one :class:`~adr_domain.ADREngine` for all envs of a
process, takes the objective of the envs whose episode ended, and owns the
complete ADR state the checkpoint carries. The functions below turn a
curriculum-term call (both frameworks call ``term(env, env_ids)`` at the start
of every reset, ``env_ids`` a tensor, a slice or None) into one engine update
(:func:`update_on_reset`) and publish the ``adr/...`` log keys
(:func:`publish_log`); ``adr_lab.mjlab`` and ``adr_lab.isaaclab`` add what
differs (model fields, event functions).

No host read on the hot path: an update never reads the device. The engine
keeps bad objective values out of its state and remembers the first;
:meth:`AdrCore.check` raises it (one host read). The rsl_rl runners call it once
per training iteration (:mod:`adr_lab.rsl_rl_hooks`); an env used without such a
runner checks every :attr:`AdrCore.check_every` updates, and a user may call
:meth:`AdrCore.check` at any time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import torch

from adr_domain import (
    ENGINE_STATE_KEY,
    REFERENCE_PARAMS_KEY,
    SCHEMA_VERSION_KEY,
    ADRConfig,
    ADREngine,
    BoundaryExchange,
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
from adr_infra.distributed import agreed_seed, exchange_from_environment
from adr_lab.objectives import ManagerEnv, Objective

__all__ = [
    "DEFAULT_CHECK_EVERY",
    "LAB_STATE_KEY",
    "LAB_STATE_VERSION",
    "AdrCore",
    "ManagerEnvIds",
    "finished_envs",
    "frozen_adr",
    "join_run",
    "probe_objective",
    "publish_log",
    "resolve_env_ids",
    "start_core",
    "update_on_reset",
]

log = logging.getLogger(__name__)

LAB_STATE_KEY = "adr_lab"
"""The env-state entry of adr_lab's own state (beside the engine's ``adr`` entry)."""
LAB_STATE_VERSION = 1
"""Version of the ``adr_lab`` entry written by this code."""
NOISE_RNG_KEY = "noise_rng"
DEFAULT_CHECK_EVERY = 100
"""Updates between two checks of an env used without a runner that checks per iteration."""

ManagerEnvIds = torch.Tensor | slice | Sequence[int] | None
"""Env ids as managers pass them: a tensor, a slice, a sequence, or None (all)."""


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
        check_every: updates between two automatic :meth:`check` calls; None:
            never (a runner that calls :meth:`check` once per iteration sets it).
    """

    def __init__(self, engine: ADREngine, *, seed: int, objective_name: str = "objective") -> None:
        self.engine = engine
        self.objective_name = objective_name
        self.noise = torch.Generator(device=engine.device)
        self.noise.manual_seed(noise_seed(seed, engine.rank))
        self._objective = torch.zeros(engine.num_envs, dtype=torch.float64, device=engine.device)
        self.last_report: UpdateReport = engine.report()
        self.check_every: int | None = DEFAULT_CHECK_EVERY
        self._unchecked = 0
        self._stepped = False

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

        No host read: a non-finite value is kept out of the state and raised by
        the next :meth:`check` (every :attr:`check_every` updates, or once per
        iteration from a runner).

        Args:
            done_env_ids: ``(K,)`` int64 envs whose episode ended (possibly none;
                in a distributed run every rank calls this once per step).
            values: ``(K,)`` their objective (what the objective returned).

        Returns:
            The update's report (also kept as :attr:`last_report`).

        Raises:
            ValueError: naming the objective, when ``values`` is not a ``(K,)``
                tensor (then the state is untouched), or from the automatic check.
        """
        scores = self.checked_scores(values, done_env_ids.numel())
        self._objective.index_copy_(0, done_env_ids, scores.detach().to(self._objective))
        try:
            report = self.engine.update(done_env_ids, self._objective)
        except ValueError as exc:
            raise ValueError(f"ADR objective {self.objective_name}: {exc}") from exc
        self.last_report = report
        self._unchecked += 1
        if self.check_every is not None and self._unchecked >= self.check_every:
            self.check()
        return report

    def check(self) -> None:
        """Raise the first bad objective value since the last check (one host read).

        Raises:
            ValueError: naming the objective, the env and the value (that value,
                and any later bad one, never reached the ADR state).
        """
        self._unchecked = 0
        try:
            self.engine.check()
        except ValueError as exc:
            raise ValueError(f"ADR objective {self.objective_name}: {exc}") from exc

    def join(self, exchange: BoundaryExchange, seed: int) -> None:
        """Start afresh as one rank of a distributed run (``ADREngine.join``; a collective):
        the engine with the ranks' agreed ``seed``, the noise stream re-seeded for this rank."""
        self.engine.join(exchange, seed)
        self.noise.manual_seed(noise_seed(seed, self.engine.rank))
        self.last_report = self.engine.report()

    def note_step(self) -> None:
        """Say that every env has just stepped (a host flag; see :func:`update_on_reset`)."""
        self._stepped = True

    def take_step_note(self) -> bool:
        """Whether every env stepped since the last update (and forget it)."""
        stepped, self._stepped = self._stepped, False
        return stepped

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


# ------------------------------------------------------------------ manager glue


def start_core(
    adr: ADRConfig | Mapping[str, Any],
    env: ManagerEnv,
    device: torch.device,
    seed: int,
    objective: Objective,
    *,
    join: bool = True,
) -> AdrCore:
    """The engine glue of a curriculum term being built: one engine for the env's envs.

    Joins the ``torchrun`` group when there is one (all ranks then take rank 0's
    ``seed``), unless ``join`` is False (then :func:`join_run` does it later), and
    probes the objective (:func:`probe_objective`).
    """
    exchange = exchange_from_environment(device) if join else None
    seed = agreed_seed(seed, exchange, device)
    engine = ADREngine(adr, env.num_envs, device=device, seed=seed, exchange=exchange)
    core = AdrCore(engine, seed=seed, objective_name=repr(objective))
    probe_objective(core, objective, env)
    return core


def join_run(core: AdrCore, seed: int) -> None:
    """Join the ``torchrun`` group (the one that exists, else a new one) and start the
    engine afresh in it, with rank 0's ``seed`` (collectives: every rank calls this)."""
    device = core.engine.device
    exchange = exchange_from_environment(device)
    if exchange is None:
        raise RuntimeError("join_run needs a torchrun launch of several processes")
    core.join(exchange, agreed_seed(seed, exchange, device))


def frozen_adr(adr: ADRConfig) -> ADRConfig:
    """``adr`` with its ranges frozen (``update_adr_ranges: false``): an env that finishes
    an episode draws from the current (e.g. loaded) ranges, and nothing is recorded."""
    return adr.model_copy(update={"update_adr_ranges": False})


def resolve_env_ids(env_ids: ManagerEnvIds, num_envs: int, device: torch.device) -> torch.Tensor:
    """``(K,)`` int64 ids on ``device`` for any form a manager passes.

    A ``(K,)`` int64 tensor on ``device`` (what mjlab passes at every reset) is
    returned as it is: no operation at all on the per-reset path.
    """
    if isinstance(env_ids, torch.Tensor):
        if env_ids.dtype == torch.long and env_ids.device == device and env_ids.dim() == 1:
            return env_ids
        return env_ids.to(device=device, dtype=torch.long).reshape(-1)
    every = torch.arange(num_envs, device=device)
    if env_ids is None:
        return every
    if isinstance(env_ids, slice):
        return every[env_ids]
    return torch.as_tensor(env_ids, device=device).to(torch.long).reshape(-1)


def finished_envs(env_ids: torch.Tensor, episode_length_buf: torch.Tensor) -> torch.Tensor:
    """The envs of ``env_ids`` that played at least one step since their last reset.

    A reset also reaches envs that never played (the first reset of all envs,
    a reset requested by the user): they have nothing to score. One host read
    (the count is data-dependent): :func:`update_on_reset` calls it only for a
    reset that no step preceded.
    """
    played = episode_length_buf.index_select(0, env_ids) > 0
    return env_ids[played]


def update_on_reset(
    core: AdrCore, objective: Objective, env: ManagerEnv, env_ids: ManagerEnvIds
) -> UpdateReport:
    """One engine update for a reset: the finished envs among ``env_ids`` and their scores.

    When the framework glue noted a step since the last update
    (:meth:`AdrCore.note_step`; mjlab's step event does, Isaac Lab's term
    when the env's step counter moved), every env has played
    since its last reset and all of ``env_ids`` finished: no host read. Otherwise
    (``env.reset()``, or a framework that notes no steps) the envs that never
    played are left out (:func:`finished_envs`, one host read).
    """
    ids = resolve_env_ids(env_ids, env.num_envs, core.engine.device)
    if not core.take_step_note():
        ids = finished_envs(ids, env.episode_length_buf.to(core.engine.device))
    return core.record(ids, objective(env, ids))


def probe_objective(core: AdrCore, objective: Objective, env: ManagerEnv) -> None:
    """Call the objective once for every env and check what it returns, changing nothing.

    Run while the env is built, so that a wrong objective (an unknown term,
    a wrong shape, non-finite values) stops the run before any step.

    Raises:
        ValueError: naming the objective.
    """
    ids = torch.arange(env.num_envs, device=core.engine.device)
    values = core.checked_scores(objective(env, ids), env.num_envs)
    bad = ~torch.isfinite(values.double())
    if bool(bad.any()):
        env_id = int(bad.nonzero()[0, 0])
        raise ValueError(
            f"ADR objective {core.objective_name} returned the non-finite value "
            f"{float(values[env_id])} for env {env_id}"
        )


def publish_log(extras: MutableMapping[str, Any], core: AdrCore) -> None:
    """Put the ``adr/...`` entries of the latest update into ``extras["log"]``.

    rsl_rl's logger averages ``extras["log"]`` over an iteration's steps and
    writes keys with a ``/`` as they are, so TensorBoard and W&B show the
    reference's ``adr/params/<p>/lower|upper``, ``adr/npd``, ... tags.
    """
    log = extras.get("log")
    if not isinstance(log, MutableMapping):
        log = extras["log"] = {}
    log.update(core.log_tensors())
