"""The rl_games agent config of ``Isaac-Cartpole-Adr`` (its ``rl_games_cfg_entry_point``).

Isaac Lab's own Cartpole rl_games settings, run on the CPU, logging to
``logs/rl_games/cartpole_adr``, with the env named
:data:`~adr_lab.isaaclab.rl_games.ADR_ENV_NAME` so that every checkpoint
carries the ADR state and a resume restores it. A module of its own: only
``--rl_library rl_games`` imports it (and rl_games).
"""

from __future__ import annotations

from typing import Any

from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

from adr_lab.isaaclab.rl_games import adr_agent_cfg

__all__ = ["STOCK_TASK_ID", "cartpole_adr_rl_games_cfg"]

STOCK_TASK_ID = "Isaac-Cartpole"
"""The Isaac Lab task whose rl_games agent config this one starts from."""


def cartpole_adr_rl_games_cfg() -> dict[str, Any]:
    """Isaac Lab's manager-based Cartpole rl_games config, for ADR on the CPU.

    ``device`` is the CPU (``agent.params.config.device=cuda:0`` and
    ``agent.params.config.device_name=cuda:0`` for a GPU) and ``torch_compile``
    is off (compiling costs more than it saves on the CPU).
    """
    agent_cfg: Any = load_cfg_from_registry(STOCK_TASK_ID, "rl_games_cfg_entry_point")
    agent_cfg["params"]["config"].update(
        name="cartpole_adr", device="cpu", device_name="cpu", torch_compile=False
    )
    return adr_agent_cfg(agent_cfg)
