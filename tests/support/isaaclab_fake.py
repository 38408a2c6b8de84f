"""A fake of the Isaac Lab manager surface adr_lab.isaaclab uses (Isaac Lab needs Isaac Sim).

It mirrors what Isaac Lab documents and does, no more: ``ManagerTermBase(cfg,
env)``, ``CurriculumTermCfg(func, params)``, ``SceneEntityCfg(name, body_names)``
with ``resolve(scene)``, the term-signature check of
``ManagerBase.resolve_term_cfg``, and the order of ``ManagerBasedRLEnv._reset_idx``
(curriculum compute, scene reset, reset events, a fresh ``extras["log"]``,
manager resets, episode counters). Physics is one tensor of body masses.
"""

from __future__ import annotations

import inspect
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch


class ManagerTermBase:
    """Isaac Lab's base of class-based terms."""

    def __init__(self, cfg: Any, env: Any) -> None:
        self.cfg = cfg
        self._env = env

    @property
    def num_envs(self) -> int:
        return int(self._env.num_envs)

    @property
    def device(self) -> str:
        return str(self._env.device)

    def reset(self, env_ids: Any = None) -> None:
        pass


@dataclass
class CurriculumTermCfg:
    func: Any
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class SceneEntityCfg:
    name: str
    body_names: tuple[str, ...] | None = None
    body_ids: list[int] | slice = field(default_factory=lambda: slice(None))

    def resolve(self, scene: dict[str, Any]) -> None:
        asset = scene[self.name]  # KeyError for an unknown asset, as Isaac Lab
        if self.body_names is not None:
            missing = [n for n in self.body_names if n not in asset.body_names]
            if missing:
                raise ValueError(f"Not all bodies matched: {missing}")
            self.body_ids = [asset.body_names.index(n) for n in self.body_names]


def check_term_signature(term: Callable[..., Any], params: dict[str, Any], min_argc: int) -> None:
    """Isaac Lab's check that a term's arguments are matched by its params."""
    args = inspect.signature(term).parameters
    with_defaults = [a for a in args if args[a].default is not inspect.Parameter.empty]
    without = [a for a in args if args[a].default is inspect.Parameter.empty]
    names = without + with_defaults
    if len(names) > min_argc and set(names[min_argc:]) != set(list(params) + with_defaults):
        raise ValueError(f"term expects {without[min_argc:]} and {with_defaults}, got {params}")


@dataclass
class Asset:
    body_names: tuple[str, ...]
    default_mass: torch.Tensor
    mass: torch.Tensor


class RewardManager:
    def __init__(self, num_envs: int) -> None:
        self.active_terms = ["alive"]
        self._episode_sums = {"alive": torch.zeros(num_envs)}


class TerminationManager:
    def __init__(self, num_envs: int) -> None:
        self.active_terms = ["time_out", "fell"]
        self.terminated = torch.zeros(num_envs, dtype=torch.bool)

    def get_term(self, name: str) -> torch.Tensor:
        return self.terminated


class CurriculumManager:
    """Builds class terms as Isaac Lab does, and calls them in its order."""

    def __init__(self, cfg: dict[str, CurriculumTermCfg], env: ManagerBasedRLEnv) -> None:
        self._env = env
        self.terms = {}
        for name, term_cfg in cfg.items():
            term_cfg.func = term_cfg.func(cfg=term_cfg, env=env)
            check_term_signature(term_cfg.func, term_cfg.params, min_argc=2)
            self.terms[name] = term_cfg

    def compute(self, env_ids: Any) -> None:
        for term_cfg in self.terms.values():
            term_cfg.func(self._env, env_ids, **term_cfg.params)

    def reset(self, env_ids: Any) -> dict[str, float]:
        for term_cfg in self.terms.values():
            term_cfg.func.reset(env_ids=env_ids)
        return {}


class ManagerBasedRLEnv:
    """``num_envs`` single-body 'robots' whose episodes the test ends by hand."""

    def __init__(self, curriculum: dict[str, CurriculumTermCfg], num_envs: int = 8) -> None:
        self.num_envs = num_envs
        self.device = "cpu"
        self.step_dt = 0.02
        self.max_episode_length = 100
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long)
        self.extras: dict[str, Any] = {}
        masses = torch.tensor([[1.0, 0.5]]).repeat(num_envs, 1)
        self.scene = {"robot": Asset(("base", "leg"), masses.clone(), masses.clone())}
        self.reward_manager = RewardManager(num_envs)
        self.termination_manager = TerminationManager(num_envs)
        self.curriculum_manager = CurriculumManager(curriculum, self)

    def play(self, steps: int, score: float) -> None:
        """Advance every episode ``steps`` steps, each earning ``score`` per step."""
        self.episode_length_buf += steps
        self.reward_manager._episode_sums["alive"] += score * steps

    def _reset_idx(self, env_ids: torch.Tensor) -> None:
        self.curriculum_manager.compute(env_ids=env_ids)
        self.extras["log"] = {}
        self.extras["log"].update(self.curriculum_manager.reset(env_ids))
        self.reward_manager._episode_sums["alive"][env_ids] = 0.0
        self.episode_length_buf[env_ids] = 0


def randomize_rigid_body_mass(
    env: ManagerBasedRLEnv,
    env_ids: torch.Tensor,
    asset_cfg: SceneEntityCfg,
    mass_distribution_params: tuple[float, float],
    operation: str,
    distribution: str = "uniform",
) -> None:
    """Isaac Lab's mass randomization: scale default masses by uniform draws in the range."""
    asset = env.scene[asset_cfg.name]
    lo, hi = mass_distribution_params
    bodies = asset_cfg.body_ids
    shape = (env_ids.numel(), len(asset.body_names) if isinstance(bodies, slice) else len(bodies))
    draw = lo + (hi - lo) * torch.rand(shape)
    assert operation == "scale"
    asset.mass[env_ids[:, None], bodies] = asset.default_mass[env_ids[:, None], bodies] * draw


@contextmanager
def installed() -> Iterator[types.ModuleType]:
    """``isaaclab``, ``isaaclab.managers`` and ``isaaclab.envs`` as fake modules."""
    root = types.ModuleType("isaaclab")
    managers = types.ModuleType("isaaclab.managers")
    envs = types.ModuleType("isaaclab.envs")
    for cls in (ManagerTermBase, CurriculumTermCfg, SceneEntityCfg):
        setattr(managers, cls.__name__, cls)
    envs.ManagerBasedRLEnv = ManagerBasedRLEnv  # type: ignore[attr-defined]
    root.managers, root.envs = managers, envs  # type: ignore[attr-defined]
    saved = {k: sys.modules.get(k) for k in ("isaaclab", "isaaclab.managers", "isaaclab.envs")}
    sys.modules.update({"isaaclab": root, "isaaclab.managers": managers, "isaaclab.envs": envs})
    sys.modules.pop("adr_lab.isaaclab", None)
    try:
        yield root
    finally:
        sys.modules.pop("adr_lab.isaaclab", None)
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
