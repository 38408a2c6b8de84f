"""Each ADR rule of the engine, in isolation, on small hand-made scenarios."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from adr_domain import ADREngine, WorkerType
from builders import small_cfg

BOUNDARY, ROLLOUT = int(WorkerType.BOUNDARY), int(WorkerType.ROLLOUT)
MASS, GAIN, LATENCY, FRICTION = 0, 1, 2, 3


def engine_with(num_envs: int = 16, **overrides: Any) -> ADREngine:
    return ADREngine(small_cfg(**overrides), num_envs, seed=1)


def make_boundary(engine: ADREngine, env_ids: list[int], param: int, bound: int) -> None:
    """Force envs to evaluate (param, bound)."""
    ids = torch.tensor(env_ids)
    engine.worker_types[ids] = BOUNDARY
    engine.adr_modes[ids] = 2 * param + bound


def finish(engine: ADREngine, env_ids: list[int], value: float, *, param: int, bound: int) -> Any:
    """Let envs finish as boundary workers of (param, bound) with objective ``value``."""
    make_boundary(engine, env_ids, param, bound)
    objective = torch.zeros(engine.num_envs)
    objective[torch.tensor(env_ids)] = value
    return engine.update(torch.tensor(env_ids), objective)


def test_a_full_queue_above_the_high_threshold_widens_the_lower_bound_by_one_delta() -> None:
    """Mean > high on a full low queue moves lo down by delta and clears the queue."""
    engine = engine_with()
    report = finish(engine, [0, 1, 2, 3], 25.0, param=MASS, bound=0)
    assert engine.bounds[MASS].tolist() == [0.8 - 0.1, 1.2]
    assert report.moved.tolist()[MASS] == [True, False]
    assert engine.queue_lengths[MASS].tolist() == [0, 0]


def test_a_queue_that_is_not_full_decides_nothing() -> None:
    """Three results in a queue of four leave the bound where it is."""
    engine = engine_with()
    finish(engine, [0, 1, 2], 25.0, param=MASS, bound=1)
    assert engine.bounds[MASS].tolist() == [0.8, 1.2]
    assert engine.queue_lengths[MASS].tolist() == [0, 3]
    assert engine.queue_contents(MASS, 1).tolist() == [25.0, 25.0, 25.0]


def test_a_mean_between_the_thresholds_keeps_the_bound_and_the_queue_slides() -> None:
    """With the sliding policy a full undecided queue drops its oldest results."""
    engine = engine_with()
    finish(engine, [0, 1, 2, 3], 10.0, param=MASS, bound=1)
    finish(engine, [4, 5], 12.0, param=MASS, bound=1)
    assert engine.bounds[MASS].tolist() == [0.8, 1.2]
    assert engine.queue_contents(MASS, 1).tolist() == [10.0, 10.0, 12.0, 12.0]


def test_clear_on_decision_empties_a_full_queue_even_when_its_bound_stays() -> None:
    """OpenAI's Algorithm 1 clears a queue every time it is evaluated full."""
    engine = engine_with(queue_policy="clear_on_decision")
    finish(engine, [0, 1, 2, 3], 10.0, param=MASS, bound=1)
    assert engine.bounds[MASS].tolist() == [0.8, 1.2]
    assert engine.queue_lengths[MASS].tolist() == [0, 0]


def test_contraction_never_moves_a_bound_inside_init_range() -> None:
    """A low mean at init range is clamped to init_range: nothing changes."""
    engine = engine_with()
    report = finish(engine, [0, 1, 2, 3], 0.0, param=MASS, bound=0)
    assert engine.bounds[MASS].tolist() == [0.8, 1.2]
    assert not report.moved.any()
    assert engine.queue_lengths[MASS, 0].item() == 4  # not cleared: the bound did not move


def test_contraction_after_expansion_moves_the_bound_back_inwards() -> None:
    """Two expansions then one contraction of the upper bound leave it one delta out."""
    engine = engine_with()
    finish(engine, [0, 1, 2, 3], 25.0, param=MASS, bound=1)
    finish(engine, [4, 5, 6, 7], 25.0, param=MASS, bound=1)
    assert engine.bounds[MASS, 1].item() == pytest.approx(1.4)
    finish(engine, [8, 9, 10, 11], 1.0, param=MASS, bound=1)
    assert engine.bounds[MASS, 1].item() == 1.2 + 0.1 + 0.1 - 0.1


def test_multiplicative_delta_multiplies_outwards_and_divides_inwards() -> None:
    """gain's upper bound doubles on expansion, its lower bound halves."""
    engine = engine_with()
    finish(engine, [0, 1, 2, 3], 25.0, param=GAIN, bound=1)
    finish(engine, [4, 5, 6, 7], 25.0, param=GAIN, bound=0)
    assert engine.bounds[GAIN].tolist() == [0.5, 4.0]
    assert engine.next_limits[GAIN].tolist() == [0.25, 8.0]


def test_expansion_stops_at_the_limits_and_next_limits_stay_clamped() -> None:
    """Repeated expansion of gain reaches limits [0.25, 16] and goes no further."""
    engine = engine_with(num_envs=64)
    for step in range(8):
        ids = list(range(4 * step, 4 * step + 4))
        finish(engine, ids, 25.0, param=GAIN, bound=1 if step % 2 else 0)
    assert engine.bounds[GAIN].tolist() == [0.25, 16.0]
    assert engine.next_limits[GAIN].tolist() == [0.25, 16.0]


def test_a_parameter_without_limits_expands_without_bound() -> None:
    """friction has no limits: its lower bound keeps stepping down past zero."""
    engine = engine_with(num_envs=64)
    for step in range(12):
        finish(engine, list(range(4 * step, 4 * step + 4)), 25.0, param=FRICTION, bound=0)
    assert engine.bounds[FRICTION, 0].item() == pytest.approx(0.5 - 12 * 0.05)
    assert engine.next_limits[FRICTION, 0].item() == pytest.approx(0.5 - 13 * 0.05)
    assert engine.params.limits[FRICTION].tolist() == [-math.inf, math.inf]


def test_next_limits_are_one_step_beyond_each_bound_from_the_start() -> None:
    """Before any update next_limits are init_range widened by one delta."""
    engine = engine_with()
    assert engine.next_limits[MASS].tolist() == [0.8 - 0.1, 1.2 + 0.1]
    assert engine.next_limits[LATENCY].tolist() == [0.0, 2.0]  # lower one clamped at limit 0


def test_a_moved_bound_turns_its_running_boundary_workers_into_rollout_workers() -> None:
    """Workers still evaluating the moved bound become rollout workers; others keep their job."""
    engine = engine_with()
    make_boundary(engine, [8, 9], MASS, 0)  # running, same bound
    make_boundary(engine, [10], MASS, 1)  # running, other bound
    finish(engine, [0, 1, 2, 3], 25.0, param=MASS, bound=0)
    assert engine.worker_types[[8, 9]].tolist() == [ROLLOUT, ROLLOUT]
    assert engine.worker_types[10].item() == BOUNDARY
    assert engine.adr_modes[10].item() == 2 * MASS + 1


def test_a_decided_bound_snaps_to_a_clamp_closer_than_the_tolerance_without_clearing() -> None:
    """As the reference: a sub-1e-9 move still lands, but does not count as a change."""
    cfg = small_cfg()
    cfg["params"]["mass"] = {"init_range": [0.1 + 5e-10, 1.2], "limits": [0.1, 3.0], "delta": 0.1}
    engine = ADREngine(cfg, 16)
    report = finish(engine, [0, 1, 2, 3], 25.0, param=MASS, bound=0)
    assert engine.bounds[MASS, 0].item() == 0.1
    assert not report.moved.any()
    assert engine.queue_lengths[MASS, 0].item() == 4


def test_more_results_than_fit_keep_the_last_ones_in_ascending_env_id_order() -> None:
    """Six results for a queue of four keep those of the four highest env ids."""
    engine = engine_with()
    ids = [9, 2, 14, 5, 11, 0]
    make_boundary(engine, ids, MASS, 1)
    objective = torch.arange(16, dtype=torch.float32)  # env i reports i
    engine.update(torch.tensor(ids), objective)
    assert engine.queue_contents(MASS, 1).tolist() == [5.0, 9.0, 11.0, 14.0]


def test_results_of_a_later_update_come_after_those_of_an_earlier_one() -> None:
    """Queues keep arrival order across updates (oldest first)."""
    engine = engine_with()
    objective = torch.arange(16, dtype=torch.float32)
    make_boundary(engine, [7], MASS, 1)
    engine.update(torch.tensor([7]), objective)
    make_boundary(engine, [3, 1], MASS, 1)
    engine.update(torch.tensor([3, 1]), objective)
    assert engine.queue_contents(MASS, 1).tolist() == [7.0, 1.0, 3.0]


def test_rollout_workers_results_feed_only_the_rollout_performance_ema() -> None:
    """Finished rollout workers are not recorded in queues; their mean starts the EMA."""
    engine = engine_with()
    engine.worker_types.fill_(ROLLOUT)
    objective = torch.zeros(16)
    objective[:4] = torch.tensor([2.0, 4.0, 6.0, 8.0])
    report = engine.update(torch.arange(4), objective)
    assert engine.queue_lengths.sum().item() == 0
    assert report.rollout_perf.item() == 5.0
    assert report.num_boundary_results.item() == 0


def test_the_rollout_ema_blends_with_alpha_and_ignores_updates_without_rollout_workers() -> None:
    """EMA = alpha * old + (1 - alpha) * mean; updates without rollout workers keep it (no NaN)."""
    engine = engine_with()  # alpha 0.9
    engine.worker_types.fill_(ROLLOUT)
    engine.update(torch.arange(2), torch.full((16,), 10.0))
    engine.worker_types.fill_(ROLLOUT)
    engine.update(torch.arange(2, 4), torch.full((16,), 20.0))
    assert engine.rollout_perf.item() == pytest.approx(0.9 * 10.0 + 0.1 * 20.0)
    make_boundary(engine, [4], MASS, 0)
    report = engine.update(torch.tensor([4]), torch.full((16,), 50.0))
    assert report.rollout_perf.item() == pytest.approx(11.0)
    report = engine.update(torch.tensor([], dtype=torch.long), torch.zeros(16))
    assert math.isfinite(report.rollout_perf.item())


def test_npd_is_the_mean_log_width_with_disabled_parameters_counting_zero() -> None:
    """NPD over (mass, gain, latency, friction) follows its definition."""
    cfg = small_cfg()
    cfg["params"]["friction"]["delta"] = 0.0
    engine = ADREngine(cfg, 8)
    widths = [1.2 - 0.8, 2.0 - 1.0, 1.0 - 0.0]
    expected = sum(math.log(max(w, 1e-3)) for w in widths) / 4
    assert engine.npd().item() == pytest.approx(expected, rel=1e-12)


def test_finished_envs_are_recycled_and_resampled_inside_their_ranges() -> None:
    """After an update, finished envs hold fresh values in range or at their pinned bound."""
    engine = engine_with(num_envs=256, worker_adr_boundary_fraction=0.5)
    engine.update(torch.arange(256), torch.zeros(256))
    mass = engine.get("mass")
    latency = engine.get("latency")
    boundary = engine.worker_types == BOUNDARY
    pinned_mass_low = boundary & (engine.adr_modes == 2 * MASS)
    pinned_mass_high = boundary & (engine.adr_modes == 2 * MASS + 1)
    assert (mass[pinned_mass_low] == 0.8).all()
    assert (mass[pinned_mass_high] == 1.2).all()
    assert ((mass >= 0.8) & (mass <= 1.2)).all()
    assert latency.dtype == torch.long
    assert set(latency.tolist()) <= {0, 1}
    assert 0 < boundary.float().mean().item() < 1


def test_extended_boundary_sampling_pins_boundary_workers_at_the_next_limits() -> None:
    """With adr_extended_boundary_sample a boundary worker plays one delta beyond its bound."""
    engine = engine_with(adr_extended_boundary_sample=True)
    make_boundary(engine, [0], MASS, 0)
    make_boundary(engine, [1], MASS, 1)
    make_boundary(engine, [2], LATENCY, 1)
    values = engine.sample("mass", torch.tensor([0, 1, 5]))
    assert values[:2].tolist() == pytest.approx([0.7, 1.3])
    assert engine.sample("latency", [2]).tolist() == [2]


def test_sample_returns_values_in_the_order_of_the_given_env_ids() -> None:
    """sample() writes per env and returns in the caller's order."""
    engine = engine_with()
    make_boundary(engine, [3], MASS, 1)
    make_boundary(engine, [7], MASS, 0)
    values = engine.sample("mass", [3, 7])
    assert values.tolist() == pytest.approx([1.2, 0.8])
    assert engine.get("mass", [7, 3]).tolist() == pytest.approx([0.8, 1.2])


def test_frozen_ranges_turn_finished_envs_into_rollout_workers_and_record_nothing() -> None:
    """update_adr_ranges: false is evaluation mode."""
    engine = engine_with(update_adr_ranges=False)
    make_boundary(engine, [0, 1, 2, 3, 4], MASS, 0)
    report = engine.update(torch.arange(4), torch.full((16,), 25.0))
    assert engine.worker_types[:4].tolist() == [ROLLOUT] * 4
    assert engine.worker_types[4].item() == BOUNDARY
    assert engine.bounds[MASS].tolist() == [0.8, 1.2]
    assert engine.queue_lengths.sum().item() == 0
    assert report.num_boundary_results.item() == 0


def test_clear_other_queues_moves_one_parameter_and_reassigns_every_boundary_worker() -> None:
    """When two parameters would move, one moves, all queues clear, boundary workers are redrawn."""
    engine = engine_with(num_envs=64, clear_other_queues=True, worker_adr_boundary_fraction=0.0)
    make_boundary(engine, [0, 1, 2, 3], MASS, 1)
    make_boundary(engine, [4, 5, 6, 7], GAIN, 1)
    make_boundary(engine, [8, 9], LATENCY, 0)  # partial queue: cleared too
    make_boundary(engine, [20, 21], MASS, 0)  # still running: reassigned
    engine.worker_types[30] = ROLLOUT
    objective = torch.full((64,), 25.0)
    report = engine.update(torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 30]), objective)
    moved_params = report.moved.any(1)
    assert moved_params.sum().item() == 1
    assert engine.queue_lengths.sum().item() == 0
    # fraction 0: every reassigned worker becomes a rollout worker.
    assert (engine.worker_types == ROLLOUT).all()


def test_the_report_tells_which_bounds_moved_and_the_means_that_decided() -> None:
    """UpdateReport snapshots stay as they were after later updates."""
    engine = engine_with()
    report = finish(engine, [0, 1, 2, 3], 25.0, param=GAIN, bound=1)
    assert report.moved_bounds(engine.param_names) == ["gain/upper"]
    assert report.queue_means[GAIN, 1].item() == 25.0
    snapshot = report.bounds.clone()
    finish(engine, [4, 5, 6, 7], 25.0, param=GAIN, bound=1)
    assert torch.equal(report.bounds, snapshot)
    assert report.npd.item() == pytest.approx(
        (math.log(0.4) + math.log(3.0) + math.log(1.0) + math.log(1e-3)) / 4
    )


def test_recycle_assigns_boundary_workers_at_the_configured_share() -> None:
    """worker_adr_boundary_fraction is the share of boundary workers (binomial 6-sigma bounds)."""
    n, fraction = 20000, 0.3
    engine = ADREngine(small_cfg(worker_adr_boundary_fraction=fraction), n, seed=5)
    engine.recycle(torch.arange(n))
    share = (engine.worker_types == BOUNDARY).float().mean().item()
    sigma = math.sqrt(fraction * (1 - fraction) / n)
    assert abs(share - fraction) < 6 * sigma
    counts = torch.bincount(engine.adr_modes, minlength=8).float()
    expected = n / 8
    assert ((counts - expected).abs() < 6 * math.sqrt(expected)).all()


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_boundary_fractions_zero_and_one_are_exact(fraction: float) -> None:
    """Fraction 0 makes only rollout workers, 1 only boundary workers."""
    engine = ADREngine(small_cfg(worker_adr_boundary_fraction=fraction), 512)
    engine.recycle(torch.arange(512))
    assert (engine.worker_types == int(fraction)).all()


def test_a_builtin_parameter_has_no_tensor_values() -> None:
    """friction has a range_path: sampling it is an error naming it."""
    engine = engine_with()
    assert "friction" not in engine.tensor_values()
    with pytest.raises(ValueError, match="param_name: .*friction.*range_path"):
        engine.sample("friction")
