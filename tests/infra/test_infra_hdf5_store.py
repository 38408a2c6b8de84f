"""The HDF5 store: plain h5py reads it, no pickle, damage is reported, h5py loads lazily."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import torch

from adr_domain import ADREngine
from adr_infra import (
    Checkpoint,
    CorruptCheckpointError,
    Hdf5Store,
    load_checkpoint,
    save_checkpoint,
)
from adr_infra.hdf5_store import decode_key, encode_key
from builders import small_cfg
from infra_helpers import assert_checkpoints_identical, drive, small_policy


@pytest.fixture
def engine() -> ADREngine:
    engine = ADREngine(small_cfg(), 16, seed=2)
    drive(engine, 10)
    return engine


@pytest.fixture
def saved(tmp_path: Path, engine: ADREngine) -> tuple[Path, Checkpoint, bytes]:
    checkpoint = Checkpoint.create(small_policy(), {"adr": engine.state_dict()}, experiment="e")
    path = tmp_path / "good.h5"
    save_checkpoint(path, checkpoint)
    return path, checkpoint, path.read_bytes()


def test_plain_h5py_reads_the_engine_state_without_adr_kit(
    saved: tuple[Path, Checkpoint, bytes], engine: ADREngine
) -> None:
    """Ranges, worker types and counters are ordinary datasets with readable type tags;
    tensor-free containers are one JSON text each."""
    path, _, _ = saved
    with h5py.File(path, "r") as f:
        adr = f["env_state"]["adr"]
        assert np.array_equal(adr["bounds"][()], engine.bounds.numpy())
        assert np.array_equal(adr["worker_types"][()], engine.worker_types.numpy())
        assert int(adr["step"][()]) == engine.step
        assert adr["bounds"].dtype == np.float64 and not adr["bounds"].attrs  # plain data
        assert adr["param_names"].attrs["adr_type"].decode() == "packed"
        assert json.loads(adr["param_names"][()]) == list(engine.param_names)
        meta = dict(json.loads(f["adr_kit"][()])["d"])
        assert meta["format"] == "adr-kit-checkpoint"


def test_the_file_holds_no_pickled_or_opaque_data(saved: tuple[Path, Checkpoint, bytes]) -> None:
    """Every dataset is numeric, bool, fixed-length string or empty; no object dtypes."""
    path, _, _ = saved
    kinds: set[str] = set()

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            if obj.shape is None:
                kinds.add("empty")
                return
            kinds.add(obj.dtype.kind)
            assert obj.dtype.kind in "biufcS", f"{name}: dtype {obj.dtype}"

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    assert {"f", "i", "S"} <= kinds


def test_optimizer_int_keys_tuples_and_none_round_trip(tmp_path: Path) -> None:
    """Adam's state {0: {...}}, betas tuple, foreach None keep their exact types."""
    checkpoint = Checkpoint.create(small_policy(), {"odd": {"": 1, ".": 2, "a/b": 3, "%i1": 4}})
    save_checkpoint(tmp_path / "o.h5", checkpoint)
    loaded = load_checkpoint(tmp_path / "o.h5")
    assert_checkpoints_identical(checkpoint, loaded)
    group = loaded.policy["optimizer"]["param_groups"][0]
    assert type(group["betas"]) is tuple and group["foreach"] is None
    assert list(loaded.policy["optimizer"]["state"]) == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "key", ["", ".", "..", "a/b", "%", "%i3", "%2E", ".x", "é ü", 0, -7, 2**62]
)
def test_member_names_decode_back_to_their_keys(key: str | int) -> None:
    """encode_key/decode_key are inverse, and names never contain '/' or start with '.'."""
    name = encode_key(key)
    assert decode_key(name) == key and type(decode_key(name)) is type(key)
    assert "/" not in name and not name.startswith(".") and name


def test_a_flipped_bit_inside_a_dataset_fails_the_checksum(
    saved: tuple[Path, Checkpoint, bytes],
) -> None:
    """Altering one byte of the raw data of env_state/adr/bounds is detected."""
    path, _, data = saved
    with h5py.File(path, "r") as f:
        offset = f["env_state"]["adr"]["bounds"].id.get_offset()
    assert offset is not None
    flipped = bytearray(data)
    flipped[offset + 3] ^= 0x04
    path.write_bytes(bytes(flipped))
    with pytest.raises(CorruptCheckpointError, match="checksum") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_every_truncation_is_reported_as_corrupted(saved: tuple[Path, Checkpoint, bytes]) -> None:
    """Cut at many offsets: CorruptCheckpointError naming the file."""
    path, _, data = saved
    damaged = path.with_name("cut.h5")
    for offset in sorted({1, 8, 100, len(data) - 1, *range(0, len(data), 499)}):
        damaged.write_bytes(data[:offset])
        with pytest.raises(CorruptCheckpointError) as info:
            load_checkpoint(damaged)
        assert str(damaged) in str(info.value), offset


def test_a_flipped_bit_anywhere_is_reported_or_harmless(
    saved: tuple[Path, Checkpoint, bytes],
) -> None:
    """Each flip gives CorruptCheckpointError, or (in unused space) the identical checkpoint."""
    path, checkpoint, data = saved
    damaged = path.with_name("flip.h5")
    rng = random.Random(0)
    offsets = sorted(rng.sample(range(len(data)), 150))
    messages: list[str] = []
    for offset in offsets:
        flipped = bytearray(data)
        flipped[offset] ^= 1 << rng.randrange(8)
        damaged.write_bytes(bytes(flipped))
        try:
            loaded = load_checkpoint(damaged)
        except CorruptCheckpointError as exc:
            messages.append(str(exc))
            continue
        assert loaded.content_digest() == checkpoint.content_digest(), offset
    assert messages and all(str(damaged) in m for m in messages)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x89PNG\r\n\x1a\n" + bytes(1000),
        bytes(random.Random(2).randrange(256) for _ in range(4096)),
    ],
    ids=["empty", "png", "random"],
)
def test_foreign_bytes_are_reported_as_corrupted(tmp_path: Path, content: bytes) -> None:
    """Empty, PNG or random bytes under a .h5 name: CorruptCheckpointError naming the file."""
    path = tmp_path / "foreign.h5"
    path.write_bytes(content)
    with pytest.raises(CorruptCheckpointError) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_an_hdf5_file_not_written_by_adr_kit_is_reported_as_foreign(tmp_path: Path) -> None:
    """A valid HDF5 file from elsewhere is refused, not half-loaded."""
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.arange(5)
        f.attrs["adr_type"] = "dict"
    with pytest.raises(CorruptCheckpointError, match="adr-kit"):
        load_checkpoint(path)
    with h5py.File(path, "w") as f:
        f["data"] = np.arange(5)
    with pytest.raises(CorruptCheckpointError):
        load_checkpoint(path)


def test_h5py_is_imported_only_when_an_hdf5_file_is_used(tmp_path: Path) -> None:
    """Importing adr_infra and choosing the store leave h5py unimported; saving imports it."""
    code = f"""
import sys
import adr_infra
assert isinstance(adr_infra.store_for("x.h5"), adr_infra.Hdf5Store)
adr_infra.save_checkpoint({str(tmp_path / "a.pth")!r}, adr_infra.Checkpoint.create({{"epoch": 1}}))
assert "h5py" not in sys.modules, "imported too early"
adr_infra.save_checkpoint({str(tmp_path / "a.h5")!r}, adr_infra.Checkpoint.create({{"epoch": 1}}))
assert "h5py" in sys.modules
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_bfloat16_float8_and_bool_tensors_keep_their_dtype_and_bits(tmp_path: Path) -> None:
    """Dtypes numpy lacks are stored as same-width ints and viewed back exactly."""
    tensors = {
        "bf": torch.tensor([1.5, -0.0, float("inf")], dtype=torch.bfloat16),
        "f8": torch.tensor([0.5, -2.0, 448.0]).to(torch.float8_e4m3fn),
        "b": torch.tensor([[True, False]]),
        "u8": torch.arange(256, dtype=torch.uint8),
        "scalar": torch.tensor(3.25),
        "empty": torch.zeros(0, 4, dtype=torch.int16),
    }
    checkpoint = Checkpoint.create(None, tensors)
    Hdf5Store().save(tmp_path / "t.h5", checkpoint)
    assert_checkpoints_identical(checkpoint, Hdf5Store().load(tmp_path / "t.h5"))


def isaac_like_checkpoint() -> Checkpoint:
    """An engine state plus an ``adr_params`` mirror of many small values, as the adapter saves."""
    engine = ADREngine(small_cfg(), 16, seed=2)
    drive(engine, 5)
    mirror = {
        f"p{i}": {"range": [0.5, 2.0], "limits": [None, float("inf")], "delta": 0.01, "type": "u"}
        for i in range(27)
    }
    env_state = {"adr": engine.state_dict(), "adr_params": mirror}
    return Checkpoint.create(small_policy(), env_state, experiment="e", adr_config={"a": [1, 2]})


def count_objects(path: Path) -> int:
    found: list[str] = []
    with h5py.File(path, "r") as f:
        f.visit(found.append)
    return len(found)


def test_tensor_free_parts_are_packed_into_a_few_hdf5_objects(tmp_path: Path) -> None:
    """Hundreds of small values (metadata, adr_params mirror, optimizer settings) are a few
    dozen HDF5 objects in all, and load back identical."""
    checkpoint = isaac_like_checkpoint()
    path = tmp_path / "packed.h5"
    save_checkpoint(path, checkpoint)
    assert count_objects(path) <= 60  # 35 tensors, their 15 groups, a few scalars
    assert_checkpoints_identical(checkpoint, load_checkpoint(path))


def test_damaged_packed_text_is_reported_as_corrupted(tmp_path: Path) -> None:
    """A packed dataset whose JSON is not what adr-kit writes: CorruptCheckpointError."""
    path = tmp_path / "bad.h5"
    save_checkpoint(path, isaac_like_checkpoint())
    with h5py.File(path, "r+") as f:
        text = f["env_state/adr_params"][()]
        del f["env_state/adr_params"]
        ds = f["env_state"].create_dataset("adr_params", data=np.bytes_(text[:-3] + b"}}}"))
        ds.attrs["adr_type"] = np.bytes_(b"packed")
    with pytest.raises(CorruptCheckpointError, match="adr_params"):
        load_checkpoint(path)
