"""Real multi-process runs (2 ranks, gloo): shared ADR state, and fail-fast on a dead rank."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import torch

from adr_domain import ADREngine
from builders import small_cfg
from distributed_worker import N, scenario
from paths import SUPPORT, support_pythonpath

WORKER = SUPPORT / "distributed_worker.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(out: Path, updates: int, die_at: int = -1) -> list[subprocess.Popen[bytes]]:
    port = free_port()
    procs = []
    for rank in range(2):
        env = {
            **os.environ,
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "PYTHONPATH": support_pythonpath(),
            "OMP_NUM_THREADS": "1",
        }
        cmd = [sys.executable, str(WORKER), str(out), str(updates), str(die_at)]
        procs.append(subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE))
    return procs


def test_two_gloo_ranks_hold_identical_ranges_after_every_update(tmp_path: Path) -> None:
    """Both processes see the same ranges each update, equal to one engine with all envs
    (and agree on rank 0's seed)."""
    updates = 60
    procs = launch(tmp_path, updates)
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
    runs = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    single = ADREngine(small_cfg(adr_queue_threshold_length=3), 2 * N)
    for step in range(updates):
        types, modes, done, objective = scenario(step, 2)
        single.worker_types.copy_(torch.tensor(types))
        single.adr_modes.copy_(torch.tensor(modes))
        single.update(torch.tensor(done, dtype=torch.long), torch.tensor(objective))
        for run in runs:
            assert torch.equal(run["history"][step], single.bounds), step
    assert (single.bounds != single.params.init).any()
    shared = [run["state"] for run in runs]
    for key in ("bounds", "next_limits", "queue_values", "queue_lengths"):
        assert torch.equal(shared[0][key], shared[1][key]), key
    assert shared[0]["step"] == shared[1]["step"] == updates
    assert [run["seed"] for run in runs] == [100, 100]  # rank 0's seed, agreed by both


def test_a_rank_that_dies_makes_its_peer_fail_fast_with_a_clear_message(tmp_path: Path) -> None:
    """When rank 1 crashes mid-run, rank 0 stops within seconds saying how to resume."""
    start = time.monotonic()
    procs = launch(tmp_path, updates=1000, die_at=5)
    codes, errors = [], []
    for proc in procs:
        _, err = proc.communicate(timeout=90)
        codes.append(proc.returncode)
        errors.append(err.decode()[-3000:])
    elapsed = time.monotonic() - start
    assert codes[1] == 3, errors[1]
    assert codes[0] == 4, errors[0]
    message = (tmp_path / "error0.txt").read_text()
    assert "rank 0: the ADR exchange with the other 1 rank(s) failed" in message
    assert "checkpoint=latest" in message
    assert elapsed < 60
