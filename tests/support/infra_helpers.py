"""Builders and exact comparisons shared by the ``test_infra_*`` tests and their workers."""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from adr_domain import ADREngine

STORE_SUFFIXES = (".pth", ".h5")


def drive(engine: ADREngine, updates: int) -> None:
    """Run ``updates`` engine updates whose inputs depend only on the engine's step counter.

    About half of the finished envs score well above the high threshold and a
    quarter far below the low one, so bounds move both ways.
    """
    n = engine.num_envs
    choices = torch.tensor([1.0, 25.0, 25.0, 12.0])
    for _ in range(updates):
        gen = torch.Generator().manual_seed(10_000 + engine.step)
        k = int(torch.randint(1, n + 1, (1,), generator=gen))
        done = torch.randperm(n, generator=gen)[:k]
        objective = choices[torch.randint(0, 4, (n,), generator=gen)]
        engine.update(done, objective)


def small_policy(seed: int = 0) -> dict[str, Any]:
    """An rl_games-style policy part: model and Adam state after one step, counters, reward."""
    gen = torch.Generator().manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ELU(), torch.nn.Linear(8, 2))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
    model(torch.randn(4, 6, generator=gen)).square().sum().backward()
    optimizer.step()
    return {
        "model": model.state_dict(),
        "epoch": 12,
        "frame": 98_304,
        "optimizer": optimizer.state_dict(),
        "last_mean_rewards": np.float32(17.25),
    }


def float_bits(x: float) -> bytes:
    """The IEEE-754 bytes of a float (NaN payloads and -0.0 included)."""
    return struct.pack("<d", x)


def assert_trees_identical(a: Any, b: Any, where: str = "tree") -> None:
    """Same types, keys, order-insensitive dicts, tensor dtypes/shapes/bytes and float bits."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype, f"{where}: dtype {a.dtype} vs {b.dtype}"
        assert a.shape == b.shape, f"{where}: shape {tuple(a.shape)} vs {tuple(b.shape)}"
        ab = a.contiguous().reshape(-1).view(torch.uint8)
        bb = b.contiguous().reshape(-1).view(torch.uint8)
        assert torch.equal(ab, bb), f"{where}: tensor bytes differ"
    elif isinstance(a, dict):
        assert set(a) == set(b), f"{where}: keys {sorted(map(repr, a))} vs {sorted(map(repr, b))}"
        for key in a:
            assert_trees_identical(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_trees_identical(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert float_bits(a) == float_bits(b), f"{where}: {a!r} vs {b!r}"
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


def assert_checkpoints_identical(a: Any, b: Any) -> None:
    """Policy, env state and metadata of two checkpoints are identical."""
    assert_trees_identical(a.policy, b.policy, "policy")
    assert_trees_identical(a.env_state, b.env_state, "env_state")
    assert a.meta == b.meta


# ---------------------------------------------------------------- hypothesis

_DTYPES = [
    torch.float32,
    torch.float64,
    torch.float16,
    torch.bfloat16,
    torch.int64,
    torch.int32,
    torch.int16,
    torch.int8,
    torch.uint8,
    torch.bool,
    torch.complex64,
]


@st.composite
def tensors(draw: st.DrawFn) -> torch.Tensor:
    """Tensors of many dtypes and shapes (0-d and empty included), arbitrary bit patterns."""
    dtype = draw(st.sampled_from(_DTYPES))
    shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    numel = math.prod(shape)
    itemsize = torch.empty((), dtype=dtype).element_size()
    raw = draw(st.binary(min_size=numel * itemsize, max_size=numel * itemsize))
    data = torch.tensor(list(raw), dtype=torch.uint8)
    if dtype is torch.bool:
        return (data % 2 == 1).reshape(shape)
    return data.view(dtype).reshape(shape).clone()


_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_keys = st.one_of(
    _text,
    st.sampled_from(["", ".", "..", "/", "a/b", "%", "%i3", "%2E", ".hidden", "0"]),
    st.integers(-(2**63), 2**63 - 1),
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    _text,
    tensors(),
)
state_values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(_keys, children, max_size=4),
    ),
    max_leaves=12,
)
state_trees = st.dictionaries(_keys, state_values, max_size=5)
"""Env-state-like trees: nested dicts (str and int keys), lists, tuples, tensors, primitives."""
policy_trees = st.dictionaries(
    _text.filter(lambda k: k not in ("env_state", "adr_kit")), state_values, max_size=4
)
