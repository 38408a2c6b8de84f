"""The ADR part of an Isaac Lab trainer's checkpoint: saved, verified and staged.

One home for what every trainer hook (:mod:`adr_lab.isaaclab.runner` for
rsl_rl, :mod:`adr_lab.isaaclab.rl_games`) saves and restores of the env:

* :func:`only_adr_term`: the env's one ADR curriculum term.
* :func:`adr_env_state`: the ADR term's state (``adr`` engine state,
  ``adr_params`` ranges, ``adr_lab`` with the noise stream) and the env's
  ``common_step_counter``. rsl_rl's files carry a checksum of the whole file
  (:mod:`adr_lab.rsl_rl_checkpoint`); rl_games writes only the env state it is
  given, so there :func:`~adr_infra.tree.tree_digest` of it is saved inside it
  (:data:`ADR_CHECKSUM_KEY`).
* :func:`verified_env_state`: such a saved state, on the CPU, once its checksum holds.
* :func:`stage_adr_env_state`: checks the whole state against the env before
  anything changes; the returned commit restores it. Another number of envs
  (``play``) restores the shared curriculum only (a WARNING names both counts);
  ``adr_load_from_checkpoint: false`` keeps the init ranges.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from isaaclab.envs import ManagerBasedRLEnv

from adr_domain import ENGINE_STATE_KEY, Commit
from adr_infra import ENV_STATE_KEY, CorruptCheckpointError
from adr_infra.errors import TreeError
from adr_infra.tree import normalize_tree, tree_digest
from adr_lab.isaaclab.term import AdrCurriculumTerm, find_adr_term
from adr_lab.rsl_rl_checkpoint import NO_COMMIT, STEP_COUNTER_KEY, stage_adr_state

__all__ = [
    "ADR_CHECKSUM_KEY",
    "STEP_COUNTER_KEY",
    "adr_env_state",
    "only_adr_term",
    "stage_adr_env_state",
    "verified_env_state",
]

log = logging.getLogger(__name__)

ADR_CHECKSUM_KEY = "adr_env_state_checksum"
"""The entry holding :func:`~adr_infra.tree.tree_digest` of the saved env state."""


def only_adr_term(env: ManagerBasedRLEnv, user: str, plain: str) -> AdrCurriculumTerm:
    """The env's one ADR curriculum term.

    Args:
        env: the env.
        user: what needs the term, as errors name it.
        plain: the stock setting to use instead for an env without ADR.

    Raises:
        ValueError: the env has no ADR curriculum term, or several (a
            checkpoint holds one ADR state).
    """
    manager = getattr(env, "curriculum_manager", None)
    names = list(manager.active_terms) if manager is not None else []
    terms = {name: term for name in names if (term := find_adr_term(env, name)) is not None}
    if len(terms) != 1:
        found = ", ".join(repr(name) for name in terms) or "none"
        raise ValueError(
            f"{user} needs an env with exactly one ADR curriculum term "
            f"(adr_lab.isaaclab.attach_adr); this env has {len(terms)} ({found}): "
            + (
                f"use {plain} for an env without ADR"
                if not terms
                else "put all ADR parameters and bindings into one AdrSpec"
            )
        )
    return next(iter(terms.values()))


def adr_env_state(env: ManagerBasedRLEnv, term: AdrCurriculumTerm) -> dict[str, Any]:
    """What a checkpoint holds of ``env``: its step counter and the ADR term's state."""
    return {STEP_COUNTER_KEY: int(env.common_step_counter), **term.state_dict()}


def verified_env_state(saved: object, checksum: object, source: str) -> dict[str, Any] | None:
    """The saved env state (on the CPU) once ``checksum`` holds; None if it has no ADR state.

    Args:
        saved: the checkpoint's env state, as loaded.
        checksum: the checksum saved with it (None when missing).
        source: the checkpoint, as errors name it.

    Raises:
        CorruptCheckpointError: the ADR state is missing its checksum or does not match it.
    """
    if not isinstance(saved, Mapping) or ENGINE_STATE_KEY not in saved:
        return None
    try:
        # On the CPU, where it was saved (trainers may load checkpoints onto the
        # agent's device).
        env_state: dict[str, Any] = normalize_tree(saved, ENV_STATE_KEY)
        actual = tree_digest(env_state)
    except TreeError as exc:
        raise CorruptCheckpointError(source, f"its ADR state cannot be read: {exc}") from None
    if checksum != actual:
        why = "has no" if checksum is None else "does not match its"
        raise CorruptCheckpointError(
            source,
            f"its ADR state (env_state) {why} checksum ({ADR_CHECKSUM_KEY}): damaged, or "
            "written by other code; refused, nothing was restored",
        )
    return env_state


def stage_adr_env_state(
    env: ManagerBasedRLEnv,
    term: AdrCurriculumTerm,
    env_state: Mapping[str, Any] | None,
    source: str,
    *,
    rank: int = 0,
) -> Commit:
    """Check a verified env state against ``env``; the commit restores it and the step counter.

    Args:
        env: the env whose step counter the commit sets.
        term: its ADR curriculum term.
        env_state: the saved env state (verified); None or without ADR: the
            checkpoint holds no ADR state (a WARNING says ADR starts from its init ranges).
        source: the checkpoint, as messages name it.
        rank: this process's rank (see :func:`~adr_lab.rsl_rl_checkpoint.stage_adr_state`).

    Raises:
        IncompatibleCheckpointError: the state does not fit this env (nothing has changed).
    """
    restore = stage_adr_state(term, env_state, source, rank=rank)
    counter = (env_state or {}).get(STEP_COUNTER_KEY)

    def commit() -> None:
        restore()
        if isinstance(counter, int) and restore is not NO_COMMIT:
            env.common_step_counter = counter

    return commit
