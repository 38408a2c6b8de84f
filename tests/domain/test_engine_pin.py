"""Pinning per-env values: what an evaluation writes, the task reads until a resample."""

from __future__ import annotations

import pytest
import torch

from adr_domain import ADREngine
from builders import small_cfg

N = 6


def frozen_engine() -> ADREngine:
    return ADREngine(small_cfg(update_adr_ranges=False), N, seed=1)


def test_pinned_values_are_what_get_returns_for_those_envs() -> None:
    """pin writes each env's value; get reads them back; other envs keep theirs."""
    engine = frozen_engine()
    before = engine.get("mass").clone()
    engine.pin("mass", torch.tensor([2.5, 0.3]), [1, 4])
    after = engine.get("mass")
    assert after[1].item() == pytest.approx(2.5)
    assert after[4].item() == pytest.approx(0.3)
    keep = [0, 2, 3, 5]
    assert torch.equal(after[keep], before[keep])


def test_pinned_values_hold_until_the_env_finishes_and_is_resampled() -> None:
    """A frozen update resamples only the envs that finished."""
    engine = frozen_engine()
    pins = torch.arange(N, dtype=torch.float64) + 10.0
    engine.pin("mass", pins)
    engine.update(torch.tensor([0]), torch.zeros(N))
    values = engine.get("mass")
    assert torch.equal(values[1:], pins[1:].float())
    assert values[0].item() != 10.0


def test_categorical_pins_must_be_integers_and_are_stored_as_such() -> None:
    """A categorical parameter takes integral values only."""
    engine = frozen_engine()
    engine.pin("latency", torch.full((N,), 3.0))
    assert engine.get("latency").tolist() == [3] * N
    with pytest.raises(ValueError, match="categorical"):
        engine.pin("latency", torch.full((N,), 2.5))


@pytest.mark.parametrize(
    ("name", "values", "message"),
    [
        ("mass", torch.zeros(N - 1), "shape"),
        ("mass", torch.full((N,), float("nan")), "finite"),
        ("nope", torch.zeros(N), "nope"),
        ("friction", torch.zeros(N), "range_path"),
    ],
)
def test_bad_pins_are_rejected_and_change_nothing(
    name: str, values: torch.Tensor, message: str
) -> None:
    """Wrong shapes, non-finite values and unknown or simulator-applied parameters raise."""
    engine = frozen_engine()
    before = engine.get("mass").clone()
    with pytest.raises(ValueError, match=message):
        engine.pin(name, values)
    assert torch.equal(engine.get("mass"), before)
