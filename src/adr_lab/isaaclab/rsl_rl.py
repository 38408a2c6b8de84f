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

from collections.abc import Mapping
from typing import Any

from isaaclab.envs import ManagerBasedRLEnv
from rsl_rl.algorithms import PPO

from adr_domain import Commit
from adr_infra import ENV_STATE_KEY
from adr_infra.tree import tree_digest
from adr_lab.isaaclab.env_state import (
    ADR_CHECKSUM_KEY,
    adr_env_state,
    no_commit,
    only_adr_term,
    stage_adr_env_state,
    verified_env_state,
)
from adr_lab.isaaclab.term import AdrCurriculumTerm

__all__ = ["ADR_PPO", "AdrPPO"]

ADR_PPO = "adr_lab.isaaclab.rsl_rl:AdrPPO"
"""The ``algorithm.class_name`` that names :class:`AdrPPO` in an rsl_rl agent config."""
SOURCE = "rsl_rl checkpoint"
"""How errors name the file: rsl_rl hands the algorithm the loaded dict, not its path
(``isaaclab train`` / ``play`` print the path just before loading)."""


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
        term = only_adr_term(unwrapped, f"AdrPPO ({ADR_PPO})", "algorithm.class_name 'PPO'")
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
        env_state = adr_env_state(self.adr_env, self.adr)
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
            return no_commit
        env_state = verified_env_state(
            loaded.get(ENV_STATE_KEY), loaded.get(ADR_CHECKSUM_KEY), SOURCE
        )
        return stage_adr_env_state(env, term, env_state, SOURCE)
