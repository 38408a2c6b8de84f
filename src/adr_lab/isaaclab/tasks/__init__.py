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

CARTPOLE_RL_GAMES_CFG = "adr_lab.isaaclab.tasks.cartpole_rl_games:cartpole_adr_rl_games_cfg"
"""Only the name of Isaac-Cartpole-Adr's rl_games config: its module imports rl_games,
which only ``--rl_library rl_games`` runs need."""

gym.register(
    id=cartpole.TASK_ID,
    entry_point="isaaclab.envs:ManagerBasedRLEnv",
    disable_env_checker=True,
    kwargs={
        "env_cfg_entry_point": f"{cartpole.__name__}:CartpoleAdrEnvCfg",
        "rsl_rl_cfg_entry_point": f"{cartpole.__name__}:CartpoleAdrPPORunnerCfg",
        "rl_games_cfg_entry_point": CARTPOLE_RL_GAMES_CFG,
        "default_agent": "rsl_rl",
    },
)
