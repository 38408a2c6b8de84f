"""adr-train end to end, in real subprocesses: train, resume, play, plot, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from adr_app.cli.plot import read_adr_scalars
from adr_infra import load_checkpoint
from app_helpers import TINY, adr_train, checkpoints, epoch_of, trees_equal

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-epoch run of experiment 'base' (shared by several tests)."""
    cwd = tmp_path_factory.mktemp("trained")
    result = adr_train(cwd, *TINY, "experiment=base", "max_iterations=3")
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd / "runs" / "base"


def test_training_writes_rl_games_named_checkpoints_and_adr_summaries(trained: Path) -> None:
    """Checkpoints land in runs/<experiment>/nn/ with rl_games' names; ADR scalars in summaries/."""
    names = [p.name for p in checkpoints(trained)]
    assert any(n.startswith("last_base_ep_3_rew__") and n.endswith("_.pth") for n in names), names
    assert "base.pth" in names  # the best checkpoint
    params, npd = read_adr_scalars(trained / "summaries")
    assert len(params) == 14
    assert npd
    assert any(values["upper"][-1][1] > values["upper"][0][1] for values in params.values()), (
        "the forced thresholds should have widened some range"
    )
    checkpoint = load_checkpoint(
        max(checkpoints(trained), key=lambda p: (p.name != "base.pth", p.stat().st_mtime))
    )
    assert checkpoint.engine_state is not None
    assert checkpoint.epoch is not None


def test_the_progress_line_reports_epoch_fps_successes_and_adr(tmp_path: Path) -> None:
    """Each epoch prints one line with fps, reward, successes, NPD and moved bounds."""
    result = adr_train(tmp_path, *TINY, "experiment=p", "max_iterations=2")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 2
    assert all("fps" in line and "successes" in line and "ADR npd" in line for line in lines)


@pytest.mark.parametrize("fmt", ["pth", "h5"])
def test_resume_by_experiment_name_continues_where_it_stopped(tmp_path: Path, fmt: str) -> None:
    """checkpoint=latest finds the newest checkpoint of the experiment and continues its epochs."""
    first = adr_train(
        tmp_path, *TINY, "experiment=r", "max_iterations=2", f"checkpoint_format={fmt}"
    )
    assert first.returncode == 0, first.stderr[-3000:]
    run = tmp_path / "runs" / "r"
    assert all(p.suffix == f".{fmt}" for p in checkpoints(run))
    second = adr_train(
        tmp_path,
        *TINY,
        "experiment=r",
        "max_iterations=4",
        f"checkpoint_format={fmt}",
        "checkpoint=latest",
    )
    assert second.returncode == 0, second.stderr[-3000:]
    assert "restored" in second.stderr
    epochs = [line.split()[1] for line in second.stdout.splitlines() if line.startswith("epoch ")]
    assert epochs == ["3/4", "4/4"]
    assert max(epoch_of(p) for p in checkpoints(run) if "_ep_" in p.name) == 4


def test_resuming_gives_exactly_the_uninterrupted_run(tmp_path: Path) -> None:
    """2 epochs + resume for 2 more == 4 epochs straight: policy, optimizer, ADR and task state."""
    common = [*TINY, "torch_deterministic=True", "seed=7"]
    straight = adr_train(tmp_path, *common, "experiment=straight", "max_iterations=4")
    assert straight.returncode == 0, straight.stderr[-3000:]
    first = adr_train(tmp_path, *common, "experiment=split", "max_iterations=2")
    assert first.returncode == 0, first.stderr[-3000:]
    stop = max(checkpoints(tmp_path / "runs" / "split"), key=epoch_of_or_zero)
    second = adr_train(
        tmp_path, *common, "experiment=split", "max_iterations=4", "checkpoint=latest"
    )
    assert second.returncode == 0, second.stderr[-3000:]

    def final(run: str) -> dict:  # type: ignore[type-arg]
        path = max(checkpoints(tmp_path / "runs" / run), key=epoch_of_or_zero)
        assert epoch_of(path) == 4
        return load_checkpoint(path).to_rl_games()

    a, b = final("straight"), final("split")
    stopped = load_checkpoint(stop).env_state
    assert stopped is not None
    assert not torch.equal(stopped["adr"]["bounds"], a["env_state"]["adr"]["bounds"]), (
        "ADR should keep moving after the resume point, or the test proves little"
    )
    for key in ("model", "optimizer", "env_state", "epoch", "frame", "adr_agent"):
        assert trees_equal(a[key], b[key], key) == [], key
    # The ADR trajectory, epoch by epoch, is the same too.
    pa, _ = read_adr_scalars(tmp_path / "runs" / "straight" / "summaries")
    pb, _ = read_adr_scalars(tmp_path / "runs" / "split" / "summaries")
    assert pa == pb


def epoch_of_or_zero(path: Path) -> int:
    return epoch_of(path) if "_ep_" in path.name else 0


def test_play_prints_consecutive_success_statistics(trained: Path) -> None:
    """test=True plays the best checkpoint at its ADR ranges and sums up consecutive successes."""
    result = adr_train(
        trained.parents[1],
        *TINY,
        "experiment=base",
        "checkpoint=best",
        "test=True",
        "test_games=40",
        "num_envs=16",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = [
        line for line in result.stdout.splitlines() if line.startswith("consecutive successes:")
    ]
    assert summary
    assert "episodes: consecutive successes mean" in summary[0]


def test_adr_plot_draws_every_range_into_a_png(trained: Path, tmp_path: Path) -> None:
    """adr-plot runs/<experiment> writes a PNG of the 14 ranges and NPD."""
    out = tmp_path / "ranges.png"
    result = subprocess.run(
        [sys.executable, "-m", "adr_app.cli.plot", str(trained), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "14 parameters" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "code", "message"),
    [
        (["num_envs=-4"], 2, "num_envs=-4: Input should be greater than 0"),
        (["checkpoint_format=zip"], 2, "checkpoint_format='zip'"),
        (
            ["experiment=nobody", "checkpoint=latest"],
            2,
            "no usable checkpoint of experiment 'nobody'",
        ),
        (["checkpoint=missing.pth"], 2, "missing.pth"),
        (["test=True"], 2, "test=True needs a checkpoint"),
        (["task.task.adr.adr_queue_threshold_length=0"], 2, "adr_queue_threshold_length"),
        (["train.params.config.max_epochs=3", "max_iterations=abc"], 2, "max_iterations='abc'"),
    ],
)
def test_bad_command_lines_fail_fast_with_a_clear_message(
    tmp_path: Path, overrides: list[str], code: int, message: str
) -> None:
    """Config errors are reported before any work, with an exit code and no traceback."""
    result = adr_train(tmp_path, *overrides, timeout=120)
    assert result.returncode == code, (result.stdout[-2000:], result.stderr[-2000:])
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.pth"))


def test_a_corrupt_checkpoint_is_an_error_naming_the_file(trained: Path, tmp_path: Path) -> None:
    """Resuming from a truncated file exits 1 saying the file is corrupted."""
    source = next(p for p in checkpoints(trained) if p.suffix == ".pth")
    broken = tmp_path / "broken.pth"
    data = source.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    result = adr_train(tmp_path, *TINY, f"checkpoint={broken}", "max_iterations=1")
    assert result.returncode == 1, result.stderr[-2000:]
    assert "broken.pth" in result.stderr
    assert "Traceback" not in result.stderr
