"""What every ADR variant of an mjlab task does to the original's configs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mjlab.envs import ManagerBasedRlEnvCfg
from mjlab.rl import RslRlOnPolicyRunnerCfg

from adr_lab.mjlab.fields import FieldBinding
from adr_lab.mjlab.terms import AdrSpec, attach_adr
from adr_lab.objectives import Objective

__all__ = ["renamed", "with_adr"]


def with_adr(
    cfg: ManagerBasedRlEnvCfg,
    adr: Mapping[str, Any],
    objective: Objective,
    bindings: Sequence[FieldBinding],
    play: bool,
) -> ManagerBasedRlEnvCfg:
    """``cfg`` under ADR; for ``play`` the ranges stay as loaded (evaluation, no updates)."""
    block = {**adr, "update_adr_ranges": not play}
    return attach_adr(cfg, AdrSpec(adr=block, objective=objective, bindings=bindings))


def renamed(cfg: RslRlOnPolicyRunnerCfg, experiment: str) -> RslRlOnPolicyRunnerCfg:
    """The task's PPO settings, logging to ``logs/rsl_rl/<experiment>``."""
    cfg.experiment_name = experiment
    return cfg
