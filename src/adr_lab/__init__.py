"""ADR for manager-based environments: mjlab (MuJoCo Warp) and the Isaac Lab task API.

Imports :mod:`adr_domain` and :mod:`adr_infra` below it, and the frameworks
(mjlab, mujoco, warp, rsl_rl; isaaclab for :mod:`adr_lab.isaaclab`), never
``adr_isaac`` or ``adr_app``.

* :mod:`adr_lab.core` — :class:`AdrCore` and the curriculum-term glue both frameworks share.
* :mod:`adr_lab.objectives` — what a finished episode scored (built-ins).
* :mod:`adr_lab.rsl_rl_hooks` — the end of an rsl_rl training iteration: ADR's check, preemption.
* :mod:`adr_lab.mjlab` — terms, model-field bindings and the rsl_rl runner for mjlab.
* :mod:`adr_lab.isaaclab` — the Isaac Lab 3.0 curriculum term, event-term bindings and
  ``Isaac-Cartpole-Adr`` (registered through Isaac Lab's ``isaaclab.tasks`` entry point).
* :mod:`adr_lab.tasks` — ADR variants of mjlab tasks (registered through
  mjlab's ``mjlab.tasks`` entry point).
"""

from adr_lab.core import LAB_STATE_KEY, AdrCore
from adr_lab.objectives import EpisodeLength, ManagerEnv, Objective, RewardSum, Survived

__all__ = [
    "LAB_STATE_KEY",
    "AdrCore",
    "EpisodeLength",
    "ManagerEnv",
    "Objective",
    "RewardSum",
    "Survived",
]
