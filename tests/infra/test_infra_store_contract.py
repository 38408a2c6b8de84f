"""The CheckpointStore contract, run against every store: Memory, Torch (.pth), HDF5 (.h5)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from adr_domain import ADREngine
from adr_infra import (
    Checkpoint,
    CheckpointNotFoundError,
    CheckpointStore,
    CorruptCheckpointError,
    Hdf5Store,
    MemoryStore,
    TorchStore,
)
from builders import small_cfg
from infra_helpers import (
    assert_checkpoints_identical,
    assert_trees_identical,
    drive,
    policy_trees,
    small_policy,
    state_trees,
)

STORES: dict[str, tuple[Callable[[], CheckpointStore], str]] = {
    "memory": (MemoryStore, ""),
    "torch": (TorchStore, ".pth"),
    "hdf5": (Hdf5Store, ".h5"),
}


class Backend:
    """A store and a way to name locations in it."""

    def __init__(self, kind: str, root: Path) -> None:
        factory, self.suffix = STORES[kind]
        self.store = factory()
        self.kind = kind
        self.root = root

    def location(self, name: str) -> str:
        if self.kind == "memory":
            return f"runs/{name}"
        return str(self.root / f"{name}{self.suffix}")


@pytest.fixture(params=sorted(STORES))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return Backend(request.param, tmp_path)


def realistic_checkpoint() -> Checkpoint:
    engine = ADREngine(small_cfg(), 24, seed=3)
    drive(engine, 12)
    env_state = {
        "adr": engine.state_dict(),
        "act_moving_average": 0.15,
        "task": {"goal": torch.randn(24, 7), "episode": [3, 4, None], "flags": (True, 2.5)},
    }
    return Checkpoint.create(small_policy(), env_state, experiment="contract")


def test_the_store_satisfies_the_protocol(backend: Backend) -> None:
    """Every backend is a CheckpointStore (save, load, exists)."""
    assert isinstance(backend.store, CheckpointStore)


def test_a_saved_checkpoint_loads_back_identical(backend: Backend) -> None:
    """Policy, env state (engine state included) and metadata survive save/load bit for bit."""
    original = realistic_checkpoint()
    backend.store.save(backend.location("a"), original)
    loaded = backend.store.load(backend.location("a"))
    assert_checkpoints_identical(original, loaded)
    assert loaded.content_digest() == original.content_digest()


def test_saving_again_replaces_the_previous_checkpoint(backend: Backend) -> None:
    """The second save at a location is what the next load returns."""
    first = Checkpoint.create({"epoch": 1}, {"x": torch.zeros(3)})
    second = Checkpoint.create({"epoch": 2}, {"x": torch.ones(5)})
    backend.store.save(backend.location("a"), first)
    backend.store.save(backend.location("a"), second)
    assert_checkpoints_identical(second, backend.store.load(backend.location("a")))


def test_exists_is_true_exactly_for_saved_locations(backend: Backend) -> None:
    """exists() is False before and True after a save, and location-specific."""
    assert not backend.store.exists(backend.location("a"))
    backend.store.save(backend.location("a"), Checkpoint.create({"epoch": 1}))
    assert backend.store.exists(backend.location("a"))
    assert not backend.store.exists(backend.location("b"))


def test_loading_a_missing_location_names_it(backend: Backend) -> None:
    """A missing checkpoint raises CheckpointNotFoundError whose message names the location."""
    location = backend.location("nothing-here")
    with pytest.raises(CheckpointNotFoundError) as info:
        backend.store.load(location)
    assert location in str(info.value)


@pytest.mark.parametrize("kind", ["torch", "hdf5"])
def test_a_directory_or_an_empty_file_is_refused_by_name(kind: str, tmp_path: Path) -> None:
    """File stores say what is at the path instead of handing it to the file reader."""
    backend = Backend(kind, tmp_path)
    folder = Path(backend.location("folder"))
    folder.mkdir()
    with pytest.raises(CheckpointNotFoundError, match="is a directory") as info:
        backend.store.load(str(folder))
    assert str(folder) in str(info.value)
    empty = Path(backend.location("empty"))
    empty.touch()
    with pytest.raises(CorruptCheckpointError, match="empty file") as info:
        backend.store.load(str(empty))
    assert str(empty) in str(info.value)


def test_changing_a_checkpoint_after_saving_does_not_change_what_was_saved(
    backend: Backend,
) -> None:
    """Saved content is a snapshot: later in-place edits of the tensors are not seen by load."""
    tensor = torch.zeros(4)
    checkpoint = Checkpoint.create({"epoch": 1}, {"x": tensor})
    backend.store.save(backend.location("a"), checkpoint)
    tensor.fill_(7.0)
    loaded = backend.store.load(backend.location("a"))
    assert loaded.env_state is not None
    assert torch.equal(loaded.env_state["x"], torch.zeros(4))
    loaded.env_state["x"].fill_(3.0)
    again = backend.store.load(backend.location("a"))
    assert again.env_state is not None and torch.equal(again.env_state["x"], torch.zeros(4))


def test_a_checkpoint_without_env_state_keeps_none(backend: Backend) -> None:
    """rl_games saves env_state None for envs without state; it comes back as None."""
    checkpoint = Checkpoint.create(small_policy(), None)
    backend.store.save(backend.location("a"), checkpoint)
    assert backend.store.load(backend.location("a")).env_state is None


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


@pytest.mark.parametrize("kind", sorted(STORES))
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(policy=policy_trees, env_state=st.one_of(st.none(), state_trees))
def test_any_state_tree_round_trips_through_every_store(
    kind: str, scratch: Path, policy: dict[str, Any], env_state: dict[Any, Any] | None
) -> None:
    """Random trees (nested dicts with str/int keys, tensors of many dtypes, inf/NaN, None,
    odd strings) load back identical from every store."""
    backend = Backend(kind, scratch)
    checkpoint = Checkpoint.create(policy, env_state)
    backend.store.save(backend.location("h"), checkpoint)
    loaded = backend.store.load(backend.location("h"))
    assert_checkpoints_identical(checkpoint, loaded)


class StoresAgree(RuleBasedStateMachine):
    """Random saves and loads applied to all stores at once agree with a plain dict model."""

    def __init__(self) -> None:
        super().__init__()
        self._dir = tempfile.TemporaryDirectory()
        root = Path(self._dir.name)
        self.backends = [Backend(kind, root) for kind in sorted(STORES)]
        self.model: dict[str, Checkpoint] = {}

    def teardown(self) -> None:
        self._dir.cleanup()

    @rule(name=st.sampled_from(["a", "b", "c"]), env_state=state_trees, epoch=st.integers(0, 9))
    def save(self, name: str, env_state: dict[Any, Any], epoch: int) -> None:
        checkpoint = Checkpoint.create({"epoch": epoch}, env_state)
        for backend in self.backends:
            backend.store.save(backend.location(name), checkpoint)
        self.model[name] = checkpoint

    @rule(name=st.sampled_from(["a", "b", "c"]))
    def load(self, name: str) -> None:
        for backend in self.backends:
            if name in self.model:
                loaded = backend.store.load(backend.location(name))
                assert_trees_identical(self.model[name].env_state, loaded.env_state)
                assert loaded.epoch == self.model[name].epoch
            else:
                with pytest.raises(CheckpointNotFoundError):
                    backend.store.load(backend.location(name))

    @invariant()
    def exists_matches_the_model(self) -> None:
        for backend in self.backends:
            for name in ("a", "b", "c"):
                assert backend.store.exists(backend.location(name)) == (name in self.model)


StoresAgree.TestCase.settings = settings(
    max_examples=12, stateful_step_count=8, deadline=None, suppress_health_check=list(HealthCheck)
)
test_all_stores_agree_under_random_saves_and_loads = StoresAgree.TestCase
