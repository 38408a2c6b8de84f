"""mjlab's own train script on a Cartpole ADR task whose ADR trajectory a resume must repeat
(started by tests/lab/test_lab_preemption.py).

Usage: python lab_preempt_train.py Test-Cartpole-Scheduled-Adr [mjlab train flags...]

Registers the task, then runs ``mjlab.scripts.train.main()`` on this process's
arguments, so preemption, the printed resume command and ``--agent.resume``
are mjlab's CLI path. The task is :mod:`lab_resume_worker`'s env: episodes end
on a schedule of the step counter (no time-out, which the train script's
random initial episode lengths would move) and the objective reads the ADR
values back from the model, so the ADR state depends only on what a
checkpoint holds, not on the policy.
"""

from __future__ import annotations

import sys
from dataclasses import replace

import mjlab.tasks  # noqa: F401  (mjlab's registry with the ADR tasks)
from mjlab.managers.termination_manager import TerminationTermCfg
from mjlab.scripts import train
from mjlab.tasks.registry import register_mjlab_task

from adr_lab.mjlab.runner import AdrOnPolicyRunner
from adr_lab.tasks.cartpole import cartpole_adr_runner_cfg
from lab_helpers import cartpole_cfg, small_adr
from lab_resume_worker import played_values, scheduled_end

TASK_ID = "Test-Cartpole-Scheduled-Adr"


def register() -> None:
    adr = small_adr(adr_objective_threshold_low=1.9, adr_objective_threshold_high=2.05)
    env_cfg = cartpole_cfg(8, adr=adr, objective=played_values, episode_steps=1000)
    del env_cfg.terminations["time_out"]
    env_cfg.terminations["scheduled"] = TerminationTermCfg(func=scheduled_end)
    rl_cfg = replace(cartpole_adr_runner_cfg(), experiment_name="cartpole_preempt")
    register_mjlab_task(
        task_id=TASK_ID,
        env_cfg=env_cfg,
        play_env_cfg=env_cfg,
        rl_cfg=rl_cfg,
        runner_cls=AdrOnPolicyRunner,
    )


if __name__ == "__main__":
    register()
    sys.exit(train.main())
