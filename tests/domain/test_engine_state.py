"""Engine state dicts: complete, safe to load, and strict about what they accept."""

from __future__ import annotations

import io
import random
from typing import Any

import pytest
import torch

from adr_domain import (
    ADREngine,
    IncompatibleStateError,
    SchemaVersionError,
    StateError,
    WorkerType,
    adopt_shared_state,
    split_engine_state,
)
from builders import dextreme_adr_cfg, small_cfg

N = 32


def trained(cfg: dict[str, Any] | None = None, updates: int = 40, seed: int = 0) -> ADREngine:
    """An engine whose ranges moved and whose queues are partly full."""
    engine = ADREngine(cfg or small_cfg(), N, seed=seed)
    rng = random.Random(seed)
    for _ in range(updates):
        done = rng.sample(range(N), rng.randrange(1, N))
        objective = torch.tensor([float(rng.choice([1, 25, 25, 12])) for _ in range(N)])
        engine.update(torch.tensor(done), objective)
    return engine


def continue_run(engine: ADREngine, seed: int, updates: int = 15) -> list[torch.Tensor]:
    """Drive an engine further and collect everything observable."""
    rng = random.Random(seed)
    seen = []
    for _ in range(updates):
        done = rng.sample(range(N), rng.randrange(1, N))
        objective = torch.tensor([float(rng.choice([1, 25, 25, 12])) for _ in range(N)])
        report = engine.update(torch.tensor(done), objective)
        seen += [report.bounds, report.queue_lengths, engine.worker_types.clone()]
        seen += [engine.adr_modes.clone(), *[v.clone() for v in engine.tensor_values().values()]]
    return seen


def roundtrip(state: Any) -> Any:
    """Through a real torch.save / torch.load(weights_only=True)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def assert_states_equal(a: Any, b: Any, path: str = "") -> None:
    assert type(a) is type(b), path
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_states_equal(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_states_equal(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


def test_a_loaded_state_continues_exactly_like_the_original() -> None:
    """state_dict -> weights_only load -> fresh engine: every later update is identical."""
    original = trained()
    assert original.bounds.ne(original.params.init).any(), "scenario should move some bounds"
    restored = ADREngine(small_cfg(), N, seed=999)
    restored.load_state_dict(roundtrip(original.state_dict()))
    assert_states_equal(dict(original.state_dict()), dict(restored.state_dict()))
    for a, b in zip(continue_run(original, 7), continue_run(restored, 7), strict=True):
        assert torch.equal(a, b)


def test_the_state_holds_only_cpu_tensors_and_primitives() -> None:
    """Everything is a CPU tensor, int, float, bool, str, list or dict."""

    def walk(value: Any) -> None:
        if isinstance(value, torch.Tensor):
            assert value.device.type == "cpu"
        elif isinstance(value, dict):
            assert all(isinstance(k, str) for k in value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        else:
            assert isinstance(value, (int, float, bool, str)), type(value)

    walk(dict(trained().state_dict()))


def test_the_state_is_a_copy_not_a_view_of_the_engine() -> None:
    """Updating the engine after state_dict() does not change the saved state."""
    engine = trained()
    state = engine.state_dict()
    bounds = state["bounds"].clone()
    continue_run(engine, 1)
    assert torch.equal(state["bounds"], bounds)


def test_live_views_stay_live_after_a_load() -> None:
    """worker_types and tensor values are restored in place, not replaced."""
    engine = ADREngine(small_cfg(), N)
    types_view, mass_view = engine.worker_types, engine.get("mass")
    engine.load_state_dict(trained().state_dict(), restore_ranges=True)
    assert types_view.data_ptr() == engine.worker_types.data_ptr()
    assert torch.equal(mass_view, engine.get("mass"))


def test_without_restoring_ranges_everything_but_ranges_and_queues_comes_back() -> None:
    """adr_load_from_checkpoint false: fresh ranges, next limits and queues; the rest restored."""
    source = trained()
    state = source.state_dict()
    engine = ADREngine(small_cfg(adr_load_from_checkpoint=False), N, seed=5)
    engine.load_state_dict(state)
    assert torch.equal(engine.bounds, engine.params.init)
    assert engine.queue_lengths.sum().item() == 0
    # Boundary workers' bounds are gone with the old ranges: they play on as rollout workers.
    boundary = state["worker_types"] == int(WorkerType.BOUNDARY)
    assert boundary.any(), "scenario should have boundary workers"
    assert torch.equal(engine.worker_types, state["worker_types"].masked_fill(boundary, 0))
    assert torch.equal(engine.get("mass"), state["tensor_values"]["mass"])
    assert engine.step == state["step"]
    fresh_next = ADREngine(small_cfg(), N).next_limits
    assert torch.equal(engine.next_limits, fresh_next)


def test_a_state_from_another_parameter_set_is_refused_with_the_differences() -> None:
    """Added, removed and retyped parameters are each listed."""
    state = trained().state_dict()
    cfg = small_cfg()
    del cfg["params"]["gain"]
    cfg["params"]["damping"] = {"init_range": [0.1, 0.2], "delta": 0.01}
    cfg["params"]["friction"] = {"init_range": [0.5, 0.5], "delta": 0.05}  # range_path dropped
    engine = ADREngine(cfg, N)
    with pytest.raises(IncompatibleStateError) as info:
        engine.load_state_dict(state)
    message = str(info.value)
    assert "only in the checkpoint: gain" in message
    assert "only in the config: damping" in message
    assert "friction: kind range_path in the checkpoint, tensor in the config" in message


def test_the_same_parameters_in_another_order_are_refused() -> None:
    """Modes encode parameter positions, so order is part of the parameter set."""
    state = trained().state_dict()
    cfg = small_cfg()
    cfg["params"] = dict(reversed(list(cfg["params"].items())))
    with pytest.raises(IncompatibleStateError, match="same parameters in another order"):
        ADREngine(cfg, N).load_state_dict(state)


def test_a_state_for_another_number_of_envs_is_refused() -> None:
    """Per-env state cannot be loaded into a different number of envs."""
    with pytest.raises(IncompatibleStateError, match="holds 32 envs, this engine has 64"):
        ADREngine(small_cfg(), 64).load_state_dict(trained().state_dict())


@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_an_unknown_schema_version_is_refused(version: Any) -> None:
    """Newer, older-without-migration or malformed versions are a SchemaVersionError."""
    state = dict(trained().state_dict())
    state["schema_version"] = version
    with pytest.raises(SchemaVersionError, match="schema_version"):
        ADREngine(small_cfg(), N).load_state_dict(state)


def _corrupt(key: str, value: Any) -> dict[str, Any]:
    state: dict[str, Any] = dict(trained().state_dict())
    state[key] = value
    return state


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (_corrupt("bounds", torch.zeros(3, 2, dtype=torch.float64)), "'bounds' has shape"),
        (_corrupt("bounds", torch.zeros(4, 2, dtype=torch.float32)), "'bounds' has dtype"),
        (_corrupt("bounds", torch.full((4, 2), float("nan"), dtype=torch.float64)), "finite"),
        (_corrupt("queue_lengths", torch.full((8,), 9)), "queue_lengths must lie in"),
        (_corrupt("worker_types", torch.full((N,), 7)), "worker_types must be in"),
        (_corrupt("adr_modes", torch.full((N,), 8)), "adr_modes must lie in"),
        (_corrupt("step", 1.5), "'step' must be an int"),
        (_corrupt("rollout_perf", float("nan")), "'rollout_perf' must be a finite number"),
        (_corrupt("rng", {"assign": torch.zeros(3, dtype=torch.uint8)}), "'rng' must hold"),
        (
            _corrupt(
                "rng",
                {
                    name: torch.zeros(3, dtype=torch.uint8)
                    for name in ("decide", "assign", "sample")
                },
            ),
            "rng '[a-z]+' is not a generator state",
        ),
        (
            _corrupt("rng", {name: torch.zeros(3) for name in ("decide", "assign", "sample")}),
            "rng '[a-z]+' must be a uint8 tensor",
        ),
        (_corrupt("tensor_values", {"mass": torch.zeros(N)}), "'tensor_values' has parameters"),
        (_corrupt("param_set_hash", "0" * 64), "param_set_hash does not match"),
        (_corrupt("param_names", "mass"), "'param_names' must be a list of strings"),
        (_corrupt("queue_values", [1.0]), "'queue_values' must be a tensor"),
    ],
)
def test_a_malformed_state_is_refused_and_the_engine_is_untouched(
    state: dict[str, Any], message: str
) -> None:
    """StateError names the bad entry; nothing was half-applied."""
    engine = trained(seed=4)
    before = engine.state_dict()
    with pytest.raises(StateError, match=message):
        engine.load_state_dict(state)
    assert_states_equal(dict(before), dict(engine.state_dict()))


def test_ranges_that_do_not_fit_the_current_config_are_refused_with_a_hint() -> None:
    """Narrowed limits below a restored range name the parameter and the way out."""
    cfg = small_cfg()
    state = trained(cfg).state_dict()
    lo, hi = state["bounds"][0].tolist()
    narrowed = small_cfg()
    narrowed["params"]["mass"]["limits"] = [0.75, 1.25]
    assert lo < 0.75 or hi > 1.25, "scenario should have widened mass"
    with pytest.raises(StateError) as info:
        ADREngine(narrowed, N).load_state_dict(state)
    assert "adr_load_from_checkpoint: false" in str(info.value)
    assert "mass: range" in str(info.value)
    assert "limits [0.75, 1.25]" in str(info.value)


def test_a_shorter_queue_length_keeps_each_queues_newest_results() -> None:
    """Loading into adr_queue_threshold_length 2 keeps the last two results of each queue."""
    engine = ADREngine(small_cfg(adr_queue_threshold_length=8), N)
    engine.worker_types.fill_(int(WorkerType.BOUNDARY))
    engine.adr_modes.fill_(3)  # gain / upper
    objective = torch.arange(N, dtype=torch.float32)
    engine.update(torch.tensor([4, 9, 13]), objective)
    shorter = ADREngine(small_cfg(adr_queue_threshold_length=2), N)
    shorter.load_state_dict(engine.state_dict(), restore_ranges=True)
    assert shorter.queue_contents(1, 1).tolist() == [9.0, 13.0]
    longer = ADREngine(small_cfg(adr_queue_threshold_length=16), N)
    longer.load_state_dict(engine.state_dict(), restore_ranges=True)
    assert longer.queue_contents(1, 1).tolist() == [4.0, 9.0, 13.0]


def test_the_dextreme_engine_state_round_trips() -> None:
    """All 27 DeXtreme parameters, 14 of them tensor parameters, survive a round trip."""
    engine = ADREngine(dextreme_adr_cfg(), 64, seed=2)
    engine.update(torch.arange(64), torch.full((64,), 25.0))
    state = roundtrip(engine.state_dict())
    assert len(state["tensor_values"]) == 14
    restored = ADREngine({**dextreme_adr_cfg(), "adr_load_from_checkpoint": True}, 64)
    restored.load_state_dict(state)
    assert_states_equal(dict(engine.state_dict()), dict(restored.state_dict()))


def test_adopting_a_shared_state_keeps_the_own_envs_whole_state_or_per_rank_part() -> None:
    """The source's curriculum (ranges, queues, decision stream) with the own engine's envs,
    workers and their streams; a whole own state and its per-rank part give the same state."""
    source, own = trained(seed=1).state_dict(), trained(updates=5, seed=2).state_dict()
    adopted = adopt_shared_state(own, source)
    assert adopted == adopt_shared_state(split_engine_state(own)[1], source)
    for key in ("bounds", "queue_values", "queue_lengths", "step"):
        assert torch.equal(torch.as_tensor(adopted[key]), torch.as_tensor(source[key]))
    assert torch.equal(adopted["rng"]["decide"], source["rng"]["decide"])
    assert torch.equal(adopted["worker_types"], own["worker_types"])
    assert torch.equal(adopted["rng"]["assign"], own["rng"]["assign"])
    engine = ADREngine(small_cfg(), N)
    engine.load_shared_state(source)
    assert engine.state_dict().keys() == adopted.keys()
    with pytest.raises(StateError, match="own part"):
        adopt_shared_state({"num_envs": N}, source)
