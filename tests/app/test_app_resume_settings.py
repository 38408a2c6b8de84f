"""A resume is the same run: the README's sequences as written, real processes.

A run records its settings (runs/<exp>/run.yaml and every checkpoint); a resume takes them
back with the command line's changes in one line; a finished run stays finished; a shape
change is refused with the command that works; an rsl_rl file is refused before building;
a signal at start exits 75 with a command that works."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from adr_infra import load_checkpoint
from app_helpers import (
    ADR_TRAIN,
    TINY,
    Running,
    adr_train,
    checkpoints,
    epochs_printed,
    rsl_rl_file,
    run_app,
)

pytestmark = pytest.mark.slow

SIZE = "num_envs=64"


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def snapshot(run_dir: Path) -> dict[str, int]:
    """Every file of a run directory but its lock, with its modification time."""
    return {
        str(p.relative_to(run_dir)): p.stat().st_mtime_ns
        for p in run_dir.rglob("*")
        if p.is_file() and p.name != ".adr-run.lock"
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's train command (small): runs/demo, 2 epochs of 64 envs."""
    cwd = tmp_path_factory.mktemp("trained")
    done = adr_train(cwd, SIZE, "max_iterations=2", "experiment=demo")
    assert done.returncode == 0, done.stderr[-3000:]
    return cwd / "runs"


def working_copy(trained: Path, tmp_path: Path) -> Path:
    shutil.copytree(trained, tmp_path / "runs")
    return tmp_path


def test_the_readme_sequence_train_resume_requeue_finished(trained: Path, tmp_path: Path) -> None:
    """train -> resume by name (the train command's num_envs comes from the run) -> requeue
    with auto (finished: one line, exit 0, nothing written); a num_envs change is refused
    before building, with a command that works."""
    cwd = working_copy(trained, tmp_path)
    run_dir = cwd / "runs" / "demo"
    assert "num_envs: 64" in (run_dir / "run.yaml").read_text()
    before = snapshot(run_dir)
    refused = adr_train(
        cwd, "experiment=demo", "checkpoint=latest", "max_iterations=4", "num_envs=128"
    )
    assert refused.returncode == 2, refused.stderr[-3000:]
    line = last_line(refused.stderr)
    assert "64 envs per process" in line and "Traceback" not in refused.stderr
    assert snapshot(run_dir) == before and len(list((run_dir / "summaries").iterdir())) == 1

    works = shlex.split(line.split("run `", 1)[1].split("`", 1)[0])
    assert "num_envs=128" not in works
    resumed = run_app(
        works, cwd
    )  # = the README's resume: experiment=demo checkpoint=latest max_iterations=4
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert epochs_printed(resumed.stdout) == [3, 4]
    assert "adr-train: resuming runs/demo/nn/last_demo_ep_2_rew_" in resumed.stderr
    assert "with its settings; changed: max_iterations 2 -> 4" in resumed.stderr
    assert "max_iterations: 4" in (run_dir / "run.yaml").read_text()

    finished = snapshot(run_dir)
    for _ in range(2):
        requeued = adr_train(cwd, "experiment=demo", "checkpoint=auto")
        assert requeued.returncode == 0, requeued.stderr[-3000:]
        assert last_line(requeued.stderr) == (
            "adr-train: runs/demo already finished epoch 4 of 4; raise max_iterations to train on"
        )
        assert epochs_printed(requeued.stdout) == [] and snapshot(run_dir) == finished


def test_re_running_a_finished_run_trains_nothing(tmp_path: Path) -> None:
    """The same command three times: epochs 1-2 once, then the finished line (exit 0) and
    nothing written; a resume below the epoch reached says so too."""
    command = [SIZE, "max_iterations=2", "experiment=m2", "checkpoint=auto"]
    first = adr_train(tmp_path, *command)
    assert first.returncode == 0 and epochs_printed(first.stdout) == [1, 2], first.stderr[-3000:]
    run_dir = tmp_path / "runs" / "m2"
    files = snapshot(run_dir)
    for _ in range(2):
        again = adr_train(tmp_path, *command)
        assert again.returncode == 0, again.stderr[-3000:]
        assert last_line(again.stderr).endswith(
            "runs/m2 already finished epoch 2 of 2; raise max_iterations to train on"
        )
        assert snapshot(run_dir) == files
    below = adr_train(tmp_path, "experiment=m2", "checkpoint=latest", "max_iterations=1")
    assert below.returncode == 0
    assert "runs/m2 is at epoch 2, past max_iterations=1" in last_line(below.stderr)
    assert snapshot(run_dir) == files


def test_a_checkpoint_path_outside_its_run_carries_the_settings(
    trained: Path, tmp_path: Path
) -> None:
    """A checkpoint copied out of its run (no run.yaml beside it) still resumes with the
    settings it carries: 64 envs, not the task's 4096."""
    cwd = working_copy(trained, tmp_path)
    latest = checkpoints(cwd / "runs" / "demo")[-1]
    copy = cwd / "copy.pth"
    shutil.copy(latest, copy)
    (cwd / "runs" / "demo" / "run.yaml").unlink()
    resumed = adr_train(cwd, "experiment=other", "checkpoint=copy.pth", "max_iterations=3")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert epochs_printed(resumed.stdout) == [3]
    assert "resuming copy.pth with its settings; changed: max_iterations 2 -> 3" in resumed.stderr
    assert "training Reorient: 64 envs" in resumed.stderr


@pytest.mark.parametrize("with_adr_kit", [True, False], ids=["sim2real-adr", "plain"])
def test_an_mjlab_checkpoint_is_refused_before_anything_is_built(
    tmp_path: Path, with_adr_kit: bool
) -> None:
    model = tmp_path / "logs" / "rsl_rl" / "cartpole_adr" / "2025-01-01_00-00-00" / "model_2.pt"
    rsl_rl_file(model, with_adr_kit=with_adr_kit)
    relative = model.relative_to(tmp_path)
    done = adr_train(tmp_path, SIZE, "experiment=mj", f"checkpoint={relative}")
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    line = last_line(done.stderr)
    assert str(relative) in line and "rsl_rl (mjlab) checkpoint" in line
    assert not (tmp_path / "runs").exists()
    assert load_checkpoint(model).to_rl_games()["iter"] == 2  # untouched


def test_sigterm_at_start_exits_75_with_a_command_that_works(tmp_path: Path) -> None:
    """SIGTERM while adr-train loads: exit 75 and one line naming checkpoint=auto; the
    command resumes (here: starts) the run."""
    run = Running([*ADR_TRAIN, SIZE, "max_iterations=1", "experiment=early"], tmp_path, "early")
    time.sleep(0.3)
    os.kill(run.pid, signal.SIGTERM)
    assert run.wait() == 75, run.stderr[-3000:]
    line = last_line(run.stderr)
    assert line.startswith("adr-train: stopped by SIGTERM") and "Traceback" not in run.stderr
    assert "nothing saved" in line and line.endswith("checkpoint=auto")
    again = run_app(shlex.split(line.split("resume with: ", 1)[1]), tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert epochs_printed(again.stdout) == [1]


def test_the_command_line_module_loads_without_torch_so_signals_are_caught_at_once() -> None:
    """adr-train's module imports no torch (1.5 s here): its handlers are up within ms of start."""
    probe = "import sys, adr_app.cli.train; print('torch' in sys.modules)"
    result = run_app([sys.executable, "-c", probe], Path("."))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_sigterm_before_the_first_epoch_names_a_command_that_works(tmp_path: Path) -> None:
    """SIGTERM once the run is built, before (or during) its first epoch: the printed command
    resumes it, whether or not an epoch was saved."""
    run = Running([*ADR_TRAIN, SIZE, "max_iterations=2", "experiment=built"], tmp_path, "built")
    run.wait_until(lambda r: "training Reorient" in r.stderr)
    os.kill(run.pid, signal.SIGTERM)
    assert run.wait() == 75, run.stderr[-3000:]
    line = last_line(run.stderr)
    command = shlex.split(line.split("resume with: ", 1)[1])
    assert command[-1] == ("checkpoint=latest" if " saved runs/" in line else "checkpoint=auto")
    again = run_app(command, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert epochs_printed(again.stdout)[-1] == 2


def test_a_new_robust_best_does_not_bury_the_progress_lines(tmp_path: Path) -> None:
    """ADR widens nearly every epoch: the robust file is saved, its lines stay at DEBUG."""
    done = adr_train(tmp_path, *TINY, "max_iterations=4", "experiment=r")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "runs" / "r" / "nn" / "r_robust.pth").is_file()
    assert "robust" not in done.stderr and epochs_printed(done.stdout) == [1, 2, 3, 4]
