"""ADR variants of Isaac Lab tasks, registered in gymnasium's registry.

Isaac Lab's ``isaaclab train`` / ``play`` import this module through the
``isaaclab.tasks`` entry point (declared in sim2real-adr's ``pyproject.toml``),
so ``isaaclab train --task Isaac-Cartpole-Adr ...`` (or
``Isaac-Velocity-Flat-Anymal-C-Adr``) finds the task with no import of ours.
"""

from types import ModuleType

import gymnasium as gym

from adr_lab.isaaclab.tasks import anymal_c, cartpole

__all__ = ["TASK_IDS"]

TASK_IDS = (cartpole.TASK_ID, anymal_c.TASK_ID)

CARTPOLE_RL_GAMES_CFG = "adr_lab.isaaclab.tasks.cartpole_rl_games:cartpole_adr_rl_games_cfg"
"""Only the name of Isaac-Cartpole-Adr's rl_games config: its module imports rl_games,
which only ``--rl_library rl_games`` runs need."""


def _register(task: ModuleType, env_cfg: str, agent_cfg: str, **entry_points: str) -> None:
    """Register ``task.TASK_ID``: Isaac Lab's manager-based RL env of the config class
    ``env_cfg`` of ``task``, trained by default with rsl_rl's ``agent_cfg`` of ``task``."""
    gym.register(
        id=task.TASK_ID,
        entry_point="isaaclab.envs:ManagerBasedRLEnv",
        disable_env_checker=True,
        kwargs={
            "env_cfg_entry_point": f"{task.__name__}:{env_cfg}",
            "rsl_rl_cfg_entry_point": f"{task.__name__}:{agent_cfg}",
            **entry_points,
            "default_agent": "rsl_rl",
        },
    )


_register(
    cartpole,
    "CartpoleAdrEnvCfg",
    "CartpoleAdrPPORunnerCfg",
    rl_games_cfg_entry_point=CARTPOLE_RL_GAMES_CFG,
)
_register(anymal_c, "AnymalCFlatAdrEnvCfg", "AnymalCFlatAdrPPORunnerCfg")
