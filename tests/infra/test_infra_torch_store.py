"""The .pth store: rl_games reads our files, we read rl_games' files, nothing runs code,
and a damaged file is reported, never half-loaded."""

from __future__ import annotations

import os
import random
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from adr_domain import ADREngine
from adr_infra import (
    FORMAT_VERSION,
    META_KEY,
    Checkpoint,
    CheckpointNotFoundError,
    CorruptCheckpointError,
    TorchStore,
    UnsafeCheckpointError,
    UnsupportedVersionError,
    load_checkpoint,
    save_checkpoint,
    tree_digest,
)
from adr_infra import payload as payload_module
from builders import small_cfg
from infra_helpers import assert_checkpoints_identical, assert_trees_identical, drive, small_policy


def engine_checkpoint(num_envs: int = 16) -> Checkpoint:
    engine = ADREngine(small_cfg(), num_envs, seed=5)
    drive(engine, 10)
    return Checkpoint.create(small_policy(), {"adr": engine.state_dict()}, experiment="exp")


def rewrite_zip(path: Path, out: Path, transform: Callable[[str, bytes], bytes]) -> None:
    """Copy a torch zip file record by record, transforming record contents (CRCs recomputed)."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, transform(info.filename, src.read(info)))


class _RunsCode:
    """Pickles into ``os.system("touch <sentinel>")``."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.sentinel}",))


# ------------------------------------------------------------------ rl_games compatibility


def test_the_file_is_a_plain_rl_games_checkpoint_dict(tmp_path: Path) -> None:
    """torch.load (as rl_games calls it) gives the rl_games keys, env_state and one adr_kit key."""
    checkpoint = engine_checkpoint()
    path = tmp_path / "a.pth"
    save_checkpoint(path, checkpoint)
    raw = torch.load(path, weights_only=False)
    assert list(raw) == [*checkpoint.policy, "env_state", META_KEY]
    assert_trees_identical(raw["model"], checkpoint.policy["model"])
    assert_trees_identical(raw["env_state"], checkpoint.env_state)
    assert raw["epoch"] == 12 and raw["frame"] == 98_304
    assert type(raw["last_mean_rewards"]) is float and raw["last_mean_rewards"] == 17.25
    assert raw[META_KEY]["format_version"] == FORMAT_VERSION


def test_rl_games_own_loader_and_agent_restore_our_file(tmp_path: Path) -> None:
    """torch_ext.load_checkpoint + A2CBase.set_full_state_weights restore model, optimizer,
    counters and hand env_state to the env."""
    from rl_games.algos_torch import torch_ext
    from rl_games.algos_torch.a2c_continuous import A2CAgent
    from rl_games.common.a2c_common import A2CBase

    checkpoint = engine_checkpoint()
    path = tmp_path / "a.pth"
    save_checkpoint(path, checkpoint)

    received: list[Any] = []

    class Env:
        def set_env_state(self, state: Any) -> None:
            received.append(state)

    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ELU(), torch.nn.Linear(8, 2))
    agent = object.__new__(A2CAgent)
    agent.__dict__.update(
        model=model,
        optimizer=torch.optim.Adam(model.parameters(), lr=3e-4),
        has_central_value=False,
        normalize_rms_advantage=False,
        normalize_input=False,
        normalize_value=False,
        mixed_precision=False,
        vec_env=Env(),
    )
    A2CBase.set_full_state_weights(agent, torch_ext.load_checkpoint(str(path)))
    assert_trees_identical(dict(model.state_dict()), checkpoint.policy["model"])
    assert agent.epoch_num == 12 and agent.frame == 98_304
    assert agent.last_mean_rewards == 17.25
    assert_trees_identical(received[0], checkpoint.env_state)
    saved_step = checkpoint.policy["optimizer"]["state"][0]["step"]
    assert torch.equal(agent.optimizer.state_dict()["state"][0]["step"], saved_step)


def test_an_rl_games_player_restores_our_file(tmp_path: Path) -> None:
    """PpoPlayerContinuous.restore loads the model and passes env_state to the env."""
    from rl_games.algos_torch.players import PpoPlayerContinuous

    checkpoint = engine_checkpoint()
    path = tmp_path / "a.pth"
    save_checkpoint(path, checkpoint)
    received: list[Any] = []

    class Env:
        def set_env_state(self, state: Any) -> None:
            received.append(state)

    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ELU(), torch.nn.Linear(8, 2))
    player = object.__new__(PpoPlayerContinuous)
    player.__dict__.update(model=model, normalize_input=False, env=Env())
    PpoPlayerContinuous.restore(player, str(path))
    assert_trees_identical(dict(model.state_dict()), checkpoint.policy["model"])
    assert_trees_identical(received[0], checkpoint.env_state)


def test_a_checkpoint_written_by_rl_games_loads_with_its_numpy_reward(tmp_path: Path) -> None:
    """rl_games' own save (numpy.float32 last_mean_rewards) loads with weights_only=True."""
    from rl_games.algos_torch import torch_ext

    weights = {**small_policy(), "env_state": None}
    torch_ext.save_checkpoint(str(tmp_path / "last_X_ep_12_rew_17.25"), weights)
    loaded = load_checkpoint(tmp_path / "last_X_ep_12_rew_17.25.pth")
    assert loaded.last_mean_rewards == 17.25 and type(loaded.policy["last_mean_rewards"]) is float
    assert_trees_identical(loaded.policy["model"], dict(weights["model"]))
    assert loaded.meta.producer == "rl_games" and loaded.meta.format_version == FORMAT_VERSION
    assert loaded.meta.created_at is None


def test_numpy_scalars_pickled_by_numpy_1_load_too(tmp_path: Path) -> None:
    """A reward pickled as numpy.core.multiarray.scalar (numpy 1.x) is allowed as well."""
    original = tmp_path / "np2.pth"
    torch.save({"model": {}, "last_mean_rewards": np.float32(-3.5)}, original)
    old = tmp_path / "np1.pth"

    def to_numpy_1(name: str, data: bytes) -> bytes:
        if not name.endswith("data.pkl"):
            return data
        assert b"numpy._core.multiarray" in data
        return data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")

    rewrite_zip(original, old, to_numpy_1)
    assert load_checkpoint(old).last_mean_rewards == -3.5


# ------------------------------------------------------------------ never runs code


def test_a_pickle_that_would_run_code_is_refused_and_never_executed(tmp_path: Path) -> None:
    """os.system in the pickle: UnsafeCheckpointError naming the file and the global; no effect."""
    sentinel = tmp_path / "SENTINEL"
    path = tmp_path / "evil.pth"
    torch.save({"model": {}, "epoch": 1, "env_state": {"x": _RunsCode(sentinel)}}, path)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "system" in message and "run code" in message
    assert not sentinel.exists()


def test_an_unsafe_file_counts_as_an_invalid_checkpoint(tmp_path: Path) -> None:
    """UnsafeCheckpointError is a CorruptCheckpointError (never a valid checkpoint)."""
    path = tmp_path / "evil.pth"
    torch.save({"x": _RunsCode(tmp_path / "S")}, path)
    with pytest.raises(CorruptCheckpointError):
        TorchStore().load(path)
    assert not (tmp_path / "S").exists()


# ------------------------------------------------------------------ damaged and foreign files


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, Checkpoint, bytes]:
    checkpoint = engine_checkpoint(8)
    path = tmp_path / "good.pth"
    save_checkpoint(path, checkpoint)
    return path, checkpoint, path.read_bytes()


def test_every_truncation_is_reported_as_corrupted(saved: tuple[Path, Checkpoint, bytes]) -> None:
    """Cut at many offsets (start, middle, end): CorruptCheckpointError naming the file."""
    path, _, data = saved
    damaged = path.with_name("cut.pth")
    offsets = sorted({1, 2, 10, 100, len(data) - 1, len(data) - 22, *range(0, len(data), 97)})
    for offset in offsets:
        damaged.write_bytes(data[:offset])
        with pytest.raises(CorruptCheckpointError) as info:
            load_checkpoint(damaged)
        assert str(damaged) in str(info.value), offset


def test_a_flipped_bit_anywhere_is_reported_or_harmless(
    saved: tuple[Path, Checkpoint, bytes],
) -> None:
    """Each flip gives CorruptCheckpointError, or (in padding) the identical checkpoint."""
    path, checkpoint, data = saved
    damaged = path.with_name("flip.pth")
    rng = random.Random(0)
    offsets = sorted({*rng.sample(range(len(data)), 400), 0, len(data) - 1})
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
    assert len(messages) > len(offsets) // 2
    assert all(str(damaged) in m for m in messages)


def test_a_changed_tensor_with_intact_archive_fails_the_checksum(
    saved: tuple[Path, Checkpoint, bytes],
) -> None:
    """A file re-saved with one altered value (valid zip, stale checksum) is corrupted."""
    path, _, _ = saved
    raw = torch.load(path, weights_only=True)
    raw["env_state"]["adr"]["bounds"][0, 0] += 1e-9
    torch.save(raw, path)
    with pytest.raises(CorruptCheckpointError, match="checksum"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        bytes(random.Random(1).randrange(256) for _ in range(5000)),
        b"PK\x03\x04" + b"\x00" * 100,
    ],
    ids=["empty", "png", "random", "zip-header-only"],
)
def test_foreign_bytes_are_reported_as_corrupted(tmp_path: Path, content: bytes) -> None:
    """Empty, PNG, random or truncated-zip bytes under a .pth name: CorruptCheckpointError."""
    path = tmp_path / "foreign.pth"
    path.write_bytes(content)
    with pytest.raises(CorruptCheckpointError) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_a_torch_file_that_is_not_a_dict_is_not_a_checkpoint(tmp_path: Path) -> None:
    """A saved tensor is a valid torch file but not a checkpoint."""
    path = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), path)
    with pytest.raises(CorruptCheckpointError, match="not a checkpoint"):
        load_checkpoint(path)


def test_a_missing_file_and_a_directory_are_not_found(tmp_path: Path) -> None:
    """Both raise CheckpointNotFoundError naming the path."""
    with pytest.raises(CheckpointNotFoundError, match="no such file"):
        load_checkpoint(tmp_path / "missing.pth")
    (tmp_path / "dir.pth").mkdir()
    with pytest.raises(CheckpointNotFoundError, match="directory"):
        load_checkpoint(tmp_path / "dir.pth")


# ------------------------------------------------------------------ format versions


def _resigned(raw: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in raw[META_KEY].items() if k != "checksum"}
    unsigned = {**raw, META_KEY: meta}
    return {**raw, META_KEY: {**meta, "checksum": tree_digest(unsigned)}}


def test_a_newer_format_version_is_reported_with_the_file_and_version(
    saved: tuple[Path, Checkpoint, bytes],
) -> None:
    """format_version FORMAT_VERSION + 1 (with a valid checksum): UnsupportedVersionError."""
    path, _, _ = saved
    raw = torch.load(path, weights_only=True)
    raw[META_KEY]["format_version"] = FORMAT_VERSION + 1
    torch.save(_resigned(raw), path)
    with pytest.raises(UnsupportedVersionError) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value) and str(FORMAT_VERSION + 1) in str(info.value)


def test_older_formats_are_migrated_in_order_by_pure_functions(
    saved: tuple[Path, Checkpoint, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a v2 -> v3 migration registered, a v2 file loads as v3 through it, unchanged input."""
    path, checkpoint, _ = saved
    seen: list[dict[str, Any]] = []

    def migrate_v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
        seen.append(payload)
        meta = {**payload[META_KEY], "format_version": 3, "experiment": "migrated"}
        return {**payload, META_KEY: meta}

    monkeypatch.setattr(payload_module, "FORMAT_VERSION", 3)
    monkeypatch.setitem(payload_module.FORMAT_MIGRATIONS, 2, migrate_v2_to_v3)
    loaded = load_checkpoint(path)
    assert loaded.meta.format_version == 3 and loaded.meta.experiment == "migrated"
    assert seen[0][META_KEY]["format_version"] == 2
    assert_trees_identical(loaded.env_state, checkpoint.env_state)


def test_save_load_round_trip_is_exact_for_a_realistic_checkpoint(tmp_path: Path) -> None:
    """Through the suffix registry, .pth save/load is the identity."""
    checkpoint = engine_checkpoint()
    save_checkpoint(tmp_path / "x.pth", checkpoint)
    assert_checkpoints_identical(checkpoint, load_checkpoint(tmp_path / "x.pth"))
