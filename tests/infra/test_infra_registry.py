"""Choosing a store from a path: suffixes, schemes, third-party backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import h5py
import pytest
import torch

from adr_infra import (
    Checkpoint,
    Hdf5Store,
    MemoryStore,
    PathLike,
    RunLayout,
    TorchStore,
    UnknownFormatError,
    checkpoint_suffixes,
    load_checkpoint,
    register_store,
    save_checkpoint,
    store_for,
    unregister_store,
)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("runs/x/nn/a.pth", TorchStore),
        ("A.PTH", TorchStore),
        ("a.pt", TorchStore),
        ("a.h5", Hdf5Store),
        ("a.hdf5", Hdf5Store),
        ("torch://a.h5", TorchStore),
        ("hdf5://a.pth", Hdf5Store),
        ("file:///tmp/a.h5", Hdf5Store),
        ("memory://anything", MemoryStore),
    ],
)
def test_the_store_is_chosen_from_the_scheme_or_else_the_suffix(path: str, kind: type) -> None:
    """A scheme wins over the suffix; suffixes are case-insensitive."""
    assert isinstance(store_for(path), kind)


@pytest.mark.parametrize("path", ["a.ckpt", "noext", "s3://bucket/a.pth"])
def test_an_unknown_suffix_or_scheme_names_the_path_and_lists_known_formats(path: str) -> None:
    """UnknownFormatError says what is unknown and which suffixes and schemes exist."""
    with pytest.raises(UnknownFormatError) as info:
        store_for(path)
    message = str(info.value)
    assert path.split("://")[-1] in message and ".pth" in message and ".h5" in message
    assert "hdf5://" in message


def test_a_scheme_forces_the_backend_whatever_the_suffix(tmp_path: Path) -> None:
    """torch://x.h5 writes a torch file, readable by torch.load."""
    save_checkpoint(f"torch://{tmp_path / 'x.h5'}", Checkpoint.create({"epoch": 3}))
    assert torch.load(tmp_path / "x.h5", weights_only=True)["epoch"] == 3
    assert not h5py.is_hdf5(tmp_path / "x.h5")
    assert load_checkpoint(f"torch://{tmp_path / 'x.h5'}").epoch == 3


class CountingStore:
    """A third-party backend: a MemoryStore that counts instances."""

    created = 0

    def __init__(self) -> None:
        type(self).created += 1
        self.inner = MemoryStore()

    def save(self, path: PathLike, checkpoint: Checkpoint) -> None:
        self.inner.save(path, checkpoint)

    def load(self, path: PathLike) -> Checkpoint:
        return self.inner.load(path)

    def exists(self, path: PathLike) -> bool:
        return self.inner.exists(path)


@pytest.fixture
def third_party() -> Iterator[None]:
    CountingStore.created = 0
    register_store(CountingStore, suffixes=[".ckpt"], schemes=["count"])
    yield
    unregister_store(suffixes=[".ckpt"], schemes=["count"])


@pytest.mark.usefixtures("third_party")
def test_a_third_party_backend_is_built_lazily_and_then_used_for_its_suffix() -> None:
    """Registering a class creates nothing; the first use creates exactly one instance."""
    assert CountingStore.created == 0
    save_checkpoint("a.ckpt", Checkpoint.create({"epoch": 4}))
    assert load_checkpoint("count://a.ckpt").epoch == 4
    assert CountingStore.created == 1
    assert ".ckpt" in checkpoint_suffixes()


@pytest.mark.usefixtures("third_party")
def test_a_registered_suffix_is_discovered_in_run_directories(tmp_path: Path) -> None:
    """RunLayout lists files of every registered suffix."""
    layout = RunLayout("exp", tmp_path).create()
    path = layout.nn_dir / "last_exp_ep_5_rew_1.0.ckpt"
    path.write_bytes(b"x")  # the backend keeps the content; discovery lists files
    save_checkpoint(str(path), Checkpoint.create({"epoch": 5}))
    assert layout.latest() == path


def test_taking_over_a_registered_suffix_needs_replace() -> None:
    """A second backend for .pth is refused unless replace=True."""
    with pytest.raises(ValueError, match=r"\.pth"):
        register_store(MemoryStore(), suffixes=[".pth"])


@pytest.mark.parametrize(
    ("suffixes", "schemes", "problem"),
    [
        (["pth"], [], "suffixes"),
        ([], ["file"], "reserved"),
        ([], ["bad scheme"], "schemes"),
        ([], [], "at least one"),
    ],
)
def test_malformed_or_reserved_registrations_are_refused(
    suffixes: list[str], schemes: list[str], problem: str
) -> None:
    """Suffixes need a dot, 'file' is reserved, schemes are URI schemes, one is needed."""
    with pytest.raises(ValueError, match=problem):
        register_store(MemoryStore(), suffixes=suffixes, schemes=schemes)
