"""The built-in DR dict: start-up checks, range_path patching and boundary collapse."""

from __future__ import annotations

import copy

import pytest
import torch

from adr_domain import ADRConfig, ConfigError
from adr_isaac import RolloutWorkerModes
from adr_isaac.dr_params import resolve_path, validate_dr_params, validate_range_paths
from adr_isaac.dr_sampling import bucketize, draw_samples
from builders import dextreme_adr_cfg
from isaac_tasks import CubeHandTaskADR, dextreme_dr_params, run, task_config

DAMPING = "actor_params.hand.dof_properties.damping.range"


def test_the_shipped_dr_block_and_every_dextreme_range_path_are_valid() -> None:
    """All 13 range_path parameters of the DeXtreme ADR block resolve in its DR block."""
    cfg = ADRConfig.from_mapping(dextreme_adr_cfg())
    dr = validate_dr_params(dextreme_dr_params())
    validate_range_paths(cfg, dr)
    paths = [p.range_path for p in cfg.params.values() if p.range_path is not None]
    assert len(paths) == 13
    assert all(len(resolve_path(dr, path)) == 2 for path in paths)


def test_a_range_path_that_does_not_resolve_is_reported_at_start_up_with_its_parameter() -> None:
    """A task whose DR block lacks a range_path's entry fails in its constructor, naming both."""
    cfg = task_config()
    del cfg["task"]["randomization_params"]["actor_params"]["hand"]["dof_properties"]["damping"]
    with pytest.raises(ConfigError, match=r"hand_damping.*no key 'damping' under "):
        CubeHandTaskADR(cfg)


def test_invalid_dr_entries_are_all_reported_with_their_paths() -> None:
    """A misspelt distribution and a per-body-group range are both named by path."""
    dr = dextreme_dr_params()
    dr["actor_params"]["hand"]["dof_properties"]["stiffness"]["distribution"] = "normal"
    dr["actor_params"]["object"]["rigid_body_properties"]["mass"]["range"] = {"a": [0, 1]}
    with pytest.raises(ConfigError) as err:
        validate_dr_params(dr)
    message = str(err.value)
    assert "actor_params.hand.dof_properties.stiffness.distribution" in message
    assert "actor_params.object.rigid_body_properties.mass.range: per-body-group" in message


def test_current_adr_params_splice_every_range_into_a_new_dict() -> None:
    """Every range_path holds its current range; the input and other entries are untouched."""
    task = CubeHandTaskADR(task_config())
    run(task, 50)
    assert bool((task.adr_engine.bounds != task.adr_engine.params.init).any())
    dr = task.randomization_params
    before = copy.deepcopy(dr)

    current = task.get_current_adr_params(dr)

    assert dr == before
    for name in task.adr_params_builtin_keys:
        path = task.adr_params[name]["range_path"]
        assert resolve_path(current, path) == task.adr_params[name]["range"], name
        entry = path.rsplit(".", 1)[0]
        assert {**resolve_path(current, entry), "range": None} == {
            **resolve_path(dr, entry),
            "range": None,
        }


def _force_workers(task: CubeHandTaskADR, workers: list[tuple[int, int]]) -> None:
    for env_id, (worker, mode) in enumerate(workers):
        task.worker_types[env_id] = worker
        task.adr_modes[env_id] = mode


def test_boundary_workers_get_their_range_path_collapsed_to_their_bound() -> None:
    """A boundary worker gets its range as a point; rollout and test workers current and default."""
    task = CubeHandTaskADR(task_config())
    rna = 2 * task.adr_params_keys.index("rna_alpha")
    roll, bound, test = (
        RolloutWorkerModes.ADR_ROLLOUT,
        RolloutWorkerModes.ADR_BOUNDARY,
        RolloutWorkerModes.TEST_ENV,
    )
    _force_workers(task, [(roll, 0), (bound, 0), (bound, 1), (bound, rna), (test, 0)])
    dr = task.randomization_params
    current = task.get_current_adr_params(dr)
    lo, hi = task.adr_params["hand_damping"]["range"]

    by_env = [task.get_dr_params_by_env_id(i, dr, current) for i in range(5)]

    assert by_env[0] is current and by_env[3] is current and by_env[4] is dr
    assert resolve_path(by_env[1], DAMPING) == [lo, lo]
    assert resolve_path(by_env[2], DAMPING) == [hi, hi]
    assert resolve_path(current, DAMPING) == [lo, hi]
    stiffness = "actor_params.hand.dof_properties.stiffness.range"
    assert resolve_path(by_env[1], stiffness) == resolve_path(current, stiffness)


def test_extended_boundary_sampling_collapses_to_the_next_limit() -> None:
    """With adr_extended_boundary_sample, a boundary worker plays one delta beyond its bound."""
    cfg = task_config()
    cfg["task"]["adr"]["adr_extended_boundary_sample"] = True
    task = CubeHandTaskADR(cfg)
    _force_workers(task, [(RolloutWorkerModes.ADR_BOUNDARY, 1)])
    dr = task.randomization_params

    env_dr = task.get_dr_params_by_env_id(0, dr, task.get_current_adr_params(dr))

    nxt = task.adr_params["hand_damping"]["next_limits"][1]
    assert nxt == pytest.approx(2.01)
    assert resolve_path(env_dr, DAMPING) == [nxt, nxt]


def test_a_point_range_samples_exactly_its_value_for_every_distribution() -> None:
    """A collapsed range [v, v] gives v itself, also through loguniform's logarithms."""
    gen = torch.Generator().manual_seed(0)
    for dist in ("uniform", "loguniform"):
        entry = {"range": [0.37, 0.37], "operation": "scaling", "distribution": dist}
        assert draw_samples(entry, 5, 0, gen).tolist() == [0.37] * 5


def test_values_below_the_first_material_bucket_snap_to_it() -> None:
    """Bucketing floors values to bucket edges and never wraps a low value to the top bucket."""
    entry = {"range": [0.0, 1.0], "distribution": "uniform", "num_buckets": 4}
    values = torch.tensor([-0.1, 0.0, 0.3, 0.99], dtype=torch.float64)
    assert bucketize(values, entry).tolist() == [0.0, 0.0, 0.25, 0.75]
