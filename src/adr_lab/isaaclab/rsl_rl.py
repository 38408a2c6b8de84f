"""rsl_rl's PPO carrying the complete ADR state through Isaac Lab's own rsl_rl checkpoints.

Isaac Lab 3.0 builds only rsl_rl's stock ``OnPolicyRunner`` (its
``create_rsl_rl_runner`` accepts no runner subclass), but that runner
resolves the *algorithm* from ``algorithm.class_name`` (a ``"module:Class"``
string works) and hands it the env. So an agent config with
``algorithm.class_name = "adr_lab.isaaclab.rsl_rl:AdrPPO"`` (:data:`ADR_PPO`)
makes ``isaaclab train`` / ``play`` save and restore ADR with no change to
Isaac Lab:

* :meth:`AdrPPO.save` adds ``env_state`` (the ADR term's state: ``adr``
  engine state, ``adr_params`` ranges, ``adr_lab`` with the noise stream; and
  the env's ``common_step_counter``) and ``adr_env_state_checksum`` (SHA-256
  of ``env_state``) to the dict the runner writes. The runner writes the file
  itself with ``torch.save``: the write is Isaac Lab's/rsl_rl's, not atomic;
  the ADR part is verified when loaded.
* :meth:`AdrPPO.load` verifies the checksum and checks the whole ADR state
  against the env before anything changes, then loads the policy (rsl_rl's
  own ``load``) and restores ADR. ``adr_load_from_checkpoint: false`` keeps
  the init ranges; another number of envs (``play``) restores the shared
  curriculum only (a WARNING names both counts).
* :meth:`AdrPPO.update` runs PPO's update, then the engine's deferred input
  checks, once per iteration.

The stock runner with the stock ``PPO`` loads these files unchanged (it
ignores the two extra entries).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from isaaclab.envs import ManagerBasedRLEnv
from rsl_rl.algorithms import PPO

from adr_domain import ENGINE_STATE_KEY, Commit, StateError
from adr_infra import ENV_STATE_KEY, CorruptCheckpointError, IncompatibleCheckpointError
from adr_infra.errors import TreeError
from adr_infra.tree import normalize_tree, tree_digest
from adr_lab.isaaclab.term import AdrCurriculumTerm, find_adr_term

__all__ = ["ADR_CHECKSUM_KEY", "ADR_PPO", "STEP_COUNTER_KEY", "AdrPPO", "only_adr_term"]

log = logging.getLogger(__name__)

ADR_PPO = "adr_lab.isaaclab.rsl_rl:AdrPPO"
"""The ``algorithm.class_name`` that names :class:`AdrPPO` in an rsl_rl agent config."""
ADR_CHECKSUM_KEY = "adr_env_state_checksum"
"""Entry of the saved dict holding :func:`~adr_infra.tree.tree_digest` of ``env_state``."""
STEP_COUNTER_KEY = "common_step_counter"
"""The env's step counter (Isaac Lab's curriculum and interval terms read it)."""
SOURCE = "rsl_rl checkpoint"
"""How errors name the file: rsl_rl hands the algorithm the loaded dict, not its path
(``isaaclab train`` / ``play`` print the path just before loading)."""


def _no_commit() -> None:
    """Nothing to restore."""


def only_adr_term(env: ManagerBasedRLEnv) -> AdrCurriculumTerm:
    """The env's one ADR curriculum term.

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
            f"AdrPPO ({ADR_PPO}) needs an env with exactly one ADR curriculum term "
            f"(adr_lab.isaaclab.attach_adr); this env has {len(terms)} ({found}): "
            + (
                "use algorithm.class_name 'PPO' for an env without ADR"
                if not terms
                else "put all ADR parameters and bindings into one AdrSpec"
            )
        )
    return next(iter(terms.values()))


def _verified_env_state(loaded: Mapping[str, Any]) -> dict[str, Any] | None:
    """The saved ``env_state`` (on the CPU) once its checksum holds; None if it has no ADR state.

    Raises:
        CorruptCheckpointError: the ADR state is missing its checksum or does not match it.
    """
    saved = loaded.get(ENV_STATE_KEY)
    if not isinstance(saved, Mapping) or ENGINE_STATE_KEY not in saved:
        return None
    expected = loaded.get(ADR_CHECKSUM_KEY)
    try:
        # On the CPU, where it was saved (``isaaclab train`` loads checkpoints with
        # ``map_location`` the agent's device).
        env_state: dict[str, Any] = normalize_tree(saved, ENV_STATE_KEY)
        actual = tree_digest(env_state)
    except TreeError as exc:
        raise CorruptCheckpointError(SOURCE, f"its ADR state cannot be read: {exc}") from None
    if expected != actual:
        why = "has no" if expected is None else "does not match its"
        raise CorruptCheckpointError(
            SOURCE,
            f"its ADR state (env_state) {why} checksum ({ADR_CHECKSUM_KEY}): damaged, or "
            "written by other code; refused, nothing was restored",
        )
    return env_state


class AdrPPO(PPO):  # type: ignore[misc]
    """rsl_rl's PPO that saves and restores the env's complete ADR state with the policy.

    Built by rsl_rl's ``OnPolicyRunner`` through :meth:`construct_algorithm`
    (name it with ``algorithm.class_name =`` :data:`ADR_PPO`).

    Attributes:
        adr_env: the env whose ADR term is saved (None until constructed by
            :meth:`construct_algorithm`: then this is plain PPO).
        adr: that env's ADR curriculum term.
    """

    adr_env: ManagerBasedRLEnv | None = None
    adr: AdrCurriculumTerm | None = None

    @staticmethod
    def construct_algorithm(obs: Any, env: Any, cfg: dict[str, Any], device: str) -> AdrPPO:
        """PPO's construction, bound to the ADR term of ``env`` (an rsl_rl ``VecEnv``).

        Raises:
            ValueError: the env has no ADR curriculum term or several (before
                any model is built).
            TypeError: ``cfg["algorithm"]["class_name"]`` names no :class:`AdrPPO`.
        """
        unwrapped = env.unwrapped
        term = only_adr_term(unwrapped)
        alg = PPO.construct_algorithm(obs, env, cfg, device)
        if not isinstance(alg, AdrPPO):
            raise TypeError(
                f"algorithm.class_name {cfg['algorithm'].get('class_name')!r} built a "
                f"{type(alg).__name__}, not an AdrPPO: name {ADR_PPO!r}"
            )
        alg.adr_env, alg.adr = unwrapped, term
        term.core.check_every = None  # checked once per iteration, in update()
        return alg

    def update(self) -> dict[str, float]:
        """PPO's update, then the engine's deferred input checks (once per iteration).

        Raises:
            ValueError: a bad objective value or env id reached the engine during
                the iteration's rollout (kept out of the ADR state).
        """
        losses: dict[str, float] = super().update()
        if self.adr is not None:
            self.adr.core.check()
        return losses

    def save(self) -> dict[str, Any]:
        """PPO's dict plus ``env_state`` (ADR and the step counter) and its checksum."""
        saved: dict[str, Any] = dict(super().save())
        if self.adr is None or self.adr_env is None:
            return saved
        env_state = {
            STEP_COUNTER_KEY: int(self.adr_env.common_step_counter),
            **self.adr.state_dict(),
        }
        saved[ENV_STATE_KEY] = env_state
        saved[ADR_CHECKSUM_KEY] = tree_digest(env_state)
        return saved

    def load(
        self, loaded_dict: dict[str, Any], load_cfg: dict[str, Any] | None, strict: bool
    ) -> bool:
        """Check the ADR state, load the policy as PPO does, then restore ADR.

        Returns:
            PPO's answer: whether the runner takes the saved iteration.

        Raises:
            CheckpointError: the ADR state is damaged (checksum) or does not fit
                this env; nothing has changed.
        """
        commit = self._stage_adr(loaded_dict)
        load_iteration: bool = super().load(loaded_dict, load_cfg, strict)
        commit()
        return load_iteration

    def _stage_adr(self, loaded: Mapping[str, Any]) -> Commit:
        """Check the saved ADR state against this env; the commit restores it."""
        term, env = self.adr, self.adr_env
        if term is None or env is None:
            return _no_commit
        env_state = _verified_env_state(loaded)
        if env_state is None:
            log.warning("the %s holds no ADR state: ADR starts from its init ranges", SOURCE)
            return _no_commit
        saved_envs = _saved_num_envs(env_state)
        shared_only = saved_envs != term.core.num_envs
        if shared_only:
            log.warning(
                "the %s was saved with %s envs, this env has %d: restoring the shared ADR "
                "curriculum only (ranges, next limits, queues); every env's ADR values are "
                "drawn afresh from the restored ranges",
                SOURCE,
                saved_envs,
                term.core.num_envs,
            )
        try:
            restore = term.stage_state_dict(env_state, shared_only=shared_only)
        except StateError as exc:
            raise IncompatibleCheckpointError(SOURCE, str(exc)) from None
        counter = env_state.get(STEP_COUNTER_KEY)

        def commit() -> None:
            restore()
            if isinstance(counter, int):
                env.common_step_counter = counter

        return commit


def _saved_num_envs(env_state: Mapping[str, Any]) -> object:
    """The number of envs the saved engine state was written with (as saved)."""
    engine_state = env_state.get(ENGINE_STATE_KEY)
    return engine_state.get("num_envs") if isinstance(engine_state, Mapping) else None
