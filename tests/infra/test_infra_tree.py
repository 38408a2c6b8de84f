"""State trees: what a checkpoint may hold, and the content checksum over it."""

from __future__ import annotations

import collections
import math
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given

from adr_infra import TreeError, normalize_tree, tensor_nbytes, tree_digest
from infra_helpers import assert_trees_identical, state_trees


def test_normalizing_turns_numpy_scalars_into_python_numbers_of_the_same_value() -> None:
    """rl_games' numpy.float32 reward and numpy ints/bools become float/int/bool."""
    tree = normalize_tree({"r": np.float32(17.25), "i": np.int64(-3), "b": np.bool_(True)})
    assert tree == {"r": 17.25, "i": -3, "b": True}
    assert [type(v) for v in tree.values()] == [float, int, bool]


def test_normalizing_turns_ordered_dicts_parameters_and_numpy_arrays_into_plain_values() -> None:
    """OrderedDict -> dict, nn.Parameter -> detached Tensor, ndarray -> Tensor (same bytes)."""
    param = torch.nn.Parameter(torch.arange(3.0))
    arr = np.arange(4, dtype=np.int16).reshape(2, 2)
    tree = normalize_tree(collections.OrderedDict(p=param, a=arr, s=torch.Size([2, 3])))
    assert type(tree) is dict
    assert type(tree["p"]) is torch.Tensor and not tree["p"].requires_grad
    assert tree["a"].dtype == torch.int16 and tree["a"].tolist() == arr.tolist()
    assert tree["s"] == (2, 3) and type(tree["s"]) is tuple


@pytest.mark.parametrize(
    ("value", "where", "problem"),
    [
        ({"a": {"b": {1, 2}}}, "a.b", "builtins.set"),
        ({"a": [0, object()]}, "a[1]", "builtins.object"),
        ({"a": {True: 1}}, "a", "key True"),
        ({"a": {(1, 2): 1}}, "a", "key (1, 2)"),
        ({"big": 2**64}, "big", "64-bit"),
        ({"s": "\ud800"}, "s", "UTF-8"),
        ({"sp": torch.eye(2).to_sparse()}, "sp", "sparse"),
        ({"o": np.array([object()])}, "o", "objects"),
    ],
)
def test_values_that_cannot_be_stored_are_rejected_naming_where_they_sit(
    value: Any, where: str, problem: str
) -> None:
    """The error names the path inside the tree and what is wrong."""
    with pytest.raises(TreeError) as info:
        normalize_tree(value)
    assert where in str(info.value) and problem in str(info.value)


def test_the_digest_does_not_depend_on_dict_order() -> None:
    """Two dicts with the same items in another order hash the same."""
    a = {"x": torch.ones(2), "y": {1: "a", "k": [1, 2.5]}}
    b = {"y": {"k": [1, 2.5], 1: "a"}, "x": torch.ones(2)}
    assert tree_digest(a) == tree_digest(b)


@pytest.mark.parametrize(
    "changed",
    [
        {"t": torch.tensor([1.0, 2.0, 3.5]), "n": 1, "s": "a", "l": [1, 2]},
        {"t": torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), "n": 1, "s": "a", "l": [1, 2]},
        {"t": torch.tensor([[1.0, 2.0, 3.0]]), "n": 1, "s": "a", "l": [1, 2]},
        {"t": torch.tensor([1.0, 2.0, 3.0]), "n": 1.0, "s": "a", "l": [1, 2]},
        {"t": torch.tensor([1.0, 2.0, 3.0]), "n": True, "s": "a", "l": [1, 2]},
        {"t": torch.tensor([1.0, 2.0, 3.0]), "n": 1, "s": "b", "l": [1, 2]},
        {"t": torch.tensor([1.0, 2.0, 3.0]), "n": 1, "s": "a", "l": (1, 2)},
        {"t": torch.tensor([1.0, 2.0, 3.0]), "n": 1, "s": "a", "l": [2, 1]},
        {"t": torch.tensor([1.0, 2.0, 3.0]), "n": 1, "S": "a", "l": [1, 2]},
        {"t": torch.tensor([1.0, 2.0, 3.0]), "n": 1, "s": "a", "l": [1, 2], "x": None},
    ],
)
def test_the_digest_changes_with_any_value_type_dtype_shape_or_key(changed: dict[str, Any]) -> None:
    """Each variation of one field gives another digest."""
    base = {"t": torch.tensor([1.0, 2.0, 3.0]), "n": 1, "s": "a", "l": [1, 2]}
    assert tree_digest(changed) != tree_digest(base)


def test_the_digest_sees_a_single_flipped_bit_in_a_tensor() -> None:
    """Flipping one bit of a large tensor changes the digest."""
    t = torch.arange(100_000, dtype=torch.float32)
    before = tree_digest({"t": t})
    t.view(torch.int32)[54_321] ^= 1 << 7
    assert tree_digest({"t": t}) != before


def test_the_digest_tells_negative_zero_and_nan_payloads_apart() -> None:
    """Floats are hashed by their bits, not by ==."""
    assert tree_digest({"x": 0.0}) != tree_digest({"x": -0.0})
    quiet = float("nan")
    other = np.frombuffer(np.array([0x7FF8000000000001], dtype=np.uint64).tobytes())[0]
    assert math.isnan(other)
    assert tree_digest({"x": quiet}) != tree_digest({"x": float(other)})


def test_tensor_nbytes_counts_every_tensor_once_per_occurrence() -> None:
    """Raw bytes are numel times element size, summed over the tree."""
    tree = {"a": torch.zeros(10, dtype=torch.float64), "b": [torch.zeros(3, dtype=torch.int8)]}
    assert tensor_nbytes(tree) == 10 * 8 + 3


@given(state_trees)
def test_normalizing_a_normalized_tree_changes_nothing(tree: dict[Any, Any]) -> None:
    """normalize_tree is idempotent on its own output (same content, same digest)."""
    once = normalize_tree(tree)
    twice = normalize_tree(once)
    assert_trees_identical(once, twice)
    assert tree_digest(once) == tree_digest(twice)
