"""ADR variants of mjlab tasks, registered in mjlab's task registry.

mjlab imports this module through its ``mjlab.tasks`` entry point (declared
in sim2real-adr's ``pyproject.toml``), so ``python -m mjlab.scripts.train
Mjlab-Cartpole-Balance-Adr`` and ``play`` find the tasks with no import of
ours; each names :class:`~adr_lab.mjlab.runner.AdrOnPolicyRunner` as its runner.
"""

from mjlab.tasks.registry import register_mjlab_task

from adr_lab.mjlab.runner import AdrOnPolicyRunner
from adr_lab.tasks import cartpole, go1

__all__ = ["TASK_IDS"]

TASKS = (
    (cartpole.TASK_ID, cartpole.cartpole_adr_env_cfg, cartpole.cartpole_adr_runner_cfg),
    (go1.TASK_ID, go1.go1_flat_adr_env_cfg, go1.go1_flat_adr_runner_cfg),
)
TASK_IDS = tuple(task_id for task_id, _, _ in TASKS)

for _task_id, _env_cfg, _rl_cfg in TASKS:
    register_mjlab_task(
        task_id=_task_id,
        env_cfg=_env_cfg(),
        play_env_cfg=_env_cfg(play=True),
        rl_cfg=_rl_cfg(),
        runner_cls=AdrOnPolicyRunner,
    )
