"""adr-train with 2 processes (torchrun, gloo): one shared curriculum, exact per-rank resume,
fail-fast on a dead rank, a clean stop on SIGTERM, and explicit handling of another world
size."""

from __future__ import annotations

import os
import random
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from adr_infra import load_checkpoint
from app_helpers import (
    QUIET_ENV,
    STOPPED,
    TINY,
    Running,
    adr_train,
    assert_same_training_state,
    checkpoints,
    epoch_of,
    epochs_printed,
    run_app,
    stop_at_a_random_moment,
    torchrun_command,
    trees_equal,
    with_overrides,
)
from paths import CFG

pytestmark = pytest.mark.slow

# 2 ranks x 64 envs: the batch per rank is 64 x 8.
MULTI = [*TINY, "multi_gpu=True", "log_level=DEBUG"]


def torchrun(cwd: Path, *overrides: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return run_app(torchrun_command(*overrides), cwd, timeout)


def final(run: Path) -> Path:
    return max((p for p in checkpoints(run) if "_ep_" in p.name), key=epoch_of)


@pytest.fixture(scope="module")
def two_ranks(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A 3-epoch run of experiment 'mp' on 2 processes."""
    cwd = tmp_path_factory.mktemp("mp")
    result = torchrun(cwd, *MULTI, "experiment=mp", "max_iterations=3")
    assert result.returncode == 0, result.stderr[-4000:]
    return cwd, result


def test_every_rank_holds_the_same_adr_state_after_every_epoch(
    two_ranks: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """Rank 0 compares every rank's shared ADR state each epoch; all three epochs agree."""
    cwd, result = two_ranks
    assert result.stderr.count("ADR shared state identical on all 2 ranks") == 3
    state = load_checkpoint(final(cwd / "runs" / "mp")).env_state
    assert state is not None
    assert (state["adr"]["bounds"] != torch.tensor(0.0)).any()
    widened = state["adr"]["bounds"][:, 1] > load_init_upper(state)
    assert widened.any(), "the forced thresholds should widen ranges"


def load_init_upper(state: dict) -> torch.Tensor:  # type: ignore[type-arg]
    import yaml

    from adr_domain import ADRConfig
    from adr_domain.config import to_plain

    cfg = yaml.safe_load((CFG / "task" / "Reorient.yaml").read_text())
    adr = ADRConfig.from_mapping(to_plain(cfg["task"]["adr"]))
    return torch.tensor([p.init_range[1] for p in adr.params.values()], dtype=torch.float64)


def test_a_checkpoint_stores_the_shared_state_once_and_each_ranks_own_part(
    two_ranks: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """env_state: rank 0's full state, world_size 2, and rank 1's per-rank part only."""
    cwd, _ = two_ranks
    state = load_checkpoint(final(cwd / "runs" / "mp")).env_state
    assert state is not None
    assert state["world_size"] == 2
    (other,) = state["other_ranks"]
    assert "bounds" not in other["adr"] and "queue_values" not in other["adr"]
    assert other["adr"]["worker_types"].shape == (64,)
    assert not torch.equal(other["torch_rng"], state["torch_rng"])


def test_two_rank_resume_continues_exactly_on_every_rank(tmp_path: Path) -> None:
    """2 epochs + resume for 2 == 4 epochs straight, for both ranks' state and the policy."""
    common = [*MULTI, "torch_deterministic=True", "seed=3"]
    straight = torchrun(tmp_path, *common, "experiment=straight", "max_iterations=4")
    assert straight.returncode == 0, straight.stderr[-4000:]
    first = torchrun(tmp_path, *common, "experiment=split", "max_iterations=2")
    assert first.returncode == 0, first.stderr[-4000:]
    second = torchrun(
        tmp_path, *common, "experiment=split", "max_iterations=4", "checkpoint=latest"
    )
    assert second.returncode == 0, second.stderr[-4000:]
    a = load_checkpoint(final(tmp_path / "runs" / "straight")).to_rl_games()
    b = load_checkpoint(final(tmp_path / "runs" / "split")).to_rl_games()
    assert epoch_of(final(tmp_path / "runs" / "split")) == 4
    for key in ("model", "optimizer", "env_state", "adr_agent", "adr_agent_ranks"):
        assert trees_equal(a[key], b[key], key) == [], key


def test_killing_one_rank_ends_the_run_quickly_and_it_resumes_from_latest(tmp_path: Path) -> None:
    """SIGKILL of rank 1 stops the whole run within seconds; checkpoint=latest then resumes it."""
    env = {**os.environ, **QUIET_ENV}
    cmd = torchrun_command(*MULTI, "experiment=kill", "max_iterations=100000")
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    nn = tmp_path / "runs" / "kill" / "nn"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (nn.exists() and len(list(nn.glob("last_*"))) >= 2):
        time.sleep(0.2)
    assert nn.exists(), "the run should have saved checkpoints"
    victim = rank_one_pid()
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    _, err = proc.communicate(timeout=120)
    assert time.monotonic() - killed_at < 30
    assert proc.returncode != 0
    assert "stopped by the launcher" in err or "lost each other" in err
    assert "checkpoint=latest" in err
    resumed = torchrun(
        tmp_path,
        *MULTI,
        "experiment=kill",
        "checkpoint=latest",
        f"max_iterations={latest_epoch(nn) + 1}",
    )
    assert resumed.returncode == 0, resumed.stderr[-4000:]


def latest_epoch(nn: Path) -> int:
    return max(epoch_of(p) for p in nn.iterdir() if "_ep_" in p.name)


def rank_one_pid() -> int:
    """The pid of the adr_app.cli.train process torchrun started with RANK=1."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            b"adr_app.cli.train" in cmdline
            and b"torch.distributed.run" not in cmdline
            and b"RANK=1" in environ
        ):
            return int(entry.name)
    raise AssertionError("rank 1 not found")


def test_another_world_size_is_refused_unless_only_adr_shared_state_is_wanted(
    two_ranks: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """A 2-process checkpoint in a 1-process run: a clear error, or ADR's shared state only."""
    cwd, _ = two_ranks
    refused = adr_train(cwd, *TINY, "experiment=mp", "checkpoint=latest", "max_iterations=4")
    assert refused.returncode == 1
    assert "holds the env state of 2 process(es), this run has 1" in refused.stderr
    assert "resume_shared_adr_only=True" in refused.stderr
    accepted = adr_train(
        cwd,
        *TINY,
        "experiment=mp",
        "checkpoint=latest",
        "max_iterations=4",
        "resume_shared_adr_only=True",
    )
    assert accepted.returncode == 0, accepted.stderr[-4000:]
    assert "restored only ADR's shared state" in accepted.stderr


def test_sigterm_to_torchrun_stops_both_ranks_at_one_epoch_and_they_resume_exactly(
    tmp_path: Path,
) -> None:
    """SIGTERM to the launcher at a random moment: both ranks stop after the same epoch, rank 0
    saves every rank's state and prints the torchrun command that resumes; resumed for 2 more
    epochs, the run equals an uninterrupted 2-rank run on both ranks."""
    seed = int.from_bytes(os.urandom(4), "little")
    common = [*MULTI, "train.params.config.save_frequency=1000", "torch_deterministic=True"]
    common.append("seed=3")
    run = Running(
        torchrun_command(*common, "experiment=pre", "max_iterations=100000"), tmp_path, "first"
    )
    stop_at_a_random_moment(run, signal.SIGTERM, random.Random(seed))
    run.wait()
    reached = epochs_printed(run.stdout)[-1]
    match = STOPPED.search(run.stderr)
    assert match is not None, (seed, run.stderr[-4000:])
    assert int(match.group(2)) == reached, seed
    assert run.stderr.count("rank 1: SIGTERM received: stopping") == 1
    saved = load_checkpoint(tmp_path / match.group(3))
    assert saved.epoch == reached and saved.meta.world_size == 2
    assert saved.env_state is not None and len(saved.env_state["other_ranks"]) == 1
    assert len(saved.policy["adr_agent_ranks"]) == 1

    command = shlex.split(match.group(4))
    assert command[:4] == ["torchrun", "--standalone", "--nproc_per_node=2", "-m"]
    launcher = [sys.executable, "-m", "torch.distributed.run"]
    resume = with_overrides([*launcher, *command[1:]], max_iterations=str(reached + 2))
    resumed = run_app(resume, tmp_path)
    assert resumed.returncode == 0, (seed, resumed.stderr[-4000:])
    assert epochs_printed(resumed.stdout) == [reached + 1, reached + 2], seed
    straight = torchrun(tmp_path, *common, "experiment=straight", f"max_iterations={reached + 2}")
    assert straight.returncode == 0, straight.stderr[-4000:]
    assert_same_training_state(
        final(tmp_path / "runs" / "pre"), final(tmp_path / "runs" / "straight"), "adr_agent_ranks"
    )
