"""``adr-ckpt`` run as a real command: inspect, convert, list, and its exit statuses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from adr_app.cli.ckpt import main
from adr_domain import ADREngine
from adr_infra import Checkpoint, RunLayout, load_checkpoint, save_checkpoint
from adr_isaac.compat import ADRCompat
from builders import DEXTREME_ADR, dextreme_adr_cfg
from infra_helpers import assert_checkpoints_identical, drive, small_policy

NUM_ENVS = 48


def adr_ckpt(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adr_app.cli.ckpt", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


@pytest.fixture(scope="module")
def adapter() -> ADRCompat:
    cfg = dextreme_adr_cfg()
    cfg["adr_queue_threshold_length"] = 4
    adapter = ADRCompat(cfg, NUM_ENVS, seed=4)
    drive(adapter.engine, 20)
    return adapter


@pytest.fixture(scope="module")
def engine(adapter: ADRCompat) -> ADREngine:
    return adapter.engine


@pytest.fixture(scope="module")
def checkpoint_file(tmp_path_factory: pytest.TempPathFactory, adapter: ADRCompat) -> Path:
    """A checkpoint as the Isaac adapter's get_env_state() fills it (engine state + adr_params)."""
    path = tmp_path_factory.mktemp("cli") / "last_Dextreme_ep_12_rew_17.25.pth"
    env_state = {**adapter.get_env_state(), "act_moving_average": 0.15}
    save_checkpoint(path, Checkpoint.create(small_policy(), env_state, experiment="Dextreme"))
    return path


def test_inspect_prints_metadata_and_a_row_per_parameter(
    checkpoint_file: Path, engine: ADREngine
) -> None:
    """Exit 0; schema, experiment, epoch, the worker split and one aligned row per parameter
    with its current range, queue fill and boundary workers."""
    result = adr_ckpt("inspect", str(checkpoint_file))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "schema 1" in out and "Dextreme" in out and "epoch        12" in out
    split = [int((engine.worker_types == t).sum()) for t in (0, 1)]
    assert f"rollout {split[0]} " in out and f"boundary {split[1]} " in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("parameter"))
    rows = lines[header + 2 : header + 2 + engine.num_params]
    assert [row.split()[0] for row in rows] == list(engine.param_names)
    column = lines[header].index("current range")
    assert len({row[column - 2 : column] for row in rows}) == 1, "columns are aligned"
    lengths = engine.queue_lengths.tolist()
    for row, name, (lo, hi) in zip(rows, engine.param_names, lengths, strict=True):
        assert f"{lo}/4 {hi}/4" in row, name
        init = engine.cfg.params[name].init_range
        assert f"[{init[0]:.6g}, {init[1]:.6g}]" in row, name


def test_inspect_takes_init_ranges_and_limits_from_an_adr_config(
    tmp_path: Path, engine: ADREngine, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without adr_params in the file, --adr-config supplies init ranges and limits."""
    path = tmp_path / "engine_only.h5"
    save_checkpoint(path, Checkpoint.create(None, {"adr": engine.state_dict()}))
    assert main(["inspect", str(path)]) == 0
    assert "pass --adr-config" in capsys.readouterr().out
    assert main(["inspect", str(path), "--adr-config", str(DEXTREME_ADR)]) == 0
    out = capsys.readouterr().out
    spec = engine.cfg.params["hand_damping"]
    row = next(line for line in out.splitlines() if line.startswith("hand_damping"))
    assert f"[{spec.init_range[0]:.6g}, {spec.init_range[1]:.6g}]" in row
    assert f"[{spec.limits[0]:.6g}, {spec.limits[1]:.6g}]" in row


def test_convert_to_hdf5_and_back_gives_an_identical_checkpoint(
    checkpoint_file: Path, tmp_path: Path
) -> None:
    """A.pth -> B.h5 -> C.pth: all three load identical."""
    h5, back = tmp_path / "B.h5", tmp_path / "C.pth"
    first = adr_ckpt("convert", str(checkpoint_file), str(h5))
    second = adr_ckpt("convert", str(h5), str(back))
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    original = load_checkpoint(checkpoint_file)
    assert_checkpoints_identical(original, load_checkpoint(h5))
    assert_checkpoints_identical(original, load_checkpoint(back))


def test_convert_refuses_to_overwrite_without_force(
    checkpoint_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing destination is an error (exit 1) unless --force is given."""
    dst = tmp_path / "exists.h5"
    dst.write_bytes(b"keep me")
    refused = adr_ckpt("convert", str(checkpoint_file), str(dst))
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert dst.read_bytes() == b"keep me"
    assert main(["convert", str(checkpoint_file), str(dst), "--force"]) == 0
    assert_checkpoints_identical(load_checkpoint(checkpoint_file), load_checkpoint(dst))


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "no such file"), (b"\x89PNG\r\n\x1a\n" + bytes(64), "not a readable torch file")],
    ids=["missing", "corrupt"],
)
def test_errors_exit_1_with_one_line_and_no_traceback(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    """A missing or corrupted file: exit status 1, one stderr line naming file and problem."""
    path = tmp_path / "bad.pth"
    if content is not None:
        path.write_bytes(content)
    result = adr_ckpt("inspect", str(path))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert str(path) in result.stderr and expected in result.stderr


def test_usage_errors_exit_2() -> None:
    """No command, or an unknown one: argparse's exit status 2."""
    assert adr_ckpt().returncode == 2
    assert adr_ckpt("frobnicate").returncode == 2


def test_latest_of_an_experiment_is_inspected_and_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """inspect latest -e NAME and list NAME find checkpoints by experiment name alone."""
    runs = str(tmp_path / "runs")
    layout = RunLayout("exp", runs).create()
    for epoch in (10, 20):
        save_checkpoint(layout.periodic_path(epoch, 1.0), Checkpoint.create({"epoch": epoch}))
    assert main(["inspect", "latest", "-e", "exp", "--train-dir", runs]) == 0
    out = capsys.readouterr().out
    assert "ep_20" in out and "epoch        20" in out
    assert main(["list", "exp", "--train-dir", runs]) == 0
    listed = capsys.readouterr().out
    assert "latest" in next(line for line in listed.splitlines() if "ep_20" in line)
    assert main(["list", "nothing", "--train-dir", runs]) == 1
    assert "no checkpoints" in capsys.readouterr().err


def test_inspect_says_how_many_ranks_and_shows_the_config_the_checkpoint_carries(
    tmp_path: Path, engine: ADREngine, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 2-rank checkpoint with its ADR config: '2 processes' and every init range, limit and
    delta, without --adr-config."""
    path = tmp_path / "two_ranks.pth"
    env_state = {"adr": engine.state_dict(), "world_size": 2, "other_ranks": [{}]}
    config = engine.cfg.model_dump(mode="json")
    save_checkpoint(path, Checkpoint.create(None, env_state, adr_config=config))
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ranks        2 processes" in out
    assert "pass --adr-config" not in out and "from the ADR config in the checkpoint" in out
    for name, spec in engine.cfg.params.items():
        row = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert f"[{spec.init_range[0]:.6g}, {spec.init_range[1]:.6g}]" in row, name
        delta = f"x{spec.delta:.6g}" if spec.delta_style.value == "multiplicative" else None
        assert (delta or f"{spec.delta:.6g}") in row.split(), name
        assert "?" not in row, row


def test_list_names_the_robust_best_and_the_reward_best(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """list marks which file checkpoint=best, reward_best and latest load, with their epochs."""
    runs = str(tmp_path / "runs")
    layout = RunLayout("exp", runs).create()
    save_checkpoint(layout.periodic_path(30, 1.0), Checkpoint.create({"epoch": 30}))
    save_checkpoint(layout.reward_best_path(), Checkpoint.create({"epoch": 7}))
    save_checkpoint(layout.robust_path(), Checkpoint.create({"epoch": 25}))
    assert main(["list", "exp", "--train-dir", runs]) == 0
    lines = capsys.readouterr().out.splitlines()
    robust = next(line for line in lines if line.startswith("exp_robust.pth")).split()
    reward = next(line for line in lines if line.startswith("exp.pth")).split()
    periodic = next(line for line in lines if line.startswith("last_exp_ep_30")).split()
    assert robust[1:3] == ["robust-best", "25"] and robust[-1] == "best"
    assert reward[1:3] == ["reward-best", "7"] and reward[-1] == "reward_best"
    assert periodic[-1] == "latest"
