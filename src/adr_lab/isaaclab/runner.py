"""ADR's part in rsl_rl's stock ``OnPolicyRunner`` under ``isaaclab train`` / ``play``.

Isaac Lab 3.0 builds only the stock runner (``create_rsl_rl_runner`` takes no
runner class), and the runner hands its algorithm neither its log dir nor a
save path. The runner builds the algorithm in its ``__init__``, from
``algorithm.class_name``; so :class:`~adr_lab.isaaclab.rsl_rl.AdrPPO`, built
there, finds the runner building it (:func:`building_runner`) and
:func:`adopt_runner` gives that one runner (not the class) three methods of
:class:`AdrRunnerParts`:

* ``save``: the file rsl_rl writes plus the env's ADR state, written
  atomically with a checksum of the whole file
  (:func:`adr_lab.rsl_rl_checkpoint.write_runner_checkpoint`); the stock
  runner and ``adr-ckpt inspect`` read it;
* ``load``: verifies the file and checks its ADR state against the env before
  anything changes, loads the policy as rsl_rl does, then restores ADR
  (``adr_load_from_checkpoint`` decides about ranges and queues; another number
  of envs restores the shared curriculum, with a WARNING);
* ``learn``: rsl_rl's loop with ADR's check once per iteration and
  preemption (:class:`adr_lab.rsl_rl_hooks.IterationEnd`): SIGTERM, SIGINT or
  SIGUSR1 finish the iteration in progress, write ``model_<it>.pt``, print one
  line naming it and the ``isaaclab train ... --checkpoint <file>
  --max_iterations <left>`` command that continues the run (from the same
  working directory: Isaac Lab puts ``logs/`` there), and exit 75.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from isaaclab.envs import ManagerBasedRLEnv
from rsl_rl.runners import OnPolicyRunner

from adr_lab.isaaclab.env_state import adr_env_state, stage_adr_env_state
from adr_lab.isaaclab.term import AdrCurriculumTerm
from adr_lab.rsl_rl_checkpoint import read_runner_checkpoint, write_runner_checkpoint
from adr_lab.rsl_rl_hooks import IterationEnd, drop_flags

__all__ = ["PROGRAM", "AdrRunnerParts", "adopt_runner", "building_runner", "isaaclab_resume_args"]

PROGRAM = "isaaclab train"
"""How the runner names itself in its messages."""
RESUME_FLAGS = ("--checkpoint", "--max_iterations")
"""The flags the resume command sets (any given before are replaced)."""


def building_runner(depth: int = 2) -> OnPolicyRunner | None:
    """The ``OnPolicyRunner`` whose ``__init__`` is ``depth`` frames up the stack, if any.

    rsl_rl's runner calls ``alg_class.construct_algorithm(...)`` from its
    ``__init__``; from there, depth 2 is that ``__init__``.
    """
    frame = sys._getframe(depth)
    runner = frame.f_locals.get("self")
    return runner if isinstance(runner, OnPolicyRunner) else None


def isaaclab_resume_args(args: Sequence[str], saved: str, remaining: int) -> list[str]:
    """``isaaclab``'s arguments (``train`` first) resuming from ``saved`` for ``remaining``
    iterations: ``--checkpoint`` (absolute) and ``--max_iterations`` replace any given."""
    checkpoint = str(Path(saved).resolve())
    kept = drop_flags(args, RESUME_FLAGS)
    return [*kept, "--checkpoint", checkpoint, "--max_iterations", str(remaining)]


class AdrRunnerParts:
    """The ``save``, ``load`` and ``learn`` an adopted runner uses (module doc).

    Args:
        runner: the stock runner (its own methods are kept and called).
        env: the Isaac Lab env.
        term: its ADR curriculum term.
    """

    def __init__(
        self, runner: OnPolicyRunner, env: ManagerBasedRLEnv, term: AdrCurriculumTerm
    ) -> None:
        self.runner = runner
        self.env = env
        self.term = term
        self._stock_load = runner.load
        self._stock_learn = runner.learn
        self._iteration_end: IterationEnd | None = None

    def save(self, path: str, infos: dict[str, Any] | None = None) -> None:
        """Write the checkpoint at ``path`` atomically, with the ADR state and a checksum."""
        write_runner_checkpoint(self.runner, path, adr_env_state(self.env, self.term), infos)

    def load(
        self,
        path: str,
        load_cfg: dict[str, Any] | None = None,
        strict: bool = True,
        map_location: str | None = None,
    ) -> Any:
        """Verify the file, check its ADR state, load the policy as rsl_rl does, restore ADR.

        Returns:
            What rsl_rl's ``load`` returns (the saved ``infos``).

        Raises:
            CheckpointError: the file is missing, damaged (checksum), not a
                ``.pt`` file, or its ADR state does not fit this env (the
                message names the file and the entry); nothing has changed.
        """
        checkpoint, location = read_runner_checkpoint(path)
        rank = self.runner.gpu_global_rank
        commit = stage_adr_env_state(self.env, self.term, checkpoint.env_state, path, rank=rank)
        infos = self._stock_load(location, load_cfg, strict, map_location)
        commit()
        return infos

    def learn(self, num_learning_iterations: int, init_at_random_ep_len: bool = False) -> None:
        """rsl_rl's loop; a stop signal ends it after the iteration in progress (exit 75)."""
        self.iteration_end().learn(
            partial(self._stock_learn, num_learning_iterations, init_at_random_ep_len)
        )

    def iteration_end(self) -> IterationEnd:
        """The runner's end-of-iteration step, built at the first ``learn`` (the runner
        makes its logger after the algorithm, so not before)."""
        if self._iteration_end is None:
            self._iteration_end = IterationEnd(
                self.runner,
                check=self.term.core.check,
                resume_args=isaaclab_resume_args,
                program=PROGRAM,
            )
        return self._iteration_end


def adopt_runner(
    runner: OnPolicyRunner, env: ManagerBasedRLEnv, term: AdrCurriculumTerm
) -> AdrRunnerParts:
    """Give ``runner`` (this one object) the ``save``, ``load`` and ``learn`` of ADR."""
    parts = AdrRunnerParts(runner, env, term)
    runner.save = parts.save
    runner.load = parts.load
    runner.learn = parts.learn
    term.core.check_every = None  # checked once per iteration, by learn
    return parts
