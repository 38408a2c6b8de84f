"""The command line a stopped run prints to resume: program and arguments as typed."""

from __future__ import annotations

import sys

from adr_infra.preemption import launch_args, relaunch_program

PY = sys.executable


def test_a_script_that_rewrote_sys_argv_still_gets_its_arguments_as_typed() -> None:
    """A console script whose CLI moved and dropped arguments of ``sys.argv``."""
    orig = ["/venv/bin/python3", "/venv/bin/tool", "train", "--run_name", "a", "k=v"]
    argv = ["/venv/bin/tool", "k=v", "k=v"]
    assert relaunch_program(orig, argv) == [PY, "/venv/bin/tool"]
    assert launch_args(orig, argv) == ["train", "--run_name", "a", "k=v"]


def test_interpreter_options_stay_with_the_program() -> None:
    orig = ["python3", "-u", "-X", "dev", "train.py", "--x", "1"]
    argv = ["train.py", "--x", "1"]
    assert relaunch_program(orig, argv) == [PY, "-u", "-X", "dev", "train.py"]
    assert launch_args(orig, argv) == ["--x", "1"]


def test_a_module_run_splits_where_its_arguments_start() -> None:
    """``python -m pkg.mod``: ``argv[0]`` is the module's file, not on the command line."""
    orig = ["python3", "-m", "pkg.mod", "--x", "1"]
    argv = ["/src/pkg/mod.py", "--x", "1"]
    assert relaunch_program(orig, argv) == [PY, "-m", "pkg.mod"]
    assert launch_args(orig, argv) == ["--x", "1"]


def test_a_torchrun_rank_is_relaunched_through_torchrun() -> None:
    orig = ["python3", "-u", "train.py", "--x", "1"]
    environ = {"TORCHELASTIC_RUN_ID": "r", "LOCAL_WORLD_SIZE": "2"}
    program = relaunch_program(orig, ["train.py", "--x", "1"], 2, environ)
    assert program == ["torchrun", "--standalone", "--nproc_per_node=2", "train.py"]
