"""Hierarchical env state: composition, restore order, the simulator after a restore, resume."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from adr_domain import StateError
from adr_infra import Checkpoint, load_checkpoint, save_checkpoint
from adr_isaac import RolloutWorkerModes
from isaac_tasks import (
    CubeHandTaskADR,
    ResumableCubeHandTask,
    assert_same,
    hand_damping_multipliers,
    run,
    task_config,
)

WIDE = (0.1, 5.0)  # a hand_damping range wider than its init_range [0.5, 2.0]


def _trained(steps: int = 30, **cfg: Any) -> ResumableCubeHandTask:
    task = ResumableCubeHandTask(task_config(**cfg))
    run(task, steps)
    return task


def _force_hand_damping_boundary_workers(task: CubeHandTaskADR) -> None:
    """Env 0 evaluates hand_damping's lower bound, env 1 its upper bound."""
    task.worker_types[:2] = RolloutWorkerModes.ADR_BOUNDARY
    task.adr_modes[0], task.adr_modes[1] = 0, 1


def _assert_damping_drawn_from(task: CubeHandTaskADR, lo: float, hi: float) -> None:
    """Envs 0 and 1 sit on the bounds; every other env lies inside [lo, hi]."""
    mult = hand_damping_multipliers(task)
    np.testing.assert_allclose(mult[0], lo, rtol=1e-6)
    np.testing.assert_allclose(mult[1], hi, rtol=1e-6)
    assert (mult >= lo * (1 - 1e-6)).all() and (mult <= hi * (1 + 1e-6)).all()


def test_env_state_holds_the_entries_of_all_three_class_levels() -> None:
    """ADR level, reference-style task level and resumable level each contribute their entries."""
    state = ResumableCubeHandTask(task_config(num_envs=8)).get_env_state()
    assert {"adr", "adr_params", "domain_randomization"} <= set(state)  # ADR level
    assert "act_moving_average" in state  # CubeHandTask (IsaacGymEnvs style)
    assert {"progress_buf", "successes", "dynamics_rng", "cube_random_params"} <= set(state)


def test_set_env_state_restores_every_level_and_the_simulator_into_a_fresh_task() -> None:
    """A fresh task that loads a state reports the same state and has the same actor properties."""
    source = _trained()
    state = source.get_env_state()
    target = ResumableCubeHandTask(task_config())
    assert target.gym.physical_snapshot() != source.gym.physical_snapshot()

    target.set_env_state(state)

    assert_same(target.get_env_state(), state)
    assert target.gym.physical_snapshot() == source.gym.physical_snapshot()
    assert target.base_set_env_state_calls == 0


def test_set_env_state_with_none_changes_nothing() -> None:
    """rl_games passes None for checkpoints without env state: nothing is restored or rewritten."""
    task = _trained(steps=10)
    before, writes = task.get_env_state(), task.gym.property_writes
    task.set_env_state(None)
    assert_same(task.get_env_state(), before)
    assert task.gym.property_writes == writes


def test_unknown_and_missing_entries_are_logged_by_name(caplog: pytest.LogCaptureFixture) -> None:
    """Entries nobody knows and entries the checkpoint lacks are named in warnings."""
    state = _trained(steps=10).get_env_state()
    state["bogus_entry"] = 1
    del state["act_moving_average"], state["successes"]
    task = ResumableCubeHandTask(task_config())
    with caplog.at_level(logging.WARNING, logger="adr_isaac"):
        task.set_env_state(state)
    warnings = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    for name in ("bogus_entry", "act_moving_average", "successes"):
        assert name in warnings, name


def test_a_malformed_state_is_rejected_before_anything_is_restored() -> None:
    """A bad randomization stream raises StateError; ADR and the simulator stay as they were."""
    state = _trained(steps=10).get_env_state()
    state["domain_randomization"]["rng"] = torch.zeros(3)
    task = ResumableCubeHandTask(task_config())
    before, snapshot = task.get_env_state(), task.gym.physical_snapshot()
    with pytest.raises(StateError, match="rng"):
        task.set_env_state(state)
    after = task.get_env_state()
    for level_entry in ("adr", "adr_params", "domain_randomization"):
        assert_same(after[level_entry], before[level_entry], level_entry)
    assert task.gym.physical_snapshot() == snapshot


def test_restore_then_step_leaves_every_env_with_its_saved_properties() -> None:
    """With a complete state, every env's properties are written back exactly and stay in step."""
    source = _trained()
    state = source.get_env_state()
    target = ResumableCubeHandTask(task_config())
    target.set_env_state(state)
    run(source, 1)
    run(target, 1)
    assert target.gym.physical_snapshot() == source.gym.physical_snapshot()


def test_an_isaacgymenvs_env_state_restores_ranges_and_rerandomizes_every_env_from_them() -> None:
    """IsaacGymEnvs' adr_params restore ranges and next limits; every env is redrawn from them."""
    task = CubeHandTaskADR(task_config())
    adr_params = {k: dict(v) for k, v in task.adr_params.items()}
    adr_params["hand_damping"]["range"] = list(WIDE)
    adr_params["hand_damping"]["next_limits"] = [0.09, 5.01]
    _force_hand_damping_boundary_workers(task)

    task.set_env_state({"adr_params": adr_params, "act_moving_average": 0.17})
    assert task.adr_params["hand_damping"]["range"] == list(WIDE)
    assert task.adr_params["hand_damping"]["next_limits"] == [0.09, 5.01]
    assert task.act_moving_average == 0.17
    _assert_damping_drawn_from(task, *WIDE)

    run(task, 1)  # start-up reset_buf: every env is randomized again
    _assert_damping_drawn_from(task, *WIDE)
    mult = hand_damping_multipliers(task)
    assert ((mult < 0.5) | (mult > 2.0)).any(), "nothing was drawn outside init_range"


def test_episodes_restarted_by_a_restore_are_not_fed_to_adr() -> None:
    """IsaacGymEnvs-style tasks reset every env after a restore; those resets record nothing."""
    state = _trained().get_env_state()
    task = CubeHandTaskADR(task_config())
    task.set_env_state(state)
    lengths, step = task.adr_engine.queue_lengths.clone(), task.adr_engine.step
    run(task, 2)  # every env resets (start-up reset_buf)
    assert torch.equal(task.adr_engine.queue_lengths, lengths)
    assert task.adr_engine.step == step
    run(task, 12)  # later episode ends are recorded again
    assert task.adr_engine.step > step


def test_adr_load_from_checkpoint_false_rerandomizes_every_env_from_init_ranges() -> None:
    """Without adr_load_from_checkpoint, ranges start fresh and every env is redrawn from them."""
    state = _trained(steps=10).get_env_state()
    state["adr"]["bounds"][0] = torch.tensor(WIDE, dtype=torch.float64)
    task = ResumableCubeHandTask(task_config(load_from_checkpoint=False))
    _force_hand_damping_boundary_workers(task)
    state["adr"]["worker_types"][:2] = task.worker_types[:2]
    state["adr"]["adr_modes"][:2] = task.adr_modes[:2]

    task.set_env_state(state)

    assert torch.equal(task.adr_engine.bounds, task.adr_engine.params.init)
    # Their bounds went with the checkpoint's ranges: boundary workers play on as rollout workers.
    assert (task.worker_types == 0).all()
    mult = hand_damping_multipliers(task)
    assert (mult >= 0.5 * (1 - 1e-6)).all() and (mult <= 2.0 * (1 + 1e-6)).all()


@pytest.mark.parametrize("suffix", [".pth", ".h5"])
def test_a_checkpoint_saved_through_the_adapter_resumes_exactly(
    tmp_path: Path, suffix: str
) -> None:
    """N steps, save through a store, load into a fresh task, M steps: identical to N + M."""
    straight = _trained(steps=23 + 17)
    first = _trained(steps=23)
    path = tmp_path / f"checkpoint{suffix}"
    policy = {"model": {"w": torch.arange(3.0)}, "epoch": 1, "frame": 23}
    save_checkpoint(path, Checkpoint.create(policy=policy, env_state=first.get_env_state()))
    del first

    loaded = load_checkpoint(path)
    assert loaded.engine_state is not None
    assert loaded.env_state is not None
    resumed = ResumableCubeHandTask(task_config())
    resumed.set_env_state(loaded.env_state)
    run(resumed, 17)

    assert_same(resumed.get_env_state(), straight.get_env_state())
    assert resumed.gym.physical_snapshot() == straight.gym.physical_snapshot()
    assert resumed.adr_params == straight.adr_params


def test_set_env_state_never_calls_get_env_state() -> None:
    """Restoring learns which entries a level owns from its declarations, not by
    building (and copying to the CPU) the whole current state."""
    state = _trained(steps=10).get_env_state()
    task = ResumableCubeHandTask(task_config())
    calls = 0
    original = task.get_env_state

    def counting() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return original()

    task.get_env_state = counting  # type: ignore[method-assign]
    task.set_env_state(state)
    assert calls == 0
    assert task.act_moving_average == state["act_moving_average"]
