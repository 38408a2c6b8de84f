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

Once per iteration (:class:`~adr_lab.rsl_rl_hooks.IterationEnd`) the runner
checks what ADR kept out of its state (a bad objective value raises, naming
the objective) and handles preemption: SIGTERM, SIGINT or SIGUSR1 finish the
iteration in progress, write ``model_<it>.pt``, print one line naming it and the
``--agent.resume`` command that continues the run, and exit 75.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from mjlab.envs import ManagerBasedRlEnv
from mjlab.rl import MjlabOnPolicyRunner, RslRlVecEnvWrapper

from adr_infra.distributed import join_process_group, launched_world_size
from adr_lab.mjlab.resume import mjlab_resume_args
from adr_lab.mjlab.terms import AdrCurriculum, adr_terms
from adr_lab.rsl_rl_checkpoint import (
    STEP_COUNTER_KEY,
    read_runner_checkpoint,
    stage_adr_state,
    write_runner_checkpoint,
)
from adr_lab.rsl_rl_hooks import IterationEnd

__all__ = ["AdrOnPolicyRunner"]

log = logging.getLogger(__name__)

PROGRAM = "mjlab train"
"""How the runner names itself in its messages."""


def _one_adr_term(env: ManagerBasedRlEnv) -> AdrCurriculum | None:
    """The env's ADR curriculum term, if any.

    Raises:
        ValueError: the env has several (a checkpoint holds one ADR state).
    """
    terms = adr_terms(env)
    if len(terms) > 1:
        names = ", ".join(repr(name) for name in terms)
        raise ValueError(
            f"AdrOnPolicyRunner supports one ADR curriculum term per env; this env has "
            f"{len(terms)} ({names}): put all ADR parameters and bindings into one AdrSpec"
        )
    return next(iter(terms.values()), None)


class AdrOnPolicyRunner(MjlabOnPolicyRunner):
    """mjlab's on-policy runner that saves and restores the complete ADR state.

    Works for any mjlab env; with no ADR term it saves what mjlab's runner
    saves, in a sim2real-adr checkpoint file.

    Raises:
        ValueError: the env has more than one ADR curriculum term (refused
            before any set-up: a checkpoint holds one ADR state).
    """

    def __init__(
        self,
        env: RslRlVecEnvWrapper,
        train_cfg: dict[str, Any],
        log_dir: str | None = None,
        device: str = "cpu",
    ) -> None:
        term = _one_adr_term(env.unwrapped)
        super().__init__(env, train_cfg, log_dir, device)
        if term is not None:
            term.core.check_every = None  # checked once per iteration instead
        self.iteration_end = IterationEnd(
            self, check=self._check_adr, resume_args=mjlab_resume_args, program=PROGRAM
        )

    def learn(self, num_learning_iterations: int, init_at_random_ep_len: bool = False) -> None:
        """rsl_rl's loop; a stop signal ends it after the iteration in progress (exit 75)."""
        self.iteration_end.learn(
            partial(super().learn, num_learning_iterations, init_at_random_ep_len)
        )

    def save(self, path: str, infos: dict[str, Any] | None = None) -> None:
        """Write the checkpoint at ``path`` atomically, with the ADR state and a checksum."""
        counter = int(self.env.unwrapped.common_step_counter)
        env_state: dict[str, Any] = {STEP_COUNTER_KEY: counter}
        term = self._adr_term()
        if term is not None:
            env_state.update(term.state_dict())
        # mjlab's stock runner restores the step counter from infos.
        infos = {**(infos or {}), "env_state": {STEP_COUNTER_KEY: counter}}
        write_runner_checkpoint(self, path, env_state, infos)

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
            CheckpointError: the file is missing, damaged, not a ``.pt`` file,
                or its ADR state does not fit this env (the message names the
                file and the entry).
        """
        checkpoint, location = read_runner_checkpoint(path)
        commit = stage_adr_state(
            self._adr_term(), checkpoint.env_state, path, rank=self.gpu_global_rank
        )
        infos: dict[str, Any] = super().load(location, load_cfg, strict, map_location)
        commit()
        return infos

    def _adr_term(self) -> AdrCurriculum | None:
        return _one_adr_term(self.env.unwrapped)

    def _check_adr(self) -> None:
        """Raise what the ADR term kept out of its state since the last iteration."""
        term = self._adr_term()
        if term is not None:
            term.core.check()

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
