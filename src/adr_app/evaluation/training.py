"""Evaluation during training (``adr-train eval_every=K``; ``docs/evaluation.md``).

A :class:`TrainingEvaluator` plays the policy being trained on a fixed test set
(named range sets, ``E`` episodes each) in envs of its own, with the rollout of
``adr-eval`` (:func:`~adr_app.evaluation.rollout.play_cells`): ADR updates
frozen, every env's values pinned, each env's first episode counted. The same
seed every time, so successive evaluations of a run see the same envs.

It must not change the training run: the global random states (torch, CUDA,
numpy, ``random``) are saved and restored around it, every module of the model
gets its training flag back, and nothing of the training envs or their engine is
touched (the current ranges are read, for ``checkpoint`` cells).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import torch

from adr_app.evaluation.policy import checkpoint_ranges, deterministic_actions
from adr_app.evaluation.rollout import eval_task_config, play_cells
from adr_app.evaluation.spec import EvalSpec, build_cells
from adr_app.tasks.config import ReorientConfig
from adr_domain.eval_cells import Cell, Range

__all__ = ["SetFigures", "TrainingEvaluator", "preserved_random_state"]


@attrs.frozen
class SetFigures:
    """The evaluation of one range set.

    Attributes:
        name: the range set (as ``eval_sets`` names it).
        mean_objective: mean consecutive successes of the episodes.
        success_rate: fraction of episodes reaching the success level.
        episodes: the episodes played.
    """

    name: str
    mean_objective: float
    success_rate: float
    episodes: int


@attrs.frozen(eq=False)
class _ModelActor:
    """The deterministic policy of an rl_games model (in eval mode)."""

    model: torch.nn.Module

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        return deterministic_actions(self.model, obs)


@contextlib.contextmanager
def preserved_random_state() -> Iterator[None]:
    """Restore the global torch (CPU and initialized CUDA devices), numpy and ``random``
    states on leaving: whatever runs inside draws nothing from the caller's streams."""
    cpu = torch.get_rng_state()
    initialized = torch.cuda.is_initialized()  # type: ignore[no-untyped-call]
    cuda = torch.cuda.get_rng_state_all() if initialized else None
    np_state = np.random.get_state()
    py_state = random.getstate()
    try:
        yield
    finally:
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)
        np.random.set_state(np_state)
        random.setstate(py_state)


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[None]:
    """``model`` in eval mode (its input normalizer frozen), each module's flag restored."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in flags:
            module.training = training


@attrs.frozen(eq=False)
class TrainingEvaluator:
    """The current policy on a fixed test set; see the module docstring.

    Attributes:
        cells: one per range set, in ``eval_sets`` order.
        params: the ADR parameter names, config order.
        episodes: episodes (envs) per cell.
        task_cfg: the evaluation's task config (training's env block, ADR frozen).
        seed: the seed of every evaluation's envs and values.
        success_level: the ADR ``adr_objective_threshold_high``.
        device: where the evaluation's envs run (the model's device).
    """

    cells: tuple[Cell, ...]
    params: tuple[str, ...]
    episodes: int
    task_cfg: dict[str, Any]
    seed: int
    success_level: float
    device: str = "cpu"

    @classmethod
    def build(
        cls,
        task_cfg: Mapping[str, Any],
        sets: Sequence[str],
        *,
        episodes: int,
        seed: int,
        device: str = "cpu",
    ) -> TrainingEvaluator:
        """The evaluator of the embedded task config ``task_cfg`` on the range sets ``sets``.

        Raises:
            ValueError: one line: an unknown range set, a range outside the limits, an
                unreadable ``ranges-of:`` checkpoint, ``episodes < 1``.
            ConfigError: ``task_cfg`` is not a valid task config.
        """
        if episodes < 1:
            raise ValueError(f"eval_episodes: must be >= 1, got {episodes}")
        adr = ReorientConfig.from_mapping(task_cfg).adr
        cells = build_cells(EvalSpec(sets=tuple(sets)), adr, checkpoint_ranges)
        return cls(
            cells=cells,
            params=tuple(adr.params),
            episodes=episodes,
            task_cfg=eval_task_config(task_cfg, adr.model_dump(mode="json")),
            seed=seed,
            success_level=float(adr.adr_objective_threshold_high),
            device=device,
        )

    def __call__(self, model: torch.nn.Module, ranges: Mapping[str, Range]) -> list[SetFigures]:
        """Play ``model`` deterministically on every cell; ``ranges`` are the current ADR
        ranges by name (those of ``checkpoint`` cells)."""
        own = {name: ranges[name] for name in self.params}
        resolved = [cell.resolve(own) for cell in self.cells]
        with preserved_random_state(), eval_mode(model), torch.no_grad():
            result = play_cells(
                _ModelActor(model),
                resolved,
                self.episodes,
                self.task_cfg,
                seed=self.seed,
                device=self.device,
            )
        figures = []
        for i, cell in enumerate(self.cells):
            objective = result.objective[i * self.episodes : (i + 1) * self.episodes]
            figures.append(
                SetFigures(
                    name=cell.label,
                    mean_objective=float(objective.mean()),
                    success_rate=float((objective >= self.success_level).double().mean()),
                    episodes=self.episodes,
                )
            )
        return figures
