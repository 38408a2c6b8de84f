"""Manager-API glue shared by the mjlab and Isaac Lab bindings.

Both frameworks call a curriculum term as ``term(env, env_ids)`` at the start
of every reset, with ``env_ids`` a tensor, a slice or None, before the reset
clears episode sums and termination flags. These functions turn such a call
into one engine update (:func:`update_on_reset`) and publish the ``adr/...``
log keys (:func:`publish_log`); the framework modules only add what differs.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import torch

from adr_domain import ADRConfig, ADREngine, UpdateReport
from adr_infra.distributed import agreed_seed, exchange_from_environment
from adr_lab.core import AdrCore
from adr_lab.objectives import ManagerEnv, Objective

__all__ = [
    "ManagerEnvIds",
    "finished_envs",
    "probe_objective",
    "publish_log",
    "resolve_env_ids",
    "start_core",
    "update_on_reset",
]

ManagerEnvIds = torch.Tensor | slice | Sequence[int] | None
"""Env ids as managers pass them: a tensor, a slice, a sequence, or None (all)."""


def start_core(
    adr: ADRConfig | Mapping[str, Any],
    env: ManagerEnv,
    device: torch.device,
    seed: int,
    objective: Objective,
) -> AdrCore:
    """The engine glue of a curriculum term being built: one engine for the env's envs.

    Joins the ``torchrun`` group when there is one (all ranks then take rank 0's
    ``seed``) and probes the objective (:func:`probe_objective`).
    """
    exchange = exchange_from_environment(device)
    seed = agreed_seed(seed, exchange, device)
    engine = ADREngine(adr, env.num_envs, device=device, seed=seed, exchange=exchange)
    core = AdrCore(engine, seed=seed, objective_name=repr(objective))
    probe_objective(core, objective, env)
    return core


def resolve_env_ids(env_ids: ManagerEnvIds, num_envs: int, device: torch.device) -> torch.Tensor:
    """``(K,)`` int64 ids on ``device`` for any form a manager passes."""
    every = torch.arange(num_envs, device=device)
    if env_ids is None:
        return every
    if isinstance(env_ids, slice):
        return every[env_ids]
    return torch.as_tensor(env_ids, device=device).to(torch.long).reshape(-1)


def finished_envs(env_ids: torch.Tensor, episode_length_buf: torch.Tensor) -> torch.Tensor:
    """The envs of ``env_ids`` that played at least one step since their last reset.

    A reset also reaches envs that never played (the first reset of all envs,
    a reset requested by the user): they have nothing to score.
    """
    played = episode_length_buf.index_select(0, env_ids) > 0
    return env_ids[played]


def update_on_reset(
    core: AdrCore, objective: Objective, env: ManagerEnv, env_ids: ManagerEnvIds
) -> UpdateReport:
    """One engine update for a reset: the finished envs among ``env_ids`` and their scores."""
    ids = resolve_env_ids(env_ids, env.num_envs, core.engine.device)
    done = finished_envs(ids, env.episode_length_buf.to(core.engine.device))
    return core.record(done, objective(env, done))


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
