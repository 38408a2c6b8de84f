"""adr-train eval_every=K: the policy evaluated every K epochs on a fixed test set, logged to
TensorBoard, without changing the training run; bad settings refused with one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from adr_app.cli.plot import read_adr_scalars
from adr_app.evaluation.training import TrainingEvaluator
from adr_app.tasks.reorient_state import NUM_ACTIONS, OBS_DIM
from app_helpers import (
    TINY,
    adr_train,
    assert_same_training_state,
    checkpoints,
    epoch_of,
    refused,
)
from eval_helpers import task_config, train_params

COMMON = [*TINY, "torch_deterministic=True", "seed=7", "max_iterations=4"]
EVAL = ["eval_every=2", "eval_episodes=8", "eval_sets=[init,checkpoint,scaled:2]"]


def scalars(summaries: Path) -> dict[str, dict[int, float]]:
    """``{tag: {frame: value}}`` of every scalar of a run."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out: dict[str, dict[int, float]] = {}
    for path in sorted(summaries.rglob("events.out.tfevents.*")):
        acc = EventAccumulator(str(path), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags().get("scalars", []):
            out.setdefault(tag, {}).update((e.step, e.value) for e in acc.Scalars(tag))
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The same 4-epoch run twice, without (``plain``) and with (``evaluated``) eval_every=2."""
    cwd = tmp_path_factory.mktemp("train_eval")
    plain = adr_train(cwd, *COMMON, "experiment=plain")
    assert plain.returncode == 0, plain.stderr[-3000:]
    evaluated = adr_train(cwd, *COMMON, *EVAL, "experiment=evaluated")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    return cwd / "runs", evaluated.stdout


def _final(run_dir: Path) -> Path:
    path = max((p for p in checkpoints(run_dir) if "_ep_" in p.name), key=epoch_of)
    assert epoch_of(path) == 4
    return path


@pytest.mark.slow
def test_evaluating_during_training_leaves_the_run_bit_identical(runs: tuple[Path, str]) -> None:
    """Final policy, optimizer, ADR and task state and the ADR trajectory equal those of the
    run without evaluation (CPU, torch_deterministic=True)."""
    root, _ = runs
    assert_same_training_state(_final(root / "plain"), _final(root / "evaluated"))
    plain, _ = read_adr_scalars(root / "plain" / "summaries")
    evaluated, _ = read_adr_scalars(root / "evaluated" / "summaries")
    assert plain == evaluated


@pytest.mark.slow
def test_the_evaluations_reach_tensorboard_at_the_frames_of_every_kth_epoch(
    runs: tuple[Path, str],
) -> None:
    """eval/<set>/{mean_objective,success_rate,episodes} at the frames of epochs 2 and 4
    (those of the ADR scalars); the plain run has none; one line per evaluation."""
    root, stdout = runs
    tags = scalars(root / "evaluated" / "summaries")
    frames = sorted(tags["adr/npd"])
    assert len(frames) == 4
    for name in ("init", "checkpoint", "scaled_2"):
        for figure in ("mean_objective", "success_rate", "episodes"):
            values = tags[f"eval/{name}/{figure}"]
            assert sorted(values) == [frames[1], frames[3]], (name, figure)
        assert set(tags[f"eval/{name}/episodes"].values()) == {8.0}
        assert all(0.0 <= v <= 1.0 for v in tags[f"eval/{name}/success_rate"].values())
        assert all(v >= 0.0 for v in tags[f"eval/{name}/mean_objective"].values())
    assert not any(t.startswith("eval/") for t in scalars(root / "plain" / "summaries"))
    lines = [line for line in stdout.splitlines() if line.startswith("eval after epoch")]
    assert [line.split()[3] for line in lines] == ["2", "4"]
    assert all("scaled:2: successes" in line for line in lines)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["eval_every=-1"], "eval_every=-1: Input should be greater than or equal to 0"),
        (["eval_every=true"], "eval_every=true: expected a number"),
        (["eval_episodes=0"], "eval_episodes=0: Input should be greater than 0"),
        (["eval_every=2", "eval_sets=[init,bogus]"], "unknown range set 'bogus'"),
        (["eval_every=2", "eval_sets=[init,init]"], "range sets named twice: init"),
        (["eval_every=2", "eval_sets=[]"], "name at least one range set"),
    ],
)
def test_bad_evaluation_settings_are_one_line_and_exit_2(
    tmp_path: Path, overrides: list[str], expected: str
) -> None:
    assert expected in refused(tmp_path, *overrides)


def test_an_isaac_gym_task_refuses_eval_every_with_one_line(tmp_path: Path) -> None:
    """Evaluation during training plays the embedded task only: exit 2 before Isaac Gym."""
    from app_isaac_tasks import adr_train as isaac_train
    from app_isaac_tasks import write_config_dir

    config_dir = write_config_dir(tmp_path / "config")
    result = isaac_train(tmp_path, config_dir, "eval_every=2", "max_iterations=1", timeout=120)
    assert result.returncode == 2, result.stderr[-1500:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "eval_every=2: evaluation during training plays the embedded tasks only" in lines[0]
    assert not (tmp_path / "runs").exists()


def _model() -> torch.nn.Module:
    from adr_app.evaluation.policy import build_model

    torch.manual_seed(3)
    model = build_model(train_params(), OBS_DIM, NUM_ACTIONS)
    return model.train()


def test_the_evaluator_restores_the_random_state_and_the_models_modes() -> None:
    """The global RNG streams, the training flags and the input normalizer are as before;
    two evaluations of the same model give the same figures (a fixed test set)."""
    import random

    import numpy as np

    task_cfg = task_config(maxStepsWithoutSuccess=6)
    evaluator = TrainingEvaluator.build(task_cfg, ["init", "checkpoint"], episodes=4, seed=1)
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ranges = {name: (lo, hi) for name, (lo, hi) in evaluator.cells[0].ranges.items()}
    torch.manual_seed(11)
    np.random.seed(11)
    random.seed(11)
    first = evaluator(model, ranges)
    after = (torch.rand(3), np.random.rand(), random.random())
    torch.manual_seed(11)
    np.random.seed(11)
    random.seed(11)
    expected = (torch.rand(3), np.random.rand(), random.random())
    assert torch.equal(after[0], expected[0]) and after[1:] == expected[1:]
    assert all(m.training for m in model.modules())
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert evaluator(model, ranges) == first
    assert [f.name for f in first] == ["init", "checkpoint"]
    assert all(f.episodes == 4 and 0.0 <= f.success_rate <= 1.0 for f in first)
