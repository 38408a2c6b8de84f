"""adr-train's command line: every mistake is one line and exit 2, found before anything is
built; the shipped config trains any number of envs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from adr_infra import Checkpoint, save_checkpoint
from app_helpers import adr_train, refused


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("bogus_key=1", "bogus_key: no such key in the config"),
        ("max_iteratons=2", "did you mean 'max_iterations'?"),
        ("+max_iteratons=2", "+max_iteratons: unknown key"),
        ("+max_iteratons=2", "did you mean 'max_iterations'?"),
        ("++seeed=2", "did you mean 'seed'?"),
        ("train.params.config.minibatch_sise=3", "did you mean 'minibatch_size'?"),
        ("task=Bogus", "task=Bogus: no such task config; available: Reorient"),
        ("task=Reorientt", "did you mean 'Reorient'?"),
        ("train=NoSuchPPO", "no such train config; available: ReorientPPO"),
        ("num_envs=[1", "cannot parse this override"),
    ],
)
def test_unknown_keys_and_config_groups_are_one_line_with_the_nearest_valid_one(
    tmp_path: Path, override: str, expected: str
) -> None:
    """Hydra's multi-line errors (exit 1) and silently ignored +typos become one line, exit 2."""
    assert expected in refused(tmp_path, override)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["task.task.adr.adr_queue_threshold_length=true"], "expected a number"),
        (["num_envs=true"], "num_envs=True: Input should be a valid integer"),
        (
            ["task.task.adr.adr_queue_threshold_length=1000000000"],
            "the ADR queues alone would need",
        ),
        (["num_envs=1000000000"], "num_envs=1000000000: the rollout storage alone"),
        (["rl_device=bogus"], "rl_device='bogus': not a device name"),
        (["sim_device=gpu:7"], "sim_device='gpu:7': not a device name"),
        (["start_over=True", "checkpoint=latest"], "start_over=True starts a fresh run"),
        (
            ["num_envs=128", "train.params.config.minibatch_size=16384"],
            "minibatch_size=16384 must divide the batch",
        ),
    ],
)
def test_bad_values_devices_and_absurd_sizes_are_refused_before_anything_is_built(
    tmp_path: Path, overrides: list[str], expected: str
) -> None:
    """true for a number, a device that is no device, sizes beyond the machine's memory and an
    explicit minibatch that does not divide the batch: one line, exit 2, no env built."""
    assert expected in refused(tmp_path, *overrides)


def test_a_missing_cuda_device_is_refused_at_once(tmp_path: Path) -> None:
    """rl_device=cuda:0 on a machine without CUDA: one line, not a traceback from torch."""
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert "CUDA is not available" in refused(tmp_path, "rl_device=cuda:0")


def test_a_checkpoint_of_an_unknown_format_is_refused_before_envs_are_built(
    tmp_path: Path,
) -> None:
    """An existing file with an unknown suffix fails at once, listing the known ones."""
    path = tmp_path / "model.zip"
    save_checkpoint(f"torch://{path}", Checkpoint.create({"epoch": 1}))
    line = refused(tmp_path, f"checkpoint={path}")
    assert "unknown checkpoint suffix '.zip'" in line and ".pth" in line


@pytest.mark.slow
@pytest.mark.parametrize("num_envs", [128, 512])
def test_the_shipped_config_trains_any_number_of_envs(tmp_path: Path, num_envs: int) -> None:
    """num_envs=128 and 512 train with the shipped train config: the minibatch follows the batch."""
    result = adr_train(tmp_path, f"num_envs={num_envs}", "max_iterations=1", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "epoch 1/1" in result.stdout
