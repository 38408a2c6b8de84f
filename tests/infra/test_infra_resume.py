"""Exact resume across processes, for every file store.

Process A runs N updates and saves; process B (another seed) loads and runs M
more; process C runs N + M straight. B and C must agree bit for bit on every
range, next limit, queue, worker type and mode, sampled value, counter and
random stream, and on the next random draws and the next update.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from infra_helpers import STORE_SUFFIXES, assert_trees_identical
from paths import SUPPORT

N_UPDATES, M_UPDATES = 30, 25


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SUPPORT / "infra_resume_worker.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err


def _read(path: Path) -> dict[str, Any]:
    record: dict[str, Any] = torch.load(path, weights_only=True)
    return record


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run every leg once (two at a time) and read their dumps."""
    d = tmp_path_factory.mktemp("resume")
    first = [_start("--seed", "7", "--updates", str(N_UPDATES + M_UPDATES), "--dump", str(d / "C"))]
    for s in STORE_SUFFIXES:
        first.append(
            _start(
                *("--seed", "7", "--updates", str(N_UPDATES)),
                *("--save", str(d / f"A{s}"), "--dump", str(d / f"A{s}.dump")),
            )
        )
    _finish(first)
    second = []
    for s in STORE_SUFFIXES:
        ckpt = str(d / f"A{s}")
        second.append(
            _start(
                *("--seed", "12345", "--updates", str(M_UPDATES), "--load", ckpt),
                *("--dump", str(d / f"B{s}")),
            )
        )
        second.append(
            _start(
                *("--seed", "12345", "--updates", "0", "--load", ckpt, "--load-ranges", "false"),
                *("--dump", str(d / f"F{s}")),
            )
        )
    _finish(second)
    out = {"C": _read(d / "C")}
    for s in STORE_SUFFIXES:
        out[f"A{s}"] = _read(d / f"A{s}.dump")
        out[f"B{s}"] = _read(d / f"B{s}")
        out[f"F{s}"] = _read(d / f"F{s}")
    return out


def test_the_scenario_moves_bounds_and_fills_queues(runs: dict[str, Any]) -> None:
    """Before the save, ranges moved away from init and some queues hold results."""
    from adr_domain import ADREngine
    from infra_resume_worker import NUM_ENVS, config

    init = ADREngine(config(True), NUM_ENVS).state_dict()
    saved = runs[f"A{STORE_SUFFIXES[0]}"]["state"]
    assert int((saved["bounds"] != init["bounds"]).sum()) >= 5
    assert int(saved["queue_lengths"].sum()) > 0
    assert saved["step"] == N_UPDATES


@pytest.mark.parametrize("suffix", STORE_SUFFIXES)
def test_resuming_in_a_fresh_process_equals_running_straight(
    runs: dict[str, Any], suffix: str
) -> None:
    """Every entry of the final engine state is bit-identical to the uninterrupted run."""
    resumed, straight = runs[f"B{suffix}"], runs["C"]
    assert_trees_identical(resumed["state"], straight["state"], "state")
    assert resumed["state"]["step"] == N_UPDATES + M_UPDATES


@pytest.mark.parametrize("suffix", STORE_SUFFIXES)
def test_the_next_random_draws_and_update_after_resume_are_identical(
    runs: dict[str, Any], suffix: str
) -> None:
    """Each random stream draws the same numbers next, and one more update agrees."""
    resumed, straight = runs[f"B{suffix}"], runs["C"]
    assert_trees_identical(resumed["draws"], straight["draws"], "draws")
    assert_trees_identical(resumed["after_next_update"], straight["after_next_update"], "next")


@pytest.mark.parametrize("suffix", STORE_SUFFIXES)
def test_without_adr_load_from_checkpoint_everything_but_ranges_and_queues_is_restored(
    runs: dict[str, Any], suffix: str
) -> None:
    """adr_load_from_checkpoint false: ranges, next limits, queues fresh; the rest as saved."""
    from adr_domain import ADREngine
    from infra_resume_worker import NUM_ENVS, config

    loaded, saved = runs[f"F{suffix}"]["loaded"], runs[f"A{suffix}"]["state"]
    fresh = ADREngine(config(False), NUM_ENVS).state_dict()
    for key in ("bounds", "next_limits", "queue_values", "queue_lengths"):
        assert_trees_identical(loaded[key], fresh[key], key)
    for key in ("adr_modes", "tensor_values", "rng", "rollout_perf", "step"):
        assert_trees_identical(loaded[key], saved[key], key)
    # Boundary workers lost their bounds with the old ranges: now rollout workers.
    expected_types = saved["worker_types"].masked_fill(saved["worker_types"] == 1, 0)
    assert_trees_identical(loaded["worker_types"], expected_types, "worker_types")
    assert not torch.equal(saved["bounds"], fresh["bounds"])
