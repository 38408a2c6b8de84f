"""mjlab's rsl_rl runner with complete ADR resume (and ``torchrun`` on CPU with gloo).

:class:`AdrOnPolicyRunner` writes ``model_<it>.pt`` as mjlab's runner does
(``actor_state_dict``, ``critic_state_dict``, ``optimizer_state_dict``,
``iter``, ``infos.env_state.common_step_counter``), so the stock runner loads
it unchanged, plus the two entries of a sim2real-adr checkpoint: ``env_state``
(the ADR term's state: ``adr`` engine state, ``adr_params`` ranges,
``adr_lab`` with the bound model fields as written and the noise stream; and
``common_step_counter``) and ``adr_kit`` (metadata and a SHA-256 checksum).
The file is written atomically through :func:`adr_infra.save_checkpoint`, so
``adr-ckpt inspect`` reads it. Loading verifies the checksum, checks the ADR
state completely, then restores policy and ADR (``adr_load_from_checkpoint``
decides whether ranges and queues come back).
"""

from __future__ import annotations

import logging
from typing import Any

from mjlab.rl import MjlabOnPolicyRunner

from adr_domain import ENGINE_STATE_KEY, Commit, StateError
from adr_infra import (
    Checkpoint,
    IncompatibleCheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from adr_infra.distributed import join_process_group, launched_world_size
from adr_lab.mjlab.terms import AdrCurriculum, adr_terms

__all__ = ["AdrOnPolicyRunner"]

log = logging.getLogger(__name__)

STEP_COUNTER_KEY = "common_step_counter"
"""mjlab's env-state entry (the stock runner saves and restores only this)."""


def _no_commit() -> None:
    """Nothing to restore."""


class AdrOnPolicyRunner(MjlabOnPolicyRunner):
    """mjlab's on-policy runner that saves and restores the complete ADR state.

    Works for any mjlab env; with no ADR term it saves what mjlab's runner
    saves, in a sim2real-adr checkpoint file.
    """

    def save(self, path: str, infos: dict[str, Any] | None = None) -> None:
        """Write the checkpoint at ``path`` atomically, with the ADR state and a checksum."""
        counter = int(self.env.unwrapped.common_step_counter)
        policy = dict(self.alg.save())
        policy["iter"] = self.current_learning_iteration
        policy["infos"] = {**(infos or {}), "env_state": {STEP_COUNTER_KEY: counter}}
        env_state: dict[str, Any] = {STEP_COUNTER_KEY: counter}
        term = self._adr_term()
        if term is not None:
            env_state.update(term.state_dict())
        experiment = self.cfg.get("experiment_name")
        checkpoint = Checkpoint.create(
            policy, env_state, experiment=experiment if isinstance(experiment, str) else None
        )
        save_checkpoint(path, checkpoint)
        if self.cfg.get("upload_model"):
            self.logger.save_model(path, self.current_learning_iteration)

    def load(
        self,
        path: str,
        load_cfg: dict[str, Any] | None = None,
        strict: bool = True,
        map_location: str | None = None,
    ) -> dict[str, Any]:
        """Restore policy, optimizer, iteration (as mjlab's runner) and the ADR state.

        The file's checksum and the whole ADR state are checked before
        anything changes. A rank other than 0 of a distributed run, or a run
        with another number of envs (e.g. ``play``), restores the shared
        curriculum (ranges, queues) and draws its envs' values from it.

        Raises:
            CheckpointError: the file is missing, damaged or its ADR state does
                not fit this env (the message names the file and the entry).
        """
        checkpoint = load_checkpoint(path)
        commit = self._stage_adr(checkpoint, path)
        infos: dict[str, Any] = super().load(path, load_cfg, strict, map_location)
        commit()
        return infos

    def _adr_term(self) -> AdrCurriculum | None:
        terms = adr_terms(self.env.unwrapped)
        if len(terms) > 1:
            raise ValueError("AdrOnPolicyRunner supports one ADR curriculum term per env")
        return terms[0] if terms else None

    def _stage_adr(self, checkpoint: Checkpoint, path: str) -> Commit:
        """Check the checkpoint's ADR state against this env; the commit restores it."""
        term = self._adr_term()
        env_state = checkpoint.env_state or {}
        if term is None:
            return _no_commit
        if ENGINE_STATE_KEY not in env_state:
            log.warning("%s holds no ADR state: ADR starts from its init ranges", path)
            return _no_commit
        saved_envs = checkpoint.engine_state.get("num_envs") if checkpoint.engine_state else None
        shared_only = self.gpu_global_rank != 0 or saved_envs != term.core.num_envs
        if shared_only:
            log.info("%s: restoring the shared ADR curriculum only", path)
        try:
            return term.stage_state_dict(env_state, shared_only=shared_only)
        except StateError as exc:
            raise IncompatibleCheckpointError(path, str(exc)) from None

    def _configure_multi_gpu(self) -> None:
        """rsl_rl's multi-GPU set-up, also for CPU ranks (gloo) and an existing group.

        rsl_rl initializes NCCL on ``cuda:<local_rank>``; the ADR term may have
        joined the group already (the env is built before the runner).
        """
        self.gpu_world_size = launched_world_size()
        self.is_distributed = self.gpu_world_size > 1
        if not self.is_distributed:
            self.gpu_local_rank = self.gpu_global_rank = 0
            self.cfg["multi_gpu"] = None
            return
        member = join_process_group(self.device)
        self.gpu_global_rank, self.gpu_local_rank = member.rank, member.local_rank
        self.cfg["multi_gpu"] = {
            "global_rank": self.gpu_global_rank,
            "local_rank": self.gpu_local_rank,
            "world_size": self.gpu_world_size,
        }
