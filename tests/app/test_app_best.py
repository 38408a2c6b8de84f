"""The best checkpoint of an ADR run is the most robust one: the epoch with the widest ranges
(highest NPD) whose rollout performance met the ADR high threshold; reward-best stays
available as checkpoint=reward_best."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from adr_infra import RunLayout, load_checkpoint
from app_helpers import TINY, adr_train, trained_run

pytestmark = pytest.mark.slow


def scalars(summaries: Path, tag: str) -> dict[int, float]:
    """``{frame: value}`` of one TensorBoard scalar."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    values: dict[int, float] = {}
    for path in sorted(summaries.rglob("events.out.tfevents.*")):
        acc = EventAccumulator(str(path), size_guidance={"scalars": 0})
        acc.Reload()
        if tag in acc.Tags().get("scalars", []):
            values.update((e.step, e.value) for e in acc.Scalars(tag))
    return values


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5 epochs of experiment 'b' (every epoch's rollouts meet the forced high threshold -1)."""
    return trained_run(tmp_path_factory.mktemp("best"), "b", 5)


def test_best_is_the_epoch_with_the_widest_ranges_its_rollouts_mastered(run: Path) -> None:
    """The robust file holds the first epoch with the highest logged NPD among epochs whose
    logged rollout performance met the threshold; its ranges have that NPD."""
    layout = RunLayout("b", run / "runs")
    npd = scalars(layout.summaries_dir, "adr/npd")
    perf = scalars(layout.summaries_dir, "adr/objective_perf/rollouts")
    frames = sorted(npd)
    qualifying = [f for f in frames if perf[f] >= -1]
    best_frame = max(qualifying, key=lambda f: (npd[f], -f))
    robust = layout.best()
    assert robust == layout.robust_path()
    checkpoint = load_checkpoint(robust)
    assert checkpoint.frame == best_frame
    assert checkpoint.policy["adr_run"]["robust_npd"] == pytest.approx(npd[best_frame], abs=1e-6)
    assert layout.reward_best() == layout.reward_best_path()


@pytest.mark.parametrize(("selector", "file"), [("best", "b_robust.pth"), ("reward_best", "b.pth")])
def test_play_loads_the_robust_best_or_the_reward_best(run: Path, selector: str, file: str) -> None:
    """checkpoint=best plays <experiment>_robust.pth, checkpoint=reward_best <experiment>.pth."""
    result = adr_train(
        run, *TINY, "experiment=b", f"checkpoint={selector}", "test=True", "test_games=8"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"playing runs/b/nn/{file} " in result.stderr


def test_adr_ckpt_list_shows_both_bests(run: Path) -> None:
    """adr-ckpt list names the robust-best and the reward-best file and what selects them."""
    result = subprocess.run(
        [sys.executable, "-m", "adr_app.cli.ckpt", "list", "b", "--train-dir", "runs"],
        cwd=run,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[2:]}
    assert rows["b_robust.pth"][1] == "robust-best" and rows["b_robust.pth"][-1] == "best"
    assert rows["b.pth"][1] == "reward-best" and rows["b.pth"][-1] == "reward_best"


UNREACHABLE = [
    "task.task.adr.adr_objective_threshold_low=999",
    "task.task.adr.adr_objective_threshold_high=1000",
]


@pytest.mark.parametrize(
    "overrides",
    [UNREACHABLE, ["train.params.config.save_best_after=3"]],
    ids=["threshold-never-met", "before-save_best_after"],
)
def test_without_a_mastered_epoch_best_falls_back_to_reward_best(
    tmp_path: Path, overrides: list[str]
) -> None:
    """No robust file when no epoch's rollouts met the high threshold, or before rl_games'
    save_best_after (as for the reward best); checkpoint=best is then the reward best."""
    base = [arg for arg in TINY if "threshold" not in arg] if overrides is UNREACHABLE else TINY
    result = adr_train(tmp_path, *base, *overrides, "experiment=u", "max_iterations=2")
    assert result.returncode == 0, result.stderr[-3000:]
    layout = RunLayout("u", tmp_path / "runs")
    assert not layout.robust_path().exists()
    assert layout.best() == layout.reward_best()
