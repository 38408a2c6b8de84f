"""rsl_rl checkpoints that carry the complete ADR state, for any ``OnPolicyRunner``.

Shared by mjlab's ADR runner (``adr_lab.mjlab.runner``) and Isaac Lab's
(``adr_lab.isaaclab.runner``). A checkpoint is the dict rsl_rl's runner writes
(``alg.save()`` plus ``iter`` and ``infos``), so the stock runner loads it
unchanged, plus the two entries of a sim2real-adr checkpoint: ``env_state``
(the env's step counter and the ADR term's state) and ``adr_kit`` (metadata
and a SHA-256 checksum of the whole file). :func:`write_runner_checkpoint`
writes it atomically (:func:`adr_infra.save_checkpoint`), so a stop or crash
never leaves a torn ``model_<it>.pt``, and ``adr-ckpt inspect`` reads it.

Loading is two-phase: :func:`read_runner_checkpoint` verifies the file and
:func:`stage_adr_state` checks its ADR state against the env's ADR term
before anything changes; the runner then loads the policy as rsl_rl does and
commits the ADR state. (:func:`stage_adr_state` also serves trainers that
keep the env state inside their own files: Isaac Lab's rl_games.)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from adr_domain import ENGINE_STATE_KEY, Commit, StateError
from adr_infra import (
    Checkpoint,
    IncompatibleCheckpointError,
    TorchStore,
    load_checkpoint,
    save_checkpoint,
)
from adr_infra.stores import resolve_location

__all__ = [
    "NO_COMMIT",
    "STEP_COUNTER_KEY",
    "AdrTermState",
    "read_runner_checkpoint",
    "stage_adr_state",
    "write_runner_checkpoint",
]

log = logging.getLogger(__name__)

STEP_COUNTER_KEY = "common_step_counter"
"""The env-state entry of the env's step counter (curriculum and interval terms read it)."""


class _Core(Protocol):
    @property
    def num_envs(self) -> int: ...


class AdrTermState(Protocol):
    """What these functions need of an ADR curriculum term (mjlab's or Isaac Lab's)."""

    @property
    def core(self) -> _Core: ...

    def state_dict(self) -> dict[str, Any]: ...

    def stage_state_dict(
        self, state: Mapping[str, Any], *, shared_only: bool = False
    ) -> Commit: ...


def _no_commit() -> None:
    """Nothing to restore."""


NO_COMMIT: Commit = _no_commit
"""The commit of a saved state without ADR (or of an env without an ADR term)."""


def write_runner_checkpoint(
    runner: Any,
    path: str,
    env_state: Mapping[str, Any],
    infos: Mapping[str, Any] | None = None,
) -> None:
    """Write ``runner``'s checkpoint at ``path`` atomically, with ``env_state`` and a checksum.

    Args:
        runner: an rsl_rl ``OnPolicyRunner`` (its ``alg``, ``current_learning_iteration``,
            ``cfg`` and ``logger`` are read).
        path: the ``.pt`` file.
        env_state: the env's state (:data:`STEP_COUNTER_KEY` and the ADR term's entries).
        infos: the ``infos`` entry rsl_rl's own ``save`` writes.
    """
    policy = dict(runner.alg.save())
    policy["iter"] = runner.current_learning_iteration
    policy["infos"] = None if infos is None else dict(infos)
    experiment = runner.cfg.get("experiment_name")
    checkpoint = Checkpoint.create(
        policy, env_state, experiment=experiment if isinstance(experiment, str) else None
    )
    save_checkpoint(path, checkpoint)
    if runner.cfg.get("upload_model"):
        runner.logger.save_model(path, runner.current_learning_iteration)


def read_runner_checkpoint(path: str) -> tuple[Checkpoint, str]:
    """The verified checkpoint at ``path`` and the location ``torch.load`` reads.

    Raises:
        CheckpointError: naming the file, when it is missing, damaged (checksum),
            or not a torch (``.pt``) checkpoint.
    """
    store, location = resolve_location(path)
    if not isinstance(store, TorchStore):
        raise IncompatibleCheckpointError(
            path,
            "not a torch checkpoint (an HDF5 file, as adr-ckpt convert writes): the rsl_rl "
            "runner loads only .pt files; load the run's .pt checkpoint, or convert this one "
            f"back with: adr-ckpt convert {path} {location.rsplit('.', 1)[0]}.pt",
        )
    return load_checkpoint(path), location


def stage_adr_state(
    term: AdrTermState | None,
    env_state: Mapping[str, Any] | None,
    source: str,
    *,
    rank: int = 0,
) -> Commit:
    """Check a saved env state's ADR part against ``term``; the commit restores it.

    A state of another number of envs (e.g. ``play`` with fewer), or a rank
    other than 0 of a distributed run, restores the shared curriculum (ranges,
    next limits, queues) and draws its envs' values from it. A state without
    ADR (a stock run's) leaves ADR at its init ranges (a WARNING says so).

    Args:
        term: the env's ADR curriculum term (None: nothing to restore).
        env_state: the checkpoint's env state (verified).
        source: the checkpoint, as messages name it (its path).
        rank: this process's rank.

    Raises:
        IncompatibleCheckpointError: naming ``source`` and the entry that does not fit.
    """
    if term is None:
        return NO_COMMIT
    if env_state is None or ENGINE_STATE_KEY not in env_state:
        log.warning("%s holds no ADR state: ADR starts from its init ranges", source)
        return NO_COMMIT
    engine_state = env_state[ENGINE_STATE_KEY]
    saved_envs = engine_state.get("num_envs") if isinstance(engine_state, Mapping) else None
    shared_only = rank != 0 or saved_envs != term.core.num_envs
    if saved_envs != term.core.num_envs:
        log.warning(
            "%s was saved with %s envs, this env has %d: restoring the shared ADR "
            "curriculum only (ranges, next limits, queues); every env's ADR values are "
            "drawn afresh from the restored ranges (the saved per-env values are not restored)",
            source,
            saved_envs,
            term.core.num_envs,
        )
    elif shared_only:
        log.info("%s: rank %d restores the shared ADR curriculum only", source, rank)
    try:
        return term.stage_state_dict(env_state, shared_only=shared_only)
    except StateError as exc:
        raise IncompatibleCheckpointError(source, str(exc)) from None
