"""Run layout: rl_games' file names, discovery of the latest and best checkpoint, retention."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from adr_infra import (
    Checkpoint,
    CheckpointKind,
    CheckpointName,
    CheckpointNotFoundError,
    RunLayout,
    load_checkpoint,
    save_checkpoint,
)

# File names built with the very expressions rl_games 1.6.5 uses (a2c_common.py, train_epoch):
# mean_rewards is a float32 numpy array, or -np.inf when no episode finished.


def rl_games_periodic(name: str, epoch: int, reward: float) -> str:
    mean_rewards = np.array([reward], dtype=np.float32)
    return "last_" + name + "_ep_" + str(epoch) + "_rew_" + str(mean_rewards[0]) + ".pth"


def rl_games_max_epochs(name: str, epoch: int, mean_rewards: object) -> str:
    rew = str(mean_rewards).replace("[", "_").replace("]", "_")
    return "last_" + name + "_ep_" + str(epoch) + "_rew_" + rew + ".pth"


def rl_games_max_frames(name: str, frame: int, mean_rewards: object) -> str:
    rew = str(mean_rewards).replace("[", "_").replace("]", "_")
    return "last_" + name + "_frame_" + str(frame) + "_rew_" + rew + ".pth"


def rl_games_win(name: str, epoch: int, reward: float) -> str:
    mean_rewards = np.array([reward], dtype=np.float32)
    return name + "_ep_" + str(epoch) + "_rew_" + str(mean_rewards[0]) + ".pth"


@pytest.mark.parametrize(
    ("filename", "kind", "epoch", "frame", "reward"),
    [
        (rl_games_periodic("AllegroHandADR", 1200, 123.45), "periodic", 1200, None, 123.45),
        (rl_games_periodic("X_ep_3", 50, -7.5), "periodic", 50, None, -7.5),
        (rl_games_max_epochs("X", 50, -np.inf), "periodic", 50, None, -math.inf),
        (rl_games_max_epochs("X", 50, np.array([3.25], np.float32)), "periodic", 50, None, 3.25),
        (
            rl_games_max_frames("X", 1_000_000, np.array([3.2], np.float32)),
            "periodic",
            None,
            1_000_000,
            3.2,
        ),
        (rl_games_win("X", 77, 1e5), "win", 77, None, 1e5),
        ("AllegroHandADR.pth", "best", None, None, None),
        ("AllegroHandADR.h5", "best", None, None, None),
    ],
)
def test_rl_games_names_are_parsed_into_epoch_frame_and_reward(
    filename: str, kind: str, epoch: int | None, frame: int | None, reward: float | None
) -> None:
    """Every form rl_games writes yields its kind, counters and reward (to float32 precision)."""
    parsed = CheckpointName.parse(filename)
    assert parsed is not None
    assert parsed.kind is CheckpointKind(kind)
    assert (parsed.epoch, parsed.frame) == (epoch, frame)
    if reward is None:
        assert parsed.reward is None
    else:
        assert parsed.reward == pytest.approx(reward, rel=1e-6)


@pytest.mark.parametrize(
    "filename",
    [".last_X_ep_1_rew_1.0.pth.123.ab.adr-tmp", ".hidden.pth", "notes.txt", "X.pth.bak", ".pth"],
)
def test_temp_hidden_and_foreign_files_are_not_checkpoint_names(filename: str) -> None:
    """Temp files of interrupted saves and unrelated files parse to None."""
    assert CheckpointName.parse(filename) is None


@pytest.mark.parametrize(
    "name",
    [
        CheckpointName.best("Exp"),
        CheckpointName.periodic("Exp", 10, 2.5, suffix=".h5"),
        CheckpointName.periodic("Exp", 10, -math.inf, final=True),
        CheckpointName.at_frame("Exp", 4096, 1.25),
    ],
)
def test_names_we_format_parse_back_to_the_same_name(name: CheckpointName) -> None:
    """filename and parse are inverse for the names RunLayout builds."""
    assert CheckpointName.parse(name.filename) == name


def touch(path: Path, mtime: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def layout(tmp_path: Path) -> RunLayout:
    return RunLayout("AllegroHandADR", tmp_path / "runs")


def test_the_layout_follows_rl_games_directories(layout: RunLayout, tmp_path: Path) -> None:
    """runs/<experiment>/nn and runs/<experiment>/summaries, created on demand."""
    layout.create()
    assert layout.nn_dir == tmp_path / "runs" / "AllegroHandADR" / "nn"
    assert layout.summaries_dir == tmp_path / "runs" / "AllegroHandADR" / "summaries"
    assert layout.nn_dir.is_dir() and layout.summaries_dir.is_dir()
    assert layout.best_path() == layout.nn_dir / "AllegroHandADR.pth"


def test_latest_is_the_highest_epoch_whatever_the_store_or_mtime(layout: RunLayout) -> None:
    """Epoch wins over modification time; .pth and .h5 are both candidates."""
    nn = layout.nn_dir
    touch(nn / rl_games_periodic("AllegroHandADR", 900, 5.0), 3000)
    newest_epoch = touch(layout.periodic_path(1000, 2.0, suffix=".h5"), 1000)
    touch(nn / rl_games_periodic("AllegroHandADR", 100, 9.0), 5000)
    touch(nn / "AllegroHandADR.pth", 9000)
    assert layout.latest() == newest_epoch


def test_latest_breaks_epoch_ties_by_frame_then_mtime(layout: RunLayout) -> None:
    """Two files of the same epoch: the newer one is latest."""
    touch(layout.periodic_path(5, 1.0), 100)
    newer = touch(layout.periodic_path(5, 1.0, suffix=".h5"), 200)
    assert layout.latest() == newer


def test_a_run_that_stopped_at_max_frames_resumes_from_its_frame_named_file(
    layout: RunLayout,
) -> None:
    """The frame-named last file of a max_frames run is latest when it is the newest file."""
    nn = layout.nn_dir
    touch(nn / rl_games_periodic("AllegroHandADR", 900, 5.0), 1000)
    final = touch(nn / "last_AllegroHandADR_frame_58982400_rew__6.5_.pth", 2000)
    assert layout.latest() == final
    newer_epoch = touch(nn / rl_games_periodic("AllegroHandADR", 950, 5.0), 3000)
    assert layout.latest() == newer_epoch


def test_latest_falls_back_to_the_newest_file_without_counters(layout: RunLayout) -> None:
    """With only best checkpoints, latest is the newest of them."""
    touch(layout.nn_dir / "Other.pth", 100)
    newest = touch(layout.best_path(), 200)
    assert layout.latest() == newest


def test_best_is_the_best_file_rl_games_wrote_else_the_highest_reward(layout: RunLayout) -> None:
    """<name>.pth wins; without it, the highest reward in the names (NaN ignored)."""
    touch(layout.periodic_path(10, 50.0), 100)
    highest = touch(layout.periodic_path(20, 75.0), 100)
    touch(layout.nn_dir / rl_games_max_epochs("AllegroHandADR", 30, np.array([np.nan])), 100)
    assert layout.best() == highest
    best = touch(layout.best_path(), 50)
    assert layout.best() == best


def test_an_experiment_without_checkpoints_cannot_resume(layout: RunLayout) -> None:
    """resolve('latest') names the nn directory and the experiment."""
    assert layout.latest() is None and layout.best() is None
    with pytest.raises(CheckpointNotFoundError) as info:
        layout.resolve("latest")
    assert str(layout.nn_dir) in str(info.value) and "AllegroHandADR" in str(info.value)


def test_resume_by_experiment_name_loads_the_latest_checkpoint(tmp_path: Path) -> None:
    """Knowing only the experiment name and train_dir is enough to load the latest state."""
    writer = RunLayout("exp", tmp_path).create()
    for epoch in (50, 100, 150):
        save_checkpoint(
            writer.periodic_path(epoch, epoch / 10), Checkpoint.create({"epoch": epoch})
        )
    save_checkpoint(writer.best_path(suffix=".h5"), Checkpoint.create({"epoch": 120}))
    reader = RunLayout("exp", tmp_path)
    assert load_checkpoint(reader.resolve("latest")).epoch == 150
    assert load_checkpoint(reader.resolve("best")).epoch == 120


def test_retention_keeps_the_last_k_periodic_checkpoints_and_every_best(
    layout: RunLayout,
) -> None:
    """prune(2) deletes older periodic files only; best and score-to-win files stay."""
    periodic = [touch(layout.periodic_path(e, 1.0), 100 + e) for e in (10, 20, 30, 40)]
    best = touch(layout.best_path(), 1)
    win = touch(layout.nn_dir / rl_games_win("AllegroHandADR", 5, 9.0), 1)
    removed = layout.prune(2)
    assert sorted(removed) == sorted(periodic[:2])
    remaining = {f.path for f in layout.checkpoints()}
    assert remaining == {*periodic[2:], best, win}


def test_retention_rejects_a_negative_count(layout: RunLayout) -> None:
    """keep_last must be an int >= 0."""
    with pytest.raises(ValueError, match="keep_last"):
        layout.prune(-1)


@pytest.mark.parametrize("experiment", ["", "a/b", "..", "."])
def test_an_experiment_name_must_be_a_single_directory_name(experiment: str) -> None:
    """Empty names, separators and dot names are refused."""
    with pytest.raises(ValueError, match="name"):
        RunLayout(experiment)
