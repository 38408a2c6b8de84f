"""ADR variants of Isaac Lab tasks, registered in gymnasium's registry.

Isaac Lab's ``isaaclab train`` / ``play`` import this module through the
``isaaclab.tasks`` entry point (declared in sim2real-adr's ``pyproject.toml``),
so ``isaaclab train --task Isaac-Cartpole-Adr ...`` finds the task with no
import of ours.
"""

import gymnasium as gym

from adr_lab.isaaclab.tasks import cartpole

__all__ = ["TASK_IDS"]

TASK_IDS = (cartpole.TASK_ID,)

gym.register(
    id=cartpole.TASK_ID,
    entry_point="isaaclab.envs:ManagerBasedRLEnv",
    disable_env_checker=True,
    kwargs={
        "env_cfg_entry_point": f"{cartpole.__name__}:CartpoleAdrEnvCfg",
        "rsl_rl_cfg_entry_point": f"{cartpole.__name__}:CartpoleAdrPPORunnerCfg",
        "default_agent": "rsl_rl",
    },
)
