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
    """A small valid checkpoint (no experiment recorded) at ``path``, modified at ``mtime``."""
    save_checkpoint(path, Checkpoint.create({"epoch": 0}))
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
    assert layout.reward_best_path() == layout.nn_dir / "AllegroHandADR.pth"
    assert layout.robust_path(suffix=".h5") == layout.nn_dir / "AllegroHandADR_robust.h5"


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
    touch(layout.reward_best_path(), 100)
    newest = touch(layout.robust_path(), 200)
    assert layout.latest() == newest


def test_best_is_the_best_file_rl_games_wrote_else_the_highest_reward(layout: RunLayout) -> None:
    """<name>.pth wins; without it, the highest reward in the names (NaN ignored)."""
    touch(layout.periodic_path(10, 50.0), 100)
    highest = touch(layout.periodic_path(20, 75.0), 100)
    touch(layout.nn_dir / rl_games_max_epochs("AllegroHandADR", 30, np.array([np.nan])), 100)
    assert layout.best() == highest
    best = touch(layout.reward_best_path(), 50)
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
    save_checkpoint(writer.reward_best_path(suffix=".h5"), Checkpoint.create({"epoch": 120}))
    reader = RunLayout("exp", tmp_path)
    assert load_checkpoint(reader.resolve("latest")).epoch == 150
    assert load_checkpoint(reader.resolve("best")).epoch == 120


def test_retention_keeps_the_last_k_owned_periodic_checkpoints_and_every_best(
    layout: RunLayout,
) -> None:
    """prune(owned, 2) deletes older owned periodic files only; best and score-to-win files stay."""
    periodic = [touch(layout.periodic_path(e, 1.0), 100 + e) for e in (10, 20, 30, 40)]
    best = touch(layout.reward_best_path(), 1)
    robust = touch(layout.robust_path(), 1)
    win = touch(layout.nn_dir / rl_games_win("AllegroHandADR", 5, 9.0), 1)
    owned = [p.name for p in (*periodic, best, robust, win)]
    removed = layout.prune(owned, 2)
    assert sorted(removed) == sorted(periodic[:2])
    remaining = {f.path for f in layout.checkpoints()}
    assert remaining == {*periodic[2:], best, robust, win}


def test_retention_never_touches_files_the_run_does_not_own(layout: RunLayout) -> None:
    """Another run's files of higher epochs and imported names survive; the run keeps its newest."""
    other_run = [touch(layout.periodic_path(e, 5.0), 100 + e) for e in (100, 200, 300)]
    imported = touch(layout.nn_dir / rl_games_periodic("Imported", 999, 1.0), 50)
    mine = touch(layout.periodic_path(1, 13.16, final=True), 1000)
    assert layout.prune([mine.name], 1) == []
    assert {f.path for f in layout.checkpoints()} == {*other_run, imported, mine}


@pytest.mark.parametrize("keep", [-1, 0, True])
def test_retention_always_keeps_at_least_the_newest_file(layout: RunLayout, keep: int) -> None:
    """keep_last must be an int >= 1: the newest checkpoint is never pruned."""
    with pytest.raises(ValueError, match="keep_last"):
        layout.prune([], keep)


@pytest.mark.parametrize("experiment", ["", "a/b", "..", "."])
def test_an_experiment_name_must_be_a_single_directory_name(experiment: str) -> None:
    """Empty names, separators and dot names are refused."""
    with pytest.raises(ValueError, match="name"):
        RunLayout(experiment)


def test_latest_skips_empty_damaged_and_foreign_files_with_a_warning_naming_them(
    layout: RunLayout, caplog: pytest.LogCaptureFixture
) -> None:
    """A zero-byte epoch-999 file, a truncated one and another experiment's are passed over."""
    good = touch(layout.periodic_path(5, 1.0), 100)
    empty = layout.nn_dir / rl_games_periodic("AllegroHandADR", 999, 1.0)
    empty.write_bytes(b"")
    damaged = layout.periodic_path(998, 1.0)
    damaged.write_bytes(good.read_bytes()[:200])
    foreign = layout.nn_dir / rl_games_periodic("Other", 997, 1.0)
    save_checkpoint(foreign, Checkpoint.create({"epoch": 997}, experiment="Other"))
    renamed = layout.periodic_path(996, 1.0)
    save_checkpoint(renamed, Checkpoint.create({"epoch": 996}, experiment="Other"))
    with caplog.at_level("WARNING", logger="adr_infra.layout"):
        assert layout.latest() == good
    warned = caplog.text
    for path in (empty, damaged, foreign, renamed):
        assert str(path) in warned
    assert "empty file" in warned and "experiment 'Other'" in warned
    assert layout.resolve("latest") == good


def test_with_no_usable_checkpoint_latest_is_none(layout: RunLayout) -> None:
    """Only unusable files: latest is None and resolve('latest') says so."""
    layout.create()
    (layout.nn_dir / rl_games_periodic("AllegroHandADR", 3, 1.0)).write_bytes(b"")
    assert layout.latest() is None
    with pytest.raises(CheckpointNotFoundError, match="no usable checkpoint"):
        layout.resolve("latest")


def test_best_is_the_robust_file_and_reward_best_stays_available(layout: RunLayout) -> None:
    """best prefers <experiment>_robust; reward_best is rl_games' <experiment>.pth."""
    touch(layout.periodic_path(10, 99.0), 100)
    reward = touch(layout.reward_best_path(), 100)
    assert layout.best() == reward
    robust = touch(layout.robust_path(suffix=".h5"), 50)
    assert layout.best() == robust
    assert layout.reward_best() == reward
    assert layout.resolve("reward_best") == reward
    robust.write_bytes(b"")  # a damaged robust file: best falls back to reward-best
    assert layout.best() == reward


def test_starting_over_moves_the_previous_run_aside(layout: RunLayout) -> None:
    """archive() moves nn/ and summaries/ to previous/<time>/; discovery then finds nothing."""
    kept = touch(layout.periodic_path(7, 1.0), 100)
    layout.summaries_dir.mkdir(parents=True)
    (layout.summaries_dir / "events").write_bytes(b"e")
    moved = layout.archive()
    assert moved is not None and moved.parent == layout.experiment_dir / "previous"
    assert (moved / "nn" / kept.name).is_file() and (moved / "summaries" / "events").is_file()
    assert layout.checkpoints() == [] and layout.latest() is None
    assert RunLayout("Empty", layout.train_dir).archive() is None
