"""Checkpoints of untrained policies, written in-process, for adr-eval tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from adr_app.evaluation.policy import build_model
from adr_app.tasks.reorient_state import NUM_ACTIONS, OBS_DIM
from adr_app.tasks.vecenv import ReorientVecEnv
from adr_infra import Checkpoint, save_checkpoint
from paths import ROOT

TRAIN_CFG = ROOT / "cfg" / "train" / "ReorientPPO.yaml"
TASK_CFG = ROOT / "cfg" / "task" / "Reorient.yaml"


def eval_refusal(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run adr-eval in-process with ``argv``: it must exit 2 with one line on stderr (returned)."""
    from adr_app.cli import eval as eval_cli

    with pytest.raises(SystemExit) as info:
        eval_cli.main(list(argv))
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def forbid_building(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> None:
    """Make ``module.name`` (an env class) fail the test if anything builds it."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an env was built")

    monkeypatch.setattr(module, name, refuse)


def train_params() -> dict[str, Any]:
    params: dict[str, Any] = yaml.safe_load(TRAIN_CFG.read_text())["params"]
    return params


def task_config(**env: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = yaml.safe_load(TASK_CFG.read_text())
    cfg["env"].update(env)
    return cfg


def write_policy_checkpoint(
    path: Path,
    *,
    seed: int,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    task_cfg: Mapping[str, Any] | None = None,
    task_name: str | None = None,
) -> Path:
    """An rl_games model with random weights (``seed``) and an engine whose ranges are
    ``ranges`` (default: init), saved as adr-train would."""
    torch.manual_seed(seed)
    model = build_model(train_params(), OBS_DIM, NUM_ACTIONS)
    env = ReorientVecEnv.from_config(task_cfg or task_config(), num_envs=4, seed=seed)
    engine = env.adr_engine
    for name, (lo, hi) in (ranges or {}).items():
        engine.bounds[engine.param_names.index(name)] = torch.tensor([lo, hi], dtype=torch.float64)
    env_state = env.get_env_state()
    if task_name is not None:
        env_state["task_name"] = task_name
    weights = {"model": model.state_dict(), "epoch": seed, "env_state": env_state}
    checkpoint = Checkpoint.from_rl_games(
        weights, experiment=path.stem, adr_config=engine.cfg.model_dump(mode="json")
    )
    save_checkpoint(path, checkpoint)
    return path
