"""A DeXtreme-style task written against IsaacGymEnvs' ADRVecTask API runs on the adapter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from adr_domain import adr_log_values
from adr_isaac import RolloutWorkerModes
from isaac_tasks import CubeHandTask, CubeHandTaskADR, hand_damping_multipliers, run, task_config


@pytest.fixture(scope="module")
def trained() -> CubeHandTaskADR:
    """A task after 50 steps (ranges have moved)."""
    task = CubeHandTaskADR(task_config())
    run(task, 50)
    return task


def test_a_task_written_against_the_reference_api_runs_and_moves_adr_ranges(
    trained: CubeHandTaskADR,
) -> None:
    """Ranges move, ADR tensors are drawn per env, and the callback fills the task's buffers."""
    task = trained
    engine = task.adr_engine
    assert bool((engine.bounds != engine.params.init).any())
    assert engine.step > 10
    latency = task.get_adr_tensor("action_latency")
    lo, hi = task.adr_params["action_latency"]["range"]
    assert bool(((latency >= lo) & (latency <= hi)).all())
    assert bool((task.cube_random_params[:, 1] > 0).all())  # object mass, via the callback
    assert bool((task.hand_random_params[:, 0] > 0.9).all())  # hand scale
    assert bool((task.gravity_vec[:, 2] != 0).all())
    boundary_share = float((task.worker_types == RolloutWorkerModes.ADR_BOUNDARY).float().mean())
    assert 0.15 < boundary_share < 0.65  # worker_adr_boundary_fraction 0.4 of 48 envs


def test_extras_is_a_dict_holding_the_reference_adr_entries_as_scalars(
    trained: CubeHandTaskADR,
) -> None:
    """IsaacGymEnvs' rl_games observer needs a dict of scalars: adr/ entries are 0-dim tensors."""
    extras = trained.extras
    assert type(extras) is dict
    assert "time_outs" in extras
    names = trained.adr_params_keys
    expected = {f"adr/params/{n}/{side}" for n in names for side in ("lower", "upper")}
    expected |= {"adr/npd", "adr/objective_perf/rollouts"}
    assert expected <= set(extras)
    assert all(extras[k].dim() == 0 for k in expected)
    assert (
        float(extras["adr/params/hand_damping/upper"])
        == trained.adr_params["hand_damping"]["range"][1]
    )
    assert float(extras["adr/npd"]) == pytest.approx(float(trained.adr_engine.npd()))
    # Every adr/ entry, queue means and lengths included, agrees with the host-side log values.
    published = {k: float(v) for k, v in extras.items() if k.startswith("adr/")}
    assert published == pytest.approx(adr_log_values(trained.last_adr_report))


def test_every_env_gets_physical_properties_from_its_own_dr_dict() -> None:
    """At start-up rollout envs draw damping from the range, its boundary envs sit on the bound."""
    task = CubeHandTaskADR(task_config(num_envs=96))
    mult = hand_damping_multipliers(task)
    lo, hi = task.adr_params["hand_damping"]["range"]
    types, modes = task.worker_types.tolist(), task.adr_modes.tolist()
    on_bound = [
        i
        for i in range(task.num_envs)
        if types[i] == RolloutWorkerModes.ADR_BOUNDARY and modes[i] < 2
    ]
    assert on_bound, "no hand_damping boundary worker among 96 envs"
    for i in range(task.num_envs):
        if i in on_bound:
            bound = (lo, hi)[modes[i]]
            np.testing.assert_allclose(mult[i], bound, rtol=1e-6)
        else:
            assert (mult[i] >= lo * (1 - 1e-6)).all() and (mult[i] <= hi * (1 + 1e-6)).all(), i
    assert len({round(float(m), 4) for m in mult[:, 0]}) > task.num_envs // 2  # really drawn


def test_setup_only_properties_are_written_only_before_the_sim_is_prepared(
    trained: CubeHandTaskADR,
) -> None:
    """Actor scales (setup_only) come from start-up and are never rewritten at resets."""
    gym = trained.gym
    assert gym.scale_writes_after_prepare == 0
    scales = [gym.actor(i, "object").scale for i in range(trained.num_envs)]
    assert all(0.95 <= s <= 1.05 for s in scales) and len(set(scales)) > 1


def test_hand_colours_are_randomized_through_gymapi(trained: CubeHandTaskADR) -> None:
    """`color: true` colours every hand body with gymapi.Vec3 values in [0, 1)."""
    colors = trained.gym.actor(0, "hand").colors
    assert len(colors) == len(trained.gym.actor(0, "hand").bodies)
    assert all(0.0 <= c.x < 1.0 and 0.0 <= c.y < 1.0 for c in colors.values())


def test_the_first_randomization_needs_no_mask_but_later_ones_do() -> None:
    """After start-up, apply_randomizations with ADR requires randomize_buf and adr_objective."""
    task = CubeHandTaskADR(task_config(num_envs=8))
    mask = torch.zeros(8, dtype=torch.bool)
    with pytest.raises(ValueError, match="adr_objective"):
        super(CubeHandTaskADR, task).apply_randomizations(task.randomization_params, mask)
    with pytest.raises(ValueError, match="randomize_buf"):
        super(CubeHandTaskADR, task).apply_randomizations(
            task.randomization_params, None, torch.zeros(8)
        )


def test_without_adr_the_plain_dr_block_is_applied_and_adr_attributes_say_adr_is_off() -> None:
    """use_adr false: the first randomization draws from the DR block's own ranges."""
    cfg = task_config(num_envs=16)
    cfg["task"]["adr"]["use_adr"] = False
    task = CubeHandTask(cfg)
    task.apply_randomizations(task.randomization_params)
    mult = hand_damping_multipliers(task)
    assert (mult >= 0.01 * (1 - 1e-6)).all() and (mult <= 20.0 * (1 + 1e-6)).all()
    assert ((mult < 0.5) | (mult > 2.0)).any()  # not limited to ADR's init_range
    with pytest.raises(AttributeError, match="use_adr is false"):
        _ = task.adr_params


def test_a_bad_objective_is_raised_within_a_check_interval_of_updates() -> None:
    """Deferred checks: a NaN objective fed to adr_update surfaces as a ValueError
    naming the env at the task base's periodic engine.check()."""
    from adr_isaac.adr_task import CHECK_INTERVAL

    task = CubeHandTaskADR(task_config(num_envs=8))
    objective = torch.zeros(8)
    objective[3] = float("nan")
    updates = CHECK_INTERVAL - task.adr_engine.step % CHECK_INTERVAL
    for _ in range(updates - 1):
        task.adr_update(torch.tensor([3]), objective)
    with pytest.raises(ValueError, match="non-finite value nan for finished env 3"):
        task.adr_update(torch.tensor([1]), torch.zeros(8))
