"""Running adr-train in real subprocesses with tiny, fast configs."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from adr_infra import Checkpoint, load_checkpoint, tree_differences
from adr_infra.checkpoint import encode_payload

# Small enough to train an epoch in a fraction of a second on one core; ADR
# thresholds below any possible mean so every full queue widens its bound.
TINY = [
    "num_envs=64",
    "train.params.config.horizon_length=8",
    "train.params.config.minibatch_size=512",
    "train.params.config.mini_epochs=2",
    "train.params.config.save_frequency=1",
    "train.params.config.save_best_after=1",
    "task.task.adr.adr_queue_threshold_length=2",
    "task.task.adr.adr_objective_threshold_low=-2",
    "task.task.adr.adr_objective_threshold_high=-1",
    "task.env.maxStepsWithoutSuccess=6",
]


ADR_TRAIN = [sys.executable, "-m", "adr_app.cli.train"]
"""The adr-train command of this interpreter."""

QUIET_ENV = {"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
"""One thread per process, no warnings: what every app subprocess of the tests runs with."""


def run_app(
    command: list[str],
    cwd: Path,
    timeout: float = 300,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in ``cwd`` (its runs/ go there), capturing text output."""
    env = {**os.environ, **QUIET_ENV, **(extra_env or {})}
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def adr_train(
    cwd: Path,
    *overrides: str,
    timeout: float = 300,
    module: str = "adr_app.cli.train",
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m adr_app.cli.train`` in ``cwd``."""
    return run_app([sys.executable, "-m", module, *overrides], cwd, timeout, extra_env)


def refused(cwd: Path, *overrides: str) -> str:
    """Run adr-train, expect exit 2 with one stderr line and nothing built; return the line."""
    result = adr_train(cwd, *overrides, "max_iterations=1", timeout=120)
    assert result.returncode == 2, (result.stdout[-1500:], result.stderr[-1500:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "build mlp" not in result.stdout and "Started to train" not in result.stdout
    assert not (cwd / "runs").exists(), "nothing may be created before the checks"
    return lines[0]


def trained_run(cwd: Path, experiment: str, epochs: int) -> Path:
    """``cwd`` after a TINY run of ``experiment`` for ``epochs`` epochs (which must succeed)."""
    result = adr_train(cwd, *TINY, f"experiment={experiment}", f"max_iterations={epochs}")
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd


def checkpoints(run_dir: Path) -> list[Path]:
    return sorted(p for p in (run_dir / "nn").iterdir() if p.suffix in (".pth", ".h5"))


def epoch_of(path: Path) -> int:
    name = path.name
    return int(name.split("_ep_")[1].split("_")[0])


def trees_equal(a: Any, b: Any, path: str = "") -> list[str]:
    """Paths where two state trees differ (empty: bit-identical)."""
    return tree_differences(a, b, path)


def torchrun_command(*overrides: str) -> list[str]:
    """``python -m torch.distributed.run`` with 2 local ranks of adr_app.cli.train."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "adr_app.cli.train",
        *overrides,
    ]


class Running:
    """A process started in the background, its output going to files (no pipe to fill)."""

    def __init__(self, command: list[str], cwd: Path, name: str = "run") -> None:
        self.stdout_path = cwd / f"{name}.stdout"
        self.stderr_path = cwd / f"{name}.stderr"
        env = {**os.environ, **QUIET_ENV}
        with self.stdout_path.open("w") as out, self.stderr_path.open("w") as err:
            self.proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_until(self, done: Callable[[Running], bool], timeout: float = 180) -> None:
        """Poll until ``done(self)``; fail if the process ends first or time runs out."""
        deadline = time.monotonic() + timeout
        while not done(self):
            if self.proc.poll() is not None:
                raise AssertionError(f"ended early ({self.proc.returncode}): {self.stderr[-3000:]}")
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"timed out: {self.stderr[-3000:]}")
            time.sleep(0.05)

    def wait(self, timeout: float = 180) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def epochs_printed(stdout: str) -> list[int]:
    """The epochs of the progress lines (``epoch 7/100 | ...``), in order."""
    return [int(m.group(1)) for m in re.finditer(r"^epoch (\d+)/", stdout, re.M)]


STOPPED = re.compile(
    r"^adr-train: stopped by (SIG\w+) after epoch (\d+): saved (\S+); resume with: (.+)$", re.M
)


def stop_at_a_random_moment(run: Running, sig: int, rng: random.Random) -> None:
    """Once training runs, wait a random while and send ``sig`` to the process."""
    run.wait_until(lambda r: bool(epochs_printed(r.stdout)))
    time.sleep(rng.uniform(0.0, 2.0))
    os.kill(run.pid, sig)


def final_state(path: Path) -> dict[str, Any]:
    return load_checkpoint(path).to_rl_games()


def assert_same_training_state(a: Path, b: Path, *extra: str) -> None:
    """Policy, optimizer, ADR and task state, counters and agent state (and ``extra`` keys)
    of two checkpoints are bit-identical."""
    sa, sb = final_state(a), final_state(b)
    for key in ("model", "optimizer", "env_state", "epoch", "frame", "adr_agent", *extra):
        assert trees_equal(sa[key], sb[key], key) == [], key


def with_overrides(command: list[str], **values: str) -> list[str]:
    """``command`` with ``key=value`` arguments replaced."""
    return [
        f"{arg.split('=', 1)[0]}={values[arg.split('=', 1)[0]]}"
        if "=" in arg and arg.split("=", 1)[0] in values
        else arg
        for arg in command
    ]


def rsl_rl_file(path: Path, *, with_adr_kit: bool, iteration: int = 2) -> None:
    """What mjlab's rsl_rl runner (adr_lab.mjlab.runner) writes, with torch.save."""
    policy = {
        "model_state_dict": {"actor.0.weight": torch.zeros(4, 3)},
        "optimizer_state_dict": {"state": {}, "param_groups": []},
        "iter": iteration,
        "infos": {"env_state": {"common_step_counter": 48}},
    }
    env_state = {"common_step_counter": 48}
    payload = (
        encode_payload(Checkpoint.create(policy, env_state, experiment="cartpole_adr"))
        if with_adr_kit
        else {**policy, "env_state": env_state}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)


def run_module(cwd: Path, module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m <module> <args>`` in ``cwd`` (a CLI of the app), capturing text output."""
    return run_app([sys.executable, "-m", module, *args], cwd, timeout=120)
