"""Run directories ``adr-ckpt`` is given by path: an rl_games run (``<train_dir>/<exp>``,
checkpoints in ``nn/``) or an rsl_rl (mjlab) run (``logs/rsl_rl/<exp>/<time>``, checkpoints
``model_<iteration>.pt`` in the run directory itself)."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["RSL_RL_MODEL", "is_rl_games_run", "rsl_rl_latest", "rsl_rl_models"]

RSL_RL_MODEL = re.compile(r"^model_(\d+)\.pt$")
"""rsl_rl's checkpoint names (``model_<iteration>.pt``)."""


def rsl_rl_models(directory: Path) -> list[tuple[int, Path]]:
    """``(iteration, file)`` of every ``model_<it>.pt`` in ``directory``, by iteration."""
    if not directory.is_dir():
        return []
    found = []
    for entry in directory.iterdir():
        match = RSL_RL_MODEL.match(entry.name)
        if match is not None and entry.is_file():
            found.append((int(match.group(1)), entry))
    return sorted(found)


def rsl_rl_latest(directory: Path) -> Path | None:
    """The newest ``model_<it>.pt`` of an rsl_rl run directory (highest iteration)."""
    models = rsl_rl_models(directory)
    return models[-1][1] if models else None


def is_rl_games_run(directory: Path) -> bool:
    """Whether ``directory`` is an rl_games run directory (it has ``nn/``)."""
    return (directory / "nn").is_dir()
