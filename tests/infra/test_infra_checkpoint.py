"""The Checkpoint value: built from rl_games' dict, metadata read off the engine state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from adr_domain import SCHEMA_VERSION, ADRConfig, ADREngine
from adr_infra import (
    META_KEY,
    Checkpoint,
    IncompatibleCheckpointError,
    TreeError,
    load_checkpoint,
    restore_engine,
    save_checkpoint,
    tree_digest,
)
from adr_infra.checkpoint import encode_payload
from builders import small_cfg
from infra_helpers import STORE_SUFFIXES, assert_trees_identical, small_policy
from paths import SUPPORT

FIXTURES = SUPPORT / "fixtures"


def test_an_rl_games_dict_splits_into_policy_and_env_state_and_back() -> None:
    """from_rl_games / to_rl_games keep every key, env_state separate, in rl_games' order."""
    engine = ADREngine(small_cfg(), 8)
    weights = {**small_policy(), "env_state": {"adr": engine.state_dict()}, "scaler": {"s": 1.0}}
    checkpoint = Checkpoint.from_rl_games(weights, experiment="exp")
    assert "env_state" not in checkpoint.policy and "scaler" in checkpoint.policy
    back = checkpoint.to_rl_games()
    assert list(back) == [k for k in weights if k != "env_state"] + ["env_state"]
    assert_trees_identical(back["env_state"], {"adr": dict(engine.state_dict())})


def test_metadata_is_read_off_the_engine_state() -> None:
    """param_set_hash and engine schema come from env_state['adr']; the counters from policy."""
    engine = ADREngine(small_cfg(), 8)
    checkpoint = Checkpoint.create(small_policy(), {"adr": engine.state_dict()}, experiment="e")
    assert checkpoint.param_set_hash == engine.params.fingerprint()
    assert checkpoint.meta.engine_schema_version == SCHEMA_VERSION
    assert checkpoint.meta.experiment == "e" and checkpoint.meta.created_at
    assert (checkpoint.epoch, checkpoint.frame, checkpoint.last_mean_rewards) == (12, 98_304, 17.25)
    assert checkpoint.engine_state is not None
    assert torch.equal(checkpoint.engine_state["bounds"], engine.bounds)


def test_a_checkpoint_without_adr_state_has_no_parameter_set() -> None:
    """No env state: no hash, no engine state, counters None when absent."""
    checkpoint = Checkpoint.create({"model": {}}, None)
    assert checkpoint.param_set_hash is None and checkpoint.engine_state is None
    assert checkpoint.epoch is None and checkpoint.last_mean_rewards is None


@pytest.mark.parametrize("key", ["env_state", "adr_kit"])
def test_reserved_keys_cannot_be_part_of_the_policy(key: str) -> None:
    """env_state and adr_kit are passed separately, never inside the policy part."""
    with pytest.raises(TreeError, match=key):
        Checkpoint.create({key: 1})


def test_numpy_values_from_rl_games_become_plain_python_and_tensors() -> None:
    """numpy.float32 reward -> float; a numpy array in the env state -> tensor."""
    checkpoint = Checkpoint.create(
        {"last_mean_rewards": np.float32(2.5)}, {"a": np.arange(3, dtype=np.int32)}
    )
    assert type(checkpoint.policy["last_mean_rewards"]) is float
    assert checkpoint.env_state is not None
    assert checkpoint.env_state["a"].dtype == torch.int32


def test_the_digest_covers_metadata_as_well_as_content() -> None:
    """Same content, another experiment name: another digest."""
    a = Checkpoint.create({"epoch": 1}, None, experiment="a", created_at="2000-01-01T00:00:00")
    b = Checkpoint.create({"epoch": 1}, None, experiment="b", created_at="2000-01-01T00:00:00")
    c = Checkpoint.create({"epoch": 1}, None, experiment="a", created_at="2000-01-01T00:00:00")
    assert a.content_digest() != b.content_digest()
    assert a.content_digest() == c.content_digest()


def test_an_env_state_whose_adr_entry_is_not_a_dict_cannot_be_restored() -> None:
    """env_state['adr'] of the wrong type is an IncompatibleCheckpointError naming the file."""
    checkpoint = Checkpoint.create(None, {"adr": [1, 2]})
    with pytest.raises(IncompatibleCheckpointError, match=r"x\.pth.*list"):
        restore_engine(ADREngine(small_cfg(), 8), checkpoint, path="x.pth")


@pytest.mark.parametrize("suffix", STORE_SUFFIXES)
def test_a_checkpoint_carries_its_adr_config_and_world_size(tmp_path: Path, suffix: str) -> None:
    """The validated ADR config and the world size survive every store and re-validate."""
    config = ADRConfig.from_mapping(small_cfg()).model_dump(mode="json")
    checkpoint = Checkpoint.create(small_policy(), None, adr_config=config, world_size=2)
    save_checkpoint(tmp_path / f"c{suffix}", checkpoint)
    meta = load_checkpoint(tmp_path / f"c{suffix}").meta
    assert meta.world_size == 2 and meta.format_version == 2
    assert meta.adr_config is not None
    assert ADRConfig.from_mapping(meta.adr_config) == ADRConfig.from_mapping(small_cfg())


def test_the_world_size_defaults_to_what_the_env_state_says() -> None:
    """Without an explicit world size, the env state's world_size entry (else 1) is used."""
    assert Checkpoint.create(None, {"world_size": 3}).meta.world_size == 3
    assert Checkpoint.create(None, {"other": 1}).meta.world_size == 1


def test_a_version_1_file_loads_through_the_migration_to_version_2(tmp_path: Path) -> None:
    """A v1 payload (no world size, no ADR config) loads with both filled in by migrate_v1_to_v2."""
    payload = encode_payload(Checkpoint.create(small_policy(), {"world_size": 2, "x": 1}))
    meta = {k: v for k, v in payload[META_KEY].items() if k not in ("world_size", "adr_config")}
    meta.update(format_version=1)
    del meta["checksum"]
    v1 = {**payload, META_KEY: meta}
    v1[META_KEY] = {**meta, "checksum": tree_digest(v1)}
    torch.save(v1, tmp_path / "v1.pth")
    loaded = load_checkpoint(tmp_path / "v1.pth")
    assert loaded.meta.format_version == 2
    assert loaded.meta.world_size == 2 and loaded.meta.adr_config is None


@pytest.mark.parametrize("suffix", STORE_SUFFIXES)
def test_files_written_by_adr_kit_format_1_load_through_the_migration(suffix: str) -> None:
    """Checked-in files saved by the previous release (format 1; HDF5 unpacked, tensors tagged)
    load as format 2 with the world size read off their env state, content unchanged."""
    loaded = load_checkpoint(FIXTURES / f"format_v1{suffix}")
    assert loaded.meta.format_version == 2 and loaded.meta.experiment == "old"
    assert loaded.meta.world_size == 2 and loaded.meta.adr_config is None
    expected = {
        "world_size": 2,
        "other_ranks": [{"counter": 1}],
        "adr_params": {"mass": {"range": [0.8, 1.2], "limits": [None, 3.0], "delta": 0.1}},
        "values": torch.arange(10, dtype=torch.float32),
    }
    assert_trees_identical(loaded.env_state, expected)
    policy = Checkpoint.create(small_policy(), None).policy
    assert_trees_identical(loaded.policy, with_moments_of(loaded.policy, policy))


def test_both_format_1_files_hold_the_same_policy_bit_for_bit() -> None:
    """The .pth and .h5 fixtures were written from one policy: their migrations agree exactly."""
    pth, h5 = (load_checkpoint(FIXTURES / f"format_v1{suffix}") for suffix in STORE_SUFFIXES)
    assert_trees_identical(pth.policy, h5.policy)


def with_moments_of(saved: dict[str, Any], fresh: dict[str, Any]) -> dict[str, Any]:
    """``fresh`` with the optimizer's moment estimates taken from ``saved`` once they agree to
    float32 rounding: they come from a backward pass, whose last bits depend on the CPU's
    matmul kernels (the fixtures were written on another machine); all else stays exact."""
    state = {}
    for index, moments in fresh["optimizer"]["state"].items():
        kept = saved["optimizer"]["state"][index]
        for name, value in moments.items():
            if value.is_floating_point() and value.dim() > 0:
                assert torch.allclose(kept[name], value, rtol=1e-5, atol=1e-7), (index, name)
        state[index] = {n: kept[n] if v.dim() > 0 else v for n, v in moments.items()}
    return {**fresh, "optimizer": {**fresh["optimizer"], "state": state}}
