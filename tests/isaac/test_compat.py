"""ADRCompat exposes IsaacGymEnvs' ADR names with the reference's meaning."""

from __future__ import annotations

import logging
import random
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf

from adr_domain.host_syncs import count_host_syncs
from adr_isaac.compat import ADRCompat, RolloutWorkerModes
from builders import dextreme_adr_cfg, small_cfg
from reference_model import ReferenceADR


def test_it_builds_from_the_dextreme_block_as_an_omegaconf_node() -> None:
    """The reference's attributes come out of the task.adr block."""
    adr = ADRCompat(OmegaConf.create(dextreme_adr_cfg()), num_envs=64)
    assert adr.num_adr_params == 27
    assert adr.adr_params_keys[:2] == ["hand_damping", "hand_stiffness"]
    assert len(adr.adr_params_builtin_keys) == 13
    assert set(adr.adr_tensor_values) == set(adr.adr_params_keys) - set(adr.adr_params_builtin_keys)
    assert adr.adr_params["hand_damping"]["range"] == [0.5, 2.0]
    assert adr.adr_params["hand_damping"]["next_limits"] == [0.49, 2.01]
    assert adr.adr_params["hand_damping"]["range_path"].endswith("damping.range")
    assert adr.worker_adr_boundary_fraction == 0.4
    assert adr.adr_queue_threshold_length == 256
    assert len(adr.adr_objective_queues) == 54
    assert adr.adr_rollout_perf_last is None


def test_worker_types_and_modes_are_live_engine_tensors() -> None:
    """Writing into worker_types / adr_modes changes what the engine records."""
    adr = ADRCompat(small_cfg(), num_envs=8)
    adr.worker_types[:] = RolloutWorkerModes.ADR_BOUNDARY
    adr.adr_modes[:] = 1  # mass / upper (mode 2n+1 of parameter 0)
    adr.adr_update([0, 1, 2], torch.full((8,), 12.0))
    assert len(adr.adr_objective_queues[1]) == 3
    assert list(adr.adr_objective_queues[1]) == [12.0, 12.0, 12.0]
    assert len(adr.adr_objective_queues[0]) == 0


def test_adr_update_takes_a_list_or_a_long_tensor_with_the_same_result() -> None:
    """rand_envs may be a list of ints or a LongTensor."""
    a, b = ADRCompat(small_cfg(), 16, seed=1), ADRCompat(small_cfg(), 16, seed=1)
    objective = torch.arange(16, dtype=torch.float32)
    a.adr_update([3, 1, 7], objective)
    b.adr_update(torch.tensor([3, 1, 7]), objective)
    assert torch.equal(a.worker_types, b.worker_types)
    assert a.adr_tensor_values["mass"].tolist() == b.adr_tensor_values["mass"].tolist()


def test_ranges_match_the_reference_through_the_compat_names() -> None:
    """Driving ADRCompat like the reference drives ADRVecTask gives the reference's ranges."""
    cfg = small_cfg(adr_queue_threshold_length=3)
    adr, model = ADRCompat(cfg, 20), ReferenceADR(cfg, 20)
    rng = random.Random(0)
    for _ in range(100):
        types = [rng.choice([0, 1, 1]) for _ in range(20)]
        modes = [rng.randrange(8) for _ in range(20)]
        adr.worker_types[:] = torch.tensor(types)
        adr.adr_modes[:] = torch.tensor(modes)
        model.worker_types, model.modes = types, modes
        done = rng.sample(range(20), rng.randrange(21))
        objective = [float(rng.randrange(0, 31)) for _ in range(20)]
        adr.adr_update(done, torch.tensor(objective))
        model.update(sorted(done), objective)
        for name in model.names:
            assert adr.adr_params[name]["range"] == model.specs[name]["range"]
            assert adr.adr_params[name]["next_limits"] == model.specs[name]["next_limits"]
        lengths = [len(q) for q in adr.adr_objective_queues]
        assert lengths == [len(q) for q in model.queues]


@pytest.mark.parametrize(
    ("param", "direction", "spec", "limit", "expected"),
    [
        (1.0, "up", {"delta": 0.1}, None, (1.1, True)),
        (1.0, "down", {"delta": 0.1}, None, (0.9, True)),
        (1.0, "up", {"delta": 0.1}, 1.05, (1.05, True)),
        (1.0, "down", {"delta": 0.1}, 0.95, (0.95, True)),
        (1.0, "up", {"delta": 0.1}, 1.0, (1.0, False)),
        (1.0, "up", {"delta": 2.0, "delta_style": "multiplicative"}, None, (2.0, True)),
        (1.0, "down", {"delta": 2.0, "delta_style": "multiplicative"}, None, (0.5, True)),
        (1.0, "up", {"delta": 0.0}, None, (1.0, False)),
        (1.0, "up", {"delta": 5e-10}, None, (1.0 + 5e-10, False)),
    ],
)
def test_modify_adr_param_returns_the_new_value_and_whether_it_changed(
    param: float, direction: str, spec: dict[str, Any], limit: float | None, expected: Any
) -> None:
    """One step up or down, clamped at the limit, 'changed' beyond 1e-9."""
    adr = ADRCompat(small_cfg(), 4)
    assert adr.modify_adr_param(param, direction, spec, param_limit=limit) == expected


@pytest.mark.parametrize(
    ("direction", "spec", "message"),
    [
        ("sideways", {"delta": 0.1}, "direction must be 'up' or 'down'"),
        ("up", {"delta": 1.0, "delta_style": "multiplicative"}, "delta must be > 1"),
        ("up", {"delta": 0.1, "delta_style": "log"}, "delta_style must be"),
        ("up", {}, "needs a 'delta' entry"),
    ],
)
def test_modify_adr_param_rejects_bad_arguments(
    direction: str, spec: dict[str, Any], message: str
) -> None:
    """Where the reference asserts or raises NotImplementedError: a ValueError saying why."""
    with pytest.raises(ValueError, match=message):
        ADRCompat(small_cfg(), 4).modify_adr_param(1.0, direction, spec)


def test_sample_and_get_adr_tensor_follow_the_reference_signatures() -> None:
    """sample_adr_tensor returns len(env_ids) values and stores them; get returns them."""
    adr = ADRCompat(small_cfg(), 10)
    adr.worker_types[:] = RolloutWorkerModes.ADR_ROLLOUT
    values = adr.sample_adr_tensor("mass", torch.tensor([2, 5]))
    assert values.shape == (2,)
    assert torch.equal(adr.get_adr_tensor("mass", torch.tensor([2, 5])), values)
    assert adr.get_adr_tensor("mass") is not None
    assert adr.sample_adr_tensor("mass").shape == (10,)
    assert adr.get_adr_tensor("mass").data_ptr() == adr.adr_tensor_values["mass"].data_ptr()


def test_recycle_envs_reassigns_only_the_given_envs() -> None:
    """recycle_envs draws new worker types for exactly those envs."""
    adr = ADRCompat(small_cfg(worker_adr_boundary_fraction=1.0), 10)
    adr.recycle_envs([1, 4])
    assert adr.worker_types.tolist() == [0, 1, 0, 0, 1, 0, 0, 0, 0, 0]


def test_extras_carry_the_reference_adr_keys_beside_the_tasks_own() -> None:
    """extras is a dict with current adr/params, adr/objective_perf and adr/npd entries."""
    adr = ADRCompat(small_cfg(), 8)
    assert isinstance(adr.extras, dict)  # IsaacGymEnvs' observer insists on a dict
    adr.extras["time_outs"] = torch.zeros(8)
    adr.worker_types[:] = RolloutWorkerModes.ADR_BOUNDARY
    adr.adr_modes[:] = 3  # gain / upper
    adr.adr_update(list(range(8)), torch.full((8,), 30.0))
    extras = adr.extras
    assert extras["adr/params/gain/upper"] == 4.0
    assert extras["adr/params/mass/lower"] == 0.8
    assert extras["adr/objective_perf/boundary/gain/upper/queue_len"] == 0
    # As the reference logs it: the mean that moved the bound, though its queue is now empty.
    assert extras["adr/objective_perf/boundary/gain/upper/value"] == 30.0
    assert extras["adr/objective_perf/boundary/mass/upper/value"] == 0.0
    assert isinstance(extras["adr/npd"], float)
    assert isinstance(extras["adr/objective_perf/rollouts"], float)
    assert "time_outs" in extras
    assert len(dict(extras.items())) == 1 + 2 * 4 + 4 * 4 + 2
    extras.clear()
    assert "time_outs" not in extras
    assert "adr/npd" in extras


def test_extras_follow_the_engine_after_each_update() -> None:
    """A value read after an update is the new one."""
    adr = ADRCompat(small_cfg(), 8)
    assert adr.extras["adr/params/gain/upper"] == 2.0
    adr.worker_types[:] = RolloutWorkerModes.ADR_BOUNDARY
    adr.adr_modes[:] = 3
    adr.adr_update(list(range(8)), torch.full((8,), 30.0))
    assert dict(adr.extras.items())["adr/params/gain/upper"] == 4.0


def test_adr_update_makes_no_host_copy_when_inputs_are_unchecked() -> None:
    """With validate_inputs false and tensor ids, adr_update is sync-free."""
    adr = ADRCompat(dextreme_adr_cfg() | {"validate_inputs": False}, 256)
    objective = torch.rand(256) * 30
    with count_host_syncs() as syncs:
        for step in range(5):
            adr.adr_update(torch.arange(step * 10, step * 10 + 10), objective)
    assert syncs.total == 0, dict(syncs.counts)


def test_env_state_round_trips_and_none_is_a_no_op() -> None:
    """get_env_state holds the whole engine; set_env_state(None) changes nothing."""
    adr = ADRCompat(small_cfg(), 8, seed=1)
    adr.adr_update(list(range(8)), torch.full((8,), 30.0))
    state = adr.get_env_state()
    assert state["adr_params"]["mass"]["range"] == adr.adr_params["mass"]["range"]
    other = ADRCompat(small_cfg(), 8, seed=2)
    other.set_env_state(None)
    other.set_env_state(state)
    assert torch.equal(other.worker_types, adr.worker_types)
    assert other.adr_params["gain"]["range"] == adr.adr_params["gain"]["range"]


def test_a_reference_env_state_restores_ranges_and_warns_about_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An IsaacGymEnvs env_state (adr_params only) brings back ranges and next limits."""
    adr = ADRCompat(small_cfg(adr_load_from_checkpoint=True), 8)
    reference_state = {
        "adr_params": {
            name: {**dict(view), "range": list(view["range"])}
            for name, view in adr.adr_params.items()
        },
        "act_moving_average": 0.15,
    }
    reference_state["adr_params"]["mass"]["range"] = [0.5, 1.6]
    reference_state["adr_params"]["mass"]["next_limits"] = [0.4, 1.7]
    with caplog.at_level(logging.WARNING):
        adr.set_env_state(reference_state)
    assert adr.adr_params["mass"]["range"] == [0.5, 1.6]
    assert adr.adr_params["mass"]["next_limits"] == [0.4, 1.7]
    assert "start fresh" in caplog.text


def test_extras_follow_a_loaded_state_without_an_update() -> None:
    """Loading a state (same update counter) still refreshes the ADR entries of extras."""
    source = ADRCompat(small_cfg(), 8)
    source.worker_types[:] = RolloutWorkerModes.ADR_BOUNDARY
    source.adr_modes[:] = 3
    source.adr_update(list(range(8)), torch.full((8,), 30.0))
    target = ADRCompat(small_cfg(), 8)
    target.adr_update(list(range(8)), torch.zeros(8))  # same step count as the source
    assert target.extras["adr/params/gain/upper"] == 2.0
    target.set_env_state(source.get_env_state())
    assert target.extras["adr/params/gain/upper"] == 4.0
