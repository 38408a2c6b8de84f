"""A Hypothesis state machine drives the engine with random operations and checks its invariants."""

from __future__ import annotations

import io
from typing import Any

import torch
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from adr_domain import ADREngine, ParamType, WorkerType
from builders import small_cfg

N = 12
PARAMS = list(small_cfg()["params"])
TENSOR_PARAMS = [p for p in PARAMS if "range_path" not in small_cfg()["params"][p]]

env_subsets = st.lists(st.integers(0, N - 1), unique=True, max_size=N)
objectives = st.lists(
    st.one_of(st.integers(0, 30).map(float), st.floats(0, 30, allow_nan=False)),
    min_size=N,
    max_size=N,
)


def states_equal(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(states_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(states_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


class EngineMachine(RuleBasedStateMachine):
    """Random updates, recycles, samples, forced workers and save/load round trips.

    A shadow engine gets the same operations but is never saved and reloaded:
    after every step both must hold the identical state (round trips are identity).
    """

    engine: ADREngine
    shadow: ADREngine

    @initialize(
        policy=st.sampled_from(["sliding", "clear_on_decision"]),
        clear_other=st.booleans(),
        extended=st.booleans(),
        length=st.integers(1, 5),
        fraction=st.sampled_from([0.0, 0.3, 0.8, 1.0]),
    )
    def build(
        self, policy: str, clear_other: bool, extended: bool, length: int, fraction: float
    ) -> None:
        self.cfg = small_cfg(
            queue_policy=policy,
            clear_other_queues=clear_other,
            adr_extended_boundary_sample=extended,
            adr_queue_threshold_length=length,
            worker_adr_boundary_fraction=fraction,
            adr_load_from_checkpoint=True,
        )
        self.engine = ADREngine(self.cfg, N, seed=11)
        self.shadow = ADREngine(self.cfg, N, seed=11)
        self.fresh: dict[str, list[int]] = {p: list(range(N)) for p in TENSOR_PARAMS}

    def both(self, op: Any) -> Any:
        op(self.shadow)
        return op(self.engine)

    @rule(done=env_subsets, values=objectives)
    def update(self, done: list[int], values: list[float]) -> None:
        objective = torch.tensor(values)
        self.both(lambda e: e.update(torch.tensor(done, dtype=torch.long), objective))
        self.fresh = {p: list(done) for p in TENSOR_PARAMS}

    @rule(envs=env_subsets)
    def recycle(self, envs: list[int]) -> None:
        self.both(lambda e: e.recycle(envs))
        # Values were drawn for the old assignment: nothing is "fresh" any more.
        self.fresh = {p: [] for p in TENSOR_PARAMS}

    @rule(param=st.sampled_from(TENSOR_PARAMS), envs=env_subsets)
    def sample(self, param: str, envs: list[int]) -> None:
        values = self.both(lambda e: e.sample(param, envs))
        assert values.shape == (len(envs),)
        self.fresh[param] = sorted(set(self.fresh[param]) | set(envs))

    @rule(
        envs=env_subsets,
        kind=st.sampled_from([int(t) for t in WorkerType]),
        mode=st.integers(0, 2 * len(PARAMS) - 1),
    )
    def force_workers(self, envs: list[int], kind: int, mode: int) -> None:
        def force(e: ADREngine) -> None:
            e.worker_types[envs] = kind
            e.adr_modes[envs] = mode

        self.both(force)
        self.fresh = {p: [] for p in TENSOR_PARAMS}

    @rule(seed=st.integers(0, 100))
    def save_and_load_into_a_fresh_engine(self, seed: int) -> None:
        buffer = io.BytesIO()
        torch.save(self.engine.state_dict(), buffer)
        buffer.seek(0)
        restored = ADREngine(self.cfg, N, seed=seed)
        restored.load_state_dict(torch.load(buffer, weights_only=True))
        self.engine = restored

    @invariant()
    def ranges_stay_between_init_range_and_limits(self) -> None:
        if not hasattr(self, "engine"):
            return
        lo, hi = self.engine.bounds[:, 0], self.engine.bounds[:, 1]
        init, limits = self.engine.params.init, self.engine.params.limits
        assert (limits[:, 0] <= lo).all() and (lo <= init[:, 0]).all()
        assert (init[:, 1] <= hi).all() and (hi <= limits[:, 1]).all()
        nxt = self.engine.next_limits
        assert (limits[:, 0] <= nxt[:, 0]).all() and (nxt[:, 0] <= lo).all()
        assert (hi <= nxt[:, 1]).all() and (nxt[:, 1] <= limits[:, 1]).all()

    @invariant()
    def queues_hold_at_most_the_threshold_length(self) -> None:
        if not hasattr(self, "engine"):
            return
        lengths = self.engine.queue_lengths
        assert ((lengths >= 0) & (lengths <= self.engine.queue_length)).all()

    @invariant()
    def workers_and_metrics_are_valid(self) -> None:
        if not hasattr(self, "engine"):
            return
        assert set(self.engine.worker_types.tolist()) <= {int(t) for t in WorkerType}
        assert ((self.engine.adr_modes >= 0) & (self.engine.adr_modes < 2 * len(PARAMS))).all()
        assert torch.isfinite(self.engine.rollout_perf)
        assert torch.isfinite(self.engine.npd())

    @invariant()
    def fresh_values_lie_in_the_range_or_on_their_pinned_bound(self) -> None:
        if not hasattr(self, "engine"):
            return
        e = self.engine
        pins = e.next_limits if e.cfg.adr_extended_boundary_sample else e.bounds
        for name in TENSOR_PARAMS:
            n = e.params.index(name)
            lo, hi = e.bounds[n].tolist()
            for env in self.fresh[name]:
                value = e.get(name)[env].item()
                kind, mode = e.worker_types[env].item(), e.adr_modes[env].item()
                if kind == int(WorkerType.BOUNDARY) and mode // 2 == n:
                    expected = pins[n, mode % 2].item()
                    if e.params.types[n] is ParamType.UNIFORM:
                        expected = torch.tensor(expected, dtype=torch.float32).item()
                    assert value == expected, (name, env)
                elif e.params.types[n] is ParamType.CATEGORICAL:
                    assert lo <= value <= hi and float(value).is_integer(), (name, env)
                else:
                    f32 = torch.tensor([lo, hi], dtype=torch.float32).tolist()
                    assert f32[0] <= value <= f32[1], (name, env, value, lo, hi)

    @precondition(lambda self: hasattr(self, "engine"))
    @invariant()
    def a_round_trip_changes_nothing(self) -> None:
        assert states_equal(dict(self.engine.state_dict()), dict(self.shadow.state_dict()))


TestEngineMachine = EngineMachine.TestCase
