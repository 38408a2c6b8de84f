"""Test-set cells and evaluation statistics: pure builders, checks and draws."""

from __future__ import annotations

import math

import pytest
import torch

from adr_domain import ADRConfig
from adr_domain.eval_cells import (
    Cell,
    check_cells,
    draw_env_values,
    grid_cells,
    init_ranges,
    limit_ranges,
    linspace,
    range_cell,
    scaled_ranges,
    sweep_cells,
)
from adr_domain.eval_stats import estimate, paired_difference, t_quantile_975
from builders import small_cfg


def cfg() -> ADRConfig:
    c = small_cfg()
    del c["params"]["friction"]
    return ADRConfig.from_mapping(c)


def test_a_sweep_pins_its_parameter_at_each_point_and_keeps_the_others() -> None:
    """Each sweep cell pins the swept parameter to one point, the rest from `others`."""
    others = range_cell("init", init_ranges(cfg()))
    cells = sweep_cells("mass", linspace(0.2, 2.2, 3), others)
    assert [c.ranges["mass"] for c in cells] == [(0.2, 0.2), (1.2, 1.2), (2.2, 2.2)]
    assert all(c.ranges["gain"] == (1.0, 2.0) for c in cells)
    assert [c.coords for c in cells] == [{"mass": 0.2}, {"mass": 1.2}, {"mass": 2.2}]


def test_a_grid_has_every_pair_of_points() -> None:
    """A 2x3 grid has 6 cells with both coordinates pinned."""
    others = range_cell("init", init_ranges(cfg()))
    cells = grid_cells(("mass", [1.0, 2.0]), ("latency", [0.0, 1.0, 2.0]), others)
    pairs = {(c.ranges["mass"][0], c.ranges["latency"][0]) for c in cells}
    assert len(cells) == 6 and len(pairs) == 6


def test_scaled_ranges_widen_about_the_centre_and_stop_at_the_limits() -> None:
    """Factor 3 triples each width about the centre; limits clip; categorical rounds out."""
    c = cfg()
    scaled = scaled_ranges({"mass": (0.8, 1.2), "gain": (1.0, 2.0), "latency": (0, 1)}, 3.0, c)
    assert scaled["mass"] == pytest.approx((0.4, 1.6))
    assert scaled["gain"] == pytest.approx((0.25, 3.0))  # 1.5 +- 1.5, clipped at 0.25
    assert scaled["latency"] == (0.0, 2.0)  # -1..2 clipped at 0, integers


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (Cell("s", "x", {"nope": (1, 1)}, rest_own=True), "unknown parameter 'nope'"),
        (Cell("s", "x", {"mass": (9.0, 9.0)}, rest_own=True), "outside its limits"),
        (Cell("s", "x", {"latency": (1.5, 1.5)}, rest_own=True), "integer"),
        (Cell("s", "x", {"mass": (1.0, 1.0)}), "sets no range for gain"),
    ],
)
def test_bad_cells_are_named_in_one_line(cell: Cell, message: str) -> None:
    """Unknown parameters, points outside limits, non-integer categories, unset parameters."""
    with pytest.raises(ValueError, match=message) as info:
        check_cells([cell], cfg())
    assert "\n" not in str(info.value)


def test_an_empty_test_set_is_refused() -> None:
    """No cells: an error."""
    with pytest.raises(ValueError, match="no cells"):
        check_cells([], cfg())


def test_unbounded_limits_make_no_range_set() -> None:
    """`limits` needs finite limits on both sides."""
    c = small_cfg()
    c["params"]["mass"]["limits"] = [0.1, None]
    with pytest.raises(ValueError, match="mass is unbounded"):
        limit_ranges(ADRConfig.from_mapping(c))


def test_env_values_lie_in_their_cells_ranges_and_pins_are_exact() -> None:
    """Env i of cell i // E draws in that cell's ranges; categorical values are integers."""
    c = cfg()
    cells = [
        {"mass": (0.5, 0.5), "gain": (1.0, 4.0), "latency": (0.0, 6.0)},
        {"mass": (2.0, 3.0), "gain": (2.0, 2.0), "latency": (3.0, 3.0)},
    ]
    values = draw_env_values(cells, 50, c, torch.Generator().manual_seed(0))
    assert torch.all(values["mass"][:50] == 0.5)
    assert torch.all((values["mass"][50:] >= 2.0) & (values["mass"][50:] <= 3.0))
    assert torch.all(values["gain"][50:] == 2.0)
    latency = values["latency"][:50]
    assert torch.equal(latency, latency.round()) and set(latency.tolist()) <= set(range(7))
    assert len(set(latency.tolist())) > 3


def test_the_same_generator_state_gives_the_same_quantiles_whatever_the_ranges() -> None:
    """Common random numbers: two range sets map the same uniforms."""
    c = cfg()
    a = {"mass": (0.0, 1.0), "gain": (1.0, 1.0), "latency": (0.0, 0.0)}
    b = {"mass": (1.0, 3.0), "gain": (1.0, 1.0), "latency": (0.0, 0.0)}
    va = draw_env_values([a], 20, c, torch.Generator().manual_seed(5))["mass"]
    vb = draw_env_values([b], 20, c, torch.Generator().manual_seed(5))["mass"]
    assert torch.allclose(vb, 1.0 + 2.0 * va)


def test_t_quantiles_agree_with_scipy() -> None:
    """The 97.5% t quantile matches scipy's to 1e-3 for every dof from 1 to 200."""
    stats = pytest.importorskip("scipy.stats")
    for dof in range(1, 201):
        assert t_quantile_975(dof) == pytest.approx(stats.t.ppf(0.975, dof), abs=1e-3)


def test_an_estimate_has_the_sample_mean_and_a_t_interval() -> None:
    """Mean and half-width t * s / sqrt(n)."""
    x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    e = estimate(x)
    assert e.mean == 2.5 and e.n == 4
    assert e.half_width == pytest.approx(t_quantile_975(3) * float(x.std()) / 2.0)
    assert math.isnan(estimate(torch.tensor([1.0])).half_width)


def test_paired_differences_cancel_the_noise_both_samples_share() -> None:
    """Two samples with shared noise and a constant gap: the paired interval is tight."""
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(200, generator=g, dtype=torch.float64) * 5.0
    a, b = noise + 1.0, noise
    paired = paired_difference(a, b)
    assert paired.mean == pytest.approx(1.0)
    assert paired.half_width < 1e-9 < estimate(a).half_width
