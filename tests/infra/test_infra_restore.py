"""Restoring an engine from a checkpoint file: complete states, IsaacGymEnvs imports, errors."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from adr_domain import ADREngine, step_bound
from adr_infra import (
    Checkpoint,
    IncompatibleCheckpointError,
    RestoreSource,
    UnsupportedVersionError,
    load_checkpoint,
    restore_engine,
    save_checkpoint,
    summarize,
)
from builders import dextreme_adr_cfg, small_cfg
from infra_helpers import assert_trees_identical, drive, small_policy

N = 24


def saved_engine(tmp_path: Path, suffix: str = ".pth", cfg: dict[str, Any] | None = None) -> Path:
    engine = ADREngine(cfg or small_cfg(), N, seed=11)
    drive(engine, 30)
    path = tmp_path / f"ckpt{suffix}"
    save_checkpoint(path, Checkpoint.create(small_policy(), {"adr": engine.state_dict(), "t": 1}))
    return path


@pytest.mark.parametrize("suffix", [".pth", ".h5"])
def test_a_restored_engine_has_exactly_the_saved_state(tmp_path: Path, suffix: str) -> None:
    """Every entry of the restored engine's state_dict equals the saved one."""
    path = saved_engine(tmp_path, suffix)
    checkpoint = load_checkpoint(path)
    engine = ADREngine(small_cfg(), N, seed=999)
    report = restore_engine(engine, checkpoint, path=path)
    assert report.source is RestoreSource.COMPLETE and report.ranges_restored
    assert report.task_entries == ("t",)
    assert_trees_identical(dict(engine.state_dict()), checkpoint.engine_state)


def test_without_adr_load_from_checkpoint_only_ranges_and_queues_start_fresh(
    tmp_path: Path,
) -> None:
    """restore_ranges=False: ranges at init, next limits fresh, queues empty; the rest restored."""
    path = saved_engine(tmp_path)
    saved = load_checkpoint(path).engine_state
    assert saved is not None
    cfg = small_cfg(adr_load_from_checkpoint=False)
    engine = ADREngine(cfg, N, seed=999)
    fresh = ADREngine(cfg, N, seed=0).state_dict()
    report = restore_engine(engine, load_checkpoint(path), path=path)
    assert not report.ranges_restored
    state = engine.state_dict()
    assert not torch.equal(saved["bounds"], fresh["bounds"]), "scenario should move ranges"
    for key in ("bounds", "next_limits", "queue_values", "queue_lengths"):
        assert_trees_identical(state[key], fresh[key], key)
    for key in ("adr_modes", "tensor_values", "rng", "step", "rollout_perf"):
        assert_trees_identical(state[key], saved[key], key)
    # Boundary workers lost their bounds with the old ranges: now rollout workers.
    assert_trees_identical(
        state["worker_types"],
        saved["worker_types"].masked_fill(saved["worker_types"] == 1, 0),
        "worker_types",
    )


def test_another_parameter_set_is_refused_listing_the_differences_and_the_file(
    tmp_path: Path,
) -> None:
    """A config with a parameter renamed: IncompatibleCheckpointError naming both sides."""
    path = saved_engine(tmp_path)
    cfg = small_cfg()
    cfg["params"]["weight"] = cfg["params"].pop("mass")
    engine = ADREngine(cfg, N)
    before = engine.state_dict()
    with pytest.raises(IncompatibleCheckpointError) as info:
        restore_engine(engine, load_checkpoint(path), path=path)
    message = str(info.value)
    assert str(path) in message and "mass" in message and "weight" in message
    assert_trees_identical(dict(engine.state_dict()), dict(before))


def test_another_number_of_envs_is_refused(tmp_path: Path) -> None:
    """Restoring 24 envs into 32: IncompatibleCheckpointError naming the counts."""
    path = saved_engine(tmp_path)
    with pytest.raises(IncompatibleCheckpointError, match="24"):
        restore_engine(ADREngine(small_cfg(), 32), load_checkpoint(path), path=path)


def test_an_unknown_engine_schema_version_names_the_file(tmp_path: Path) -> None:
    """An engine state from a newer adr-kit: UnsupportedVersionError with the path."""
    engine = ADREngine(small_cfg(), N)
    state: dict[str, Any] = dict(engine.state_dict())
    state["schema_version"] = 99
    path = tmp_path / "new.pth"
    save_checkpoint(path, Checkpoint.create(None, {"adr": state}))
    with pytest.raises(UnsupportedVersionError) as info:
        restore_engine(engine, load_checkpoint(path), path=path)
    assert str(path) in str(info.value) and "99" in str(info.value)


def test_ranges_outside_the_current_limits_are_refused(tmp_path: Path) -> None:
    """A checkpoint whose ranges exceed the new config's limits cannot be restored as is."""
    path = saved_engine(tmp_path)
    cfg = small_cfg()
    cfg["params"]["mass"]["limits"] = [0.7, 1.3]
    with pytest.raises(IncompatibleCheckpointError, match="adr_load_from_checkpoint"):
        restore_engine(ADREngine(cfg, N), load_checkpoint(path), path=path)


def test_a_checkpoint_without_env_state_leaves_the_engine_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """rl_games env_state None: nothing restored, a warning names the file."""
    path = tmp_path / "plain.pth"
    save_checkpoint(path, Checkpoint.create(small_policy(), None))
    engine = ADREngine(small_cfg(), N)
    before = engine.state_dict()
    with caplog.at_level(logging.WARNING):
        report = restore_engine(engine, load_checkpoint(path), path=path)
    assert report.source is RestoreSource.NONE
    assert str(path) in caplog.text
    assert_trees_identical(dict(engine.state_dict()), dict(before))


# ------------------------------------------------------------------ IsaacGymEnvs checkpoints


def isaacgymenvs_adr_params(cfg: dict[str, Any], widen: float) -> dict[str, Any]:
    """adr_params as IsaacGymEnvs' ADRVecTask keeps them: the config entry plus range,
    next_limits and default limits/delta_style, all plain Python values."""
    params: dict[str, Any] = {}
    for name, spec in cfg["params"].items():
        entry = {k: (list(v) if isinstance(v, list) else v) for k, v in spec.items()}
        entry.setdefault("limits", [None, None])
        entry.setdefault("delta_style", "additive")
        lo, hi = spec["init_range"]
        lim_lo, lim_hi = entry["limits"]
        step = widen * spec["delta"] if entry.get("type") != "categorical" else 1
        new_lo = lo - step if lim_lo is None else max(lo - step, lim_lo)
        new_hi = hi + step if lim_hi is None else min(hi + step, lim_hi)
        entry["range"] = [new_lo, new_hi]
        nl_lo, _ = step_bound(new_lo, "down", spec["delta"], entry["delta_style"], lim_lo)
        nl_hi, _ = step_bound(new_hi, "up", spec["delta"], entry["delta_style"], lim_hi)
        entry["next_limits"] = [nl_lo, nl_hi]
        params[name] = entry
    return params


def write_isaacgymenvs_checkpoint(path: Path, adr_params: dict[str, Any]) -> None:
    """torch.save of the dict rl_games saves for an IsaacGymEnvs DeXtreme task."""
    policy = small_policy()
    policy["last_mean_rewards"] = np.float32(412.5)
    torch.save(
        {**policy, "env_state": {"act_moving_average": 0.15, "adr_params": adr_params}}, path
    )


def test_an_isaacgymenvs_checkpoint_restores_ranges_and_next_limits_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """DeXtreme's 27 parameters: ranges and next limits imported, queues empty, a warning lists
    what was missing, act_moving_average is left to the task."""
    cfg = dextreme_adr_cfg()
    cfg["adr_load_from_checkpoint"] = True
    params = isaacgymenvs_adr_params(cfg, widen=3)
    path = tmp_path / "AllegroHandDextremeADR.pth"
    write_isaacgymenvs_checkpoint(path, params)
    checkpoint = load_checkpoint(path)
    assert checkpoint.last_mean_rewards == 412.5
    engine = ADREngine(cfg, N)
    with caplog.at_level(logging.WARNING):
        report = restore_engine(engine, checkpoint, path=path)
    assert report.source is RestoreSource.ISAACGYMENVS and report.ranges_restored
    assert report.task_entries == ("act_moving_average",)
    expected = torch.tensor([params[n]["range"] for n in engine.param_names], dtype=torch.float64)
    nexts = torch.tensor(
        [params[n]["next_limits"] for n in engine.param_names], dtype=torch.float64
    )
    assert torch.equal(engine.bounds, expected) and torch.equal(engine.next_limits, nexts)
    assert int(engine.queue_lengths.sum()) == 0
    assert str(path) in caplog.text and "boundary queues" in caplog.text
    assert "random generator states" in caplog.text
    rows = {p.name: p for p in summarize(checkpoint).params}
    assert rows["hand_damping"].range == tuple(params["hand_damping"]["range"])


def test_missing_next_limits_are_computed_one_step_beyond_the_imported_range(
    tmp_path: Path,
) -> None:
    """Saved before the reference's first update (no next_limits): one delta outwards."""
    cfg = small_cfg()
    params = isaacgymenvs_adr_params(cfg, widen=1)
    for entry in params.values():
        del entry["next_limits"]
    path = tmp_path / "early.pth"
    write_isaacgymenvs_checkpoint(path, params)
    engine = ADREngine(cfg, N)
    restore_engine(engine, load_checkpoint(path), path=path)
    for n, name in enumerate(engine.param_names):
        spec = engine.cfg.params[name]
        lo, hi = params[name]["range"]
        want_lo = step_bound(lo, "down", spec.delta, spec.delta_style, spec.limits[0])[0]
        want_hi = step_bound(hi, "up", spec.delta, spec.delta_style, spec.limits[1])[0]
        assert engine.next_limits[n].tolist() == [want_lo, want_hi], name


def test_an_isaacgymenvs_checkpoint_is_not_imported_without_adr_load_from_checkpoint(
    tmp_path: Path,
) -> None:
    """adr_load_from_checkpoint: false (DeXtreme's default) keeps init ranges."""
    cfg = dextreme_adr_cfg()
    path = tmp_path / "a.pth"
    write_isaacgymenvs_checkpoint(path, isaacgymenvs_adr_params(cfg, widen=3))
    engine = ADREngine(cfg, N)
    report = restore_engine(engine, load_checkpoint(path), path=path)
    assert not report.ranges_restored
    assert torch.equal(engine.bounds, engine.params.init)


def test_an_isaacgymenvs_checkpoint_missing_parameters_is_refused_by_name(tmp_path: Path) -> None:
    """Parameters of the config absent from the checkpoint are listed; extras are ignored."""
    cfg = small_cfg()
    params = isaacgymenvs_adr_params(cfg, widen=1)
    del params["gain"]
    params["unknown_extra"] = {"range": [0.0, 1.0]}
    path = tmp_path / "a.pth"
    write_isaacgymenvs_checkpoint(path, params)
    with pytest.raises(IncompatibleCheckpointError) as info:
        restore_engine(ADREngine(cfg, N), load_checkpoint(path), path=path)
    assert "gain" in str(info.value) and str(path) in str(info.value)
    assert "unknown_extra" not in str(info.value)


def test_an_isaacgymenvs_parameter_of_another_type_is_refused(tmp_path: Path) -> None:
    """A categorical parameter saved as uniform is a difference, named."""
    cfg = small_cfg()
    params = isaacgymenvs_adr_params(cfg, widen=1)
    params["latency"]["type"] = "uniform"
    path = tmp_path / "a.pth"
    write_isaacgymenvs_checkpoint(path, params)
    with pytest.raises(IncompatibleCheckpointError, match="latency: type uniform"):
        restore_engine(ADREngine(cfg, N), load_checkpoint(path), path=path)
