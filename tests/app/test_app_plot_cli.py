"""adr-plot's command line, for real: what it is given and where it
writes, each failure one line, the path it reports the path it wrote."""

from __future__ import annotations

import subprocess
from pathlib import Path

from app_helpers import run_module
from mounts import fill, small_tmpfs


def run_with_scalars(tmp_path: Path) -> Path:
    """A run directory whose summaries/ hold two ADR ranges and NPD over 3 steps."""
    from torch.utils.tensorboard import SummaryWriter

    run = tmp_path / "runs" / "p"
    writer = SummaryWriter(str(run / "summaries"))
    for step in range(3):
        for name in ("mass", "damping"):
            writer.add_scalar(f"adr/params/{name}/lower", 1.0 - 0.1 * step, step)
            writer.add_scalar(f"adr/params/{name}/upper", 1.0 + 0.1 * step, step)
        writer.add_scalar("adr/npd", -3.0 + step, step)
    writer.close()
    return run


def adr_plot(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_module(cwd, "adr_app.cli.plot", *args)


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("adr-plot: error: "), done.stderr
    return lines[0]


def test_a_file_given_as_the_run_is_named_as_a_file(tmp_path: Path) -> None:
    model = tmp_path / "model_2.pt"
    model.write_bytes(b"x")
    line = one_error_line(adr_plot(tmp_path, "model_2.pt"))
    assert "model_2.pt is a file" in line and "does not exist" not in line
    assert "does not exist" in one_error_line(adr_plot(tmp_path, "nowhere"))


def test_output_paths_directory_no_suffix_file_parent_missing_parent(tmp_path: Path) -> None:
    run_with_scalars(tmp_path)
    (tmp_path / "out").mkdir()
    into_dir = adr_plot(tmp_path, "runs/p", "-o", "out")
    assert into_dir.returncode == 0, into_dir.stderr
    assert into_dir.stdout.startswith("wrote out/adr_ranges.png ")
    assert (tmp_path / "out" / "adr_ranges.png").read_bytes()[:4] == b"\x89PNG"

    bare = adr_plot(tmp_path, "runs/p", "-o", "ranges")
    assert bare.returncode == 0 and bare.stdout.startswith("wrote ranges.png "), bare.stderr
    assert (tmp_path / "ranges.png").is_file() and not (tmp_path / "ranges").exists()

    (tmp_path / "model_2.pt").write_bytes(b"x")
    line = one_error_line(adr_plot(tmp_path, "runs/p", "-o", "model_2.pt/x.png"))
    assert "model_2.pt is a file, not a directory" in line

    line = one_error_line(adr_plot(tmp_path, "runs/p", "-o", "new/dir/x.png"))
    assert "no directory new/dir" in line and not (tmp_path / "new").exists()
    assert "its directory must exist" in adr_plot(tmp_path, "--help").stdout


def test_a_full_disk_is_one_line_and_leaves_no_partial_file(tmp_path: Path) -> None:
    run_with_scalars(tmp_path)
    with small_tmpfs(tmp_path / "disk", "1m") as disk:
        fill(disk, leave_bytes=4_000)
        line = one_error_line(adr_plot(tmp_path, "runs/p", "-o", "disk/x.png"))
        assert "cannot write disk/x.png: No space left on device" in line
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]
