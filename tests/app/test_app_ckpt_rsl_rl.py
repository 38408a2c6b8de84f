"""adr-ckpt on an mjlab (rsl_rl) run directory, logs/rsl_rl/<exp>/<time>/model_<it>.pt:
list and inspect pick the newest file by iteration, not by name or time."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from app_helpers import rsl_rl_file, run_module


def adr_ckpt(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_module(cwd, "adr_app.cli.ckpt", *args)


def mjlab_run(tmp_path: Path) -> Path:
    """model_2, model_10 and model_9 (the newest file, by time, is not the latest)."""
    run = tmp_path / "logs" / "rsl_rl" / "cartpole_adr" / "2025-01-01_00-00-00"
    for it in (2, 10, 9):
        rsl_rl_file(run / f"model_{it}.pt", with_adr_kit=True, iteration=it)
    os.utime(run / "model_10.pt", (1, 1))
    return run


def test_list_and_inspect_an_rsl_rl_run_directory(tmp_path: Path) -> None:
    run = mjlab_run(tmp_path).relative_to(tmp_path)
    listed = adr_ckpt(tmp_path, "list", str(run))
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()[3:]]
    assert rows == [
        ["model_2.pt", "rsl_rl", "2"],
        ["model_9.pt", "rsl_rl", "9"],
        ["model_10.pt", "rsl_rl", "10", "latest"],
    ]
    for args in ([str(run)], ["latest", "--run-dir", str(run)]):
        shown = adr_ckpt(tmp_path, "inspect", *args)
        assert shown.returncode == 0, shown.stderr
        assert f"checkpoint   {run}/model_10.pt" in shown.stdout
        assert "epoch        10" in shown.stdout
    refused = adr_ckpt(tmp_path, "inspect", "best", "--run-dir", str(run))
    assert refused.returncode == 1 and "use latest" in refused.stderr
    empty = adr_ckpt(tmp_path, "inspect", "logs")
    assert empty.returncode == 1 and "not a run directory" in empty.stderr
