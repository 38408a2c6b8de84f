"""The embedded Reorient task: physics, ADR wiring, determinism, exact resume, input checks."""

from __future__ import annotations

import copy
import io
import itertools
import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
import yaml

from adr_app.tasks import (
    OBS_DIM,
    REORIENT_ADR_PARAMS,
    ReorientConfig,
    ReorientTask,
    ReorientTaskState,
)
from adr_app.tasks.quat import quat_from_rotvec, quat_mul, rotation_distance
from adr_domain import ConfigError, ParamType
from paths import CFG

TASK_YAML = CFG / "task" / "Reorient.yaml"

# Values every parameter takes in a "clean" config: no noise, no delays.
CLEAN_VALUES = {
    "object_mass": 1.0,
    "object_inertia": 1.0,
    "object_damping": 1.0,
    "actuator_effort": 1.0,
    "action_latency": 0,
    "cube_pose_refresh_rate": 1,
}


def shipped_cfg() -> dict[str, Any]:
    """The shipped task config as a plain dict."""
    with TASK_YAML.open() as f:
        cfg: dict[str, Any] = yaml.safe_load(f)
    return cfg


def clean_cfg(**env: Any) -> dict[str, Any]:
    """The shipped config with every ADR range pinned to a noise-free value,
    no moving average, no staggering, plus ``env`` overrides."""
    cfg = shipped_cfg()
    for name, spec in cfg["task"]["adr"]["params"].items():
        value = CLEAN_VALUES.get(name, 0.0)
        spec["init_range"] = [value, value]
    cfg["env"]["actionsMovingAverage"] = {"range": [1.0, 1.0]}
    cfg["env"]["staggerInitialProgress"] = False
    cfg["env"].update(env)
    return cfg


def make_task(cfg: dict[str, Any] | None = None, num_envs: int = 4, seed: int = 0) -> ReorientTask:
    return ReorientTask(clean_cfg() if cfg is None else cfg, num_envs=num_envs, seed=seed)


def set_far_goals(task: ReorientTask) -> None:
    """Put every goal half a turn away from the object, so no success happens at rest."""
    half_turn = torch.tensor([1.0, 0.0, 0.0, 0.0]).expand_as(task.rot)
    task.goal_rot.copy_(quat_mul(half_turn, task.rot))


def zeros(task: ReorientTask) -> torch.Tensor:
    return torch.zeros(task.num_envs, 3)


def random_actions(num_envs: int, steps: int, seed: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.rand(num_envs, 3, generator=gen) * 2 - 1 for _ in range(steps)]


def fast_adr_cfg() -> dict[str, Any]:
    """The shipped config with short episodes and queues and thresholds that widen
    every full queue, so ADR moves bounds within a few dozen steps."""
    cfg = shipped_cfg()
    cfg["env"].update(episodeLength=12, maxStepsWithoutSuccess=6)
    adr = cfg["task"]["adr"]
    adr.update(
        adr_queue_threshold_length=2,
        adr_objective_threshold_low=-2,
        adr_objective_threshold_high=-1,
        worker_adr_boundary_fraction=1.0,
    )
    return cfg


# ---------------------------------------------------------------------- config


def test_shipped_config_randomizes_at_least_twelve_dextreme_style_tensor_params() -> None:
    """The shipped yaml validates and defines the task's ADR parameters, timing ones categorical."""
    cfg = ReorientConfig.from_mapping(shipped_cfg())
    params = cfg.adr.params
    assert len(params) >= 12
    assert set(params) == set(REORIENT_ADR_PARAMS)
    assert all(spec.is_tensor for spec in params.values())
    assert params["action_latency"].type is ParamType.CATEGORICAL
    assert params["cube_pose_refresh_rate"].type is ParamType.CATEGORICAL
    assert cfg.adr.adr_objective_threshold_high > cfg.adr.adr_objective_threshold_low


def test_shipped_config_starts_benign_and_allows_hard_randomization() -> None:
    """Noise and delay parameters start near zero and may grow well past their init range."""
    params = ReorientConfig.from_mapping(shipped_cfg()).adr.params
    noise = [n for n in params if n.startswith("affine_")]
    for name in ["action_delay_prob", "cube_obs_delay_prob", *noise]:
        lo, hi = params[name].init_range
        assert lo == 0.0
        assert hi <= 0.05
        assert (params[name].limits[1] or 0.0) >= 10 * max(hi, 0.01)
    assert params["action_latency"].init_range == (0, 0)
    assert params["action_latency"].limits[1] == 6


def test_config_without_a_parameter_is_rejected_naming_it() -> None:
    """Dropping one ADR parameter from the config fails with a message naming it."""
    cfg = shipped_cfg()
    del cfg["task"]["adr"]["params"]["object_damping"]
    with pytest.raises(ConfigError, match="object_damping"):
        ReorientTask(cfg, num_envs=2)


def test_config_with_a_uniform_latency_is_rejected() -> None:
    """Action latency must be categorical (integer steps)."""
    cfg = shipped_cfg()
    cfg["task"]["adr"]["params"]["action_latency"]["type"] = "uniform"
    with pytest.raises(ConfigError, match="action_latency: type must be categorical"):
        ReorientTask(cfg, num_envs=2)


def test_config_with_an_unknown_env_key_is_rejected_naming_it() -> None:
    """A typo in the env block is reported, not ignored."""
    cfg = shipped_cfg()
    cfg["env"]["episodeLenght"] = 10
    with pytest.raises(ConfigError, match="env.episodeLenght: unknown key"):
        ReorientConfig.from_mapping(cfg)


def test_a_task_config_that_is_not_a_mapping_is_rejected_naming_its_type() -> None:
    """A list where the task config belongs is a ConfigError, not a pydantic traceback."""
    with pytest.raises(ConfigError, match="task config: expected a mapping, got list"):
        ReorientConfig.from_mapping([shipped_cfg()])  # type: ignore[arg-type]


def test_a_validated_task_config_passes_through_unchanged() -> None:
    """from_mapping of an already validated config returns that very object."""
    cfg = ReorientConfig.from_mapping(shipped_cfg())
    assert ReorientConfig.from_mapping(cfg) is cfg


# ---------------------------------------------------------------------- physics


def test_zero_torque_object_with_damping_slows_down_exponentially() -> None:
    """Without torque the angular speed decays by exp(-c dt / I) per step."""
    task = make_task()
    set_far_goals(task)
    task.ang_vel.copy_(torch.tensor([[3.0, -1.0, 2.0]]).expand(4, 3))
    speeds = []
    for _ in range(5):
        task.step(zeros(task))
        speeds.append(task.ang_vel.norm(dim=1))
    decay = math.exp(-1.0 * 0.05 / 1.0)
    for before, after in itertools.pairwise(speeds):
        assert bool((after < before).all())
        torch.testing.assert_close(after, before * decay)


def test_quaternions_stay_unit_norm_under_random_torques() -> None:
    """After many steps of random torques every orientation is still a unit quaternion."""
    task = make_task(num_envs=64)
    for actions in random_actions(64, 300, seed=1):
        task.step(actions)
        torch.testing.assert_close(task.rot.norm(dim=1), torch.ones(64), atol=1e-5, rtol=0)


def test_constant_spin_rotates_the_object_by_angular_speed_times_time() -> None:
    """An object spinning freely (no damping) turns by |w| dt per step."""
    cfg = clean_cfg()
    cfg["task"]["adr"]["params"]["object_damping"]["init_range"] = [0.0, 0.0]
    task = make_task(cfg, num_envs=1)
    set_far_goals(task)
    task.ang_vel.copy_(torch.tensor([[0.0, 0.0, 2.0]]))
    before = task.rot.clone()
    task.step(zeros(task))
    expected = quat_mul(quat_from_rotvec(torch.tensor([[0.0, 0.0, 2.0 * 0.05]])), before)
    torch.testing.assert_close(task.rot, expected)
    torch.testing.assert_close(rotation_distance(task.rot, before), torch.tensor([0.1]))


def test_reaching_the_goal_counts_a_success_pays_the_bonus_and_draws_a_new_goal() -> None:
    """An env at its goal scores a success, earns the bonus, gets a new goal and keeps going."""
    task = make_task(num_envs=2)
    set_far_goals(task)
    task.goal_rot[0] = task.rot[0]
    old_goal = task.goal_rot.clone()
    result = task.step(zeros(task))
    assert task.successes.tolist() == [1.0, 0.0]
    assert result.reward[0] > 250.0
    assert result.reward[1] < 10.0
    assert not torch.equal(task.goal_rot[0], old_goal[0])
    torch.testing.assert_close(task.goal_rot[1], old_goal[1])
    assert task.steps_without_success.tolist() == [0, 1]
    assert not bool(result.done.any())


def test_episode_ends_at_its_timeout_flagged_as_time_out() -> None:
    """With no success limit in reach the episode ends after episodeLength steps, as a timeout."""
    task = make_task(clean_cfg(episodeLength=5, maxStepsWithoutSuccess=100), num_envs=3)
    set_far_goals(task)
    dones = []
    for _ in range(5):
        result = task.step(zeros(task))
        dones.append(result.done.clone())
    assert not any(bool(d.any()) for d in dones[:4])
    assert bool(result.done.all())
    assert bool(result.time_out.all())
    assert task.progress.tolist() == [0, 0, 0]


def test_episode_ends_after_too_many_steps_without_success_not_as_time_out() -> None:
    """maxStepsWithoutSuccess ends the episode as a failure: done without time_out."""
    task = make_task(clean_cfg(episodeLength=100, maxStepsWithoutSuccess=3), num_envs=3)
    set_far_goals(task)
    results = [task.step(zeros(task)) for _ in range(3)]
    assert not bool(results[1].done.any())
    assert bool(results[2].done.all())
    assert not bool(results[2].time_out.any())


def test_finished_env_restarts_with_fresh_counters_and_state() -> None:
    """A finished env starts its next episode at rest with zeroed counters and buffers."""
    task = make_task(clean_cfg(episodeLength=3), num_envs=2)
    set_far_goals(task)
    task.goal_rot[0] = task.rot[0]
    for _ in range(3):
        result = task.step(torch.ones(2, 3))
    assert bool(result.done.all())
    assert result.episode_successes[0] >= 1.0
    assert task.successes.tolist() == [0.0, 0.0]
    assert task.progress.tolist() == [0, 0]
    assert bool((task.ang_vel == 0).all())
    assert bool((task.applied_action == 0).all())
    assert bool((task.action_queue == 0).all())


# ---------------------------------------------------------------------- ADR wiring


def test_finished_envs_report_their_consecutive_successes_to_the_engine_before_reset() -> None:
    """engine.update gets exactly the finished env ids and their episode's successes."""
    task = make_task(clean_cfg(episodeLength=3, maxStepsWithoutSuccess=100), num_envs=3)
    set_far_goals(task)
    calls: list[tuple[list[int], list[float]]] = []
    original: Callable[..., Any] = task.adr.update

    def recording_update(ids: torch.Tensor, objective: torch.Tensor) -> Any:
        calls.append((ids.tolist(), objective.tolist()))
        return original(ids, objective)

    task.adr.update = recording_update
    task.goal_rot[1] = task.rot[1]
    task.step(zeros(task))
    set_far_goals(task)
    task.goal_rot[1] = task.rot[1]
    task.step(zeros(task))
    set_far_goals(task)
    assert calls == []
    task.progress[2] = 0  # env 2 started late: only envs 0 and 1 finish now
    task.step(zeros(task))
    assert len(calls) == 1
    ids, objective = calls[0]
    assert ids == [0, 1]
    assert objective[:2] == [0.0, 2.0]


def test_finished_envs_start_their_next_episode_with_values_the_engine_resampled() -> None:
    """Per-episode noise of a restarted env comes from its ADR value after the update."""
    task = make_task(clean_cfg(episodeLength=2), num_envs=2)
    set_far_goals(task)
    task.adr.get("affine_action_additive").fill_(5.0)  # init range is [0, 0]
    task.progress[1] = -10  # env 1 keeps playing
    for _ in range(2):
        task.step(zeros(task))
    assert task.adr.get("affine_action_additive").tolist() == [0.0, 5.0]
    assert bool((task.action_additive[0] == 0).all())


def test_higher_latency_delays_the_action_effect_by_exactly_that_many_steps() -> None:
    """With latency L a torque pulse first moves the object L steps later."""
    task = make_task(num_envs=4)
    set_far_goals(task)
    task.adr.get("action_latency").copy_(torch.tensor([0, 1, 3, 6]))
    first_motion = [-1, -1, -1, -1]
    for step in range(9):
        actions = torch.ones(4, 3) if step == 0 else zeros(task)
        task.step(actions)
        for env in range(4):
            if first_motion[env] < 0 and bool((task.ang_vel[env] != 0).any()):
                first_motion[env] = step
    assert first_motion == [0, 1, 3, 6]


def test_higher_actuator_effort_gives_proportionally_larger_acceleration() -> None:
    """Doubling actuator_effort doubles the angular velocity gained from rest."""
    task = make_task(num_envs=2)
    set_far_goals(task)
    task.adr.get("actuator_effort").copy_(torch.tensor([1.0, 2.0]))
    task.step(torch.ones(2, 3))
    torch.testing.assert_close(task.ang_vel[1], 2.0 * task.ang_vel[0])
    assert bool((task.ang_vel[0] > 0).all())


def test_heavier_object_accelerates_less() -> None:
    """object_mass and object_inertia both scale the inertia the torque acts on."""
    task = make_task(num_envs=3)
    set_far_goals(task)
    task.adr.get("object_mass").copy_(torch.tensor([1.0, 2.0, 1.0]))
    task.adr.get("object_inertia").copy_(torch.tensor([1.0, 1.0, 4.0]))
    task.step(torch.ones(3, 3))
    speed = task.ang_vel[:, 0]
    assert bool(speed[0] > speed[1] > speed[2] > 0)


def test_action_delay_probability_one_keeps_the_previous_command() -> None:
    """An env whose actuator always misses updates never applies the new action."""
    task = make_task(num_envs=2)
    set_far_goals(task)
    task.adr.get("action_delay_prob").copy_(torch.tensor([0.0, 1.0]))
    task.step(torch.ones(2, 3))
    assert bool((task.ang_vel[0] > 0).all())
    assert bool((task.ang_vel[1] == 0).all())


def test_pose_observation_refreshes_only_every_refresh_rate_steps() -> None:
    """With refresh rate 3 the observed pose of a spinning object changes every third step."""
    task = make_task(num_envs=1)
    set_far_goals(task)
    task.adr.get("cube_pose_refresh_rate").fill_(3)
    task.pose_refresh_offset.fill_(1)
    task.ang_vel.fill_(1.0)
    changed = []
    for _ in range(7):
        before = task.observations()[:, :4]
        task.step(zeros(task))
        changed.append(not torch.equal(task.observations()[:, :4], before))
    # Progress p refreshes when (p + 1) % 3 == 0: p = 2, 5.
    assert changed == [False, True, False, False, True, False, False]


def test_observation_delay_probability_one_freezes_the_observed_pose() -> None:
    """An env whose pose observations are always delayed keeps showing its first pose."""
    task = make_task(num_envs=2)
    set_far_goals(task)
    task.adr.get("cube_obs_delay_prob").copy_(torch.tensor([0.0, 1.0]))
    task.ang_vel.fill_(1.0)
    first = task.observations()[:, :4]
    for _ in range(3):
        task.step(zeros(task))
    now = task.observations()[:, :4]
    assert not torch.equal(now[0], first[0])
    assert torch.equal(now[1], first[1])


def test_pose_noise_std_comes_from_adr_and_white_noise_changes_every_step() -> None:
    """White pose noise of std s perturbs the observed pose freshly at every step."""
    task = make_task(num_envs=256)
    set_far_goals(task)
    task.adr.get("affine_cube_pose_white").fill_(0.1)
    task.step(zeros(task))
    noise_a = task.observations()[:, :4] - task.rot
    task.step(zeros(task))
    noise_b = task.observations()[:, :4] - task.rot
    assert not torch.equal(noise_a, noise_b)
    assert 0.08 < float(noise_b.std()) < 0.12


def test_action_moving_average_anneals_over_steps_and_smooths_actions() -> None:
    """alpha moves from range[1] to range[0] on schedule and blends with the last command."""
    cfg = clean_cfg()
    cfg["env"]["actionsMovingAverage"] = {
        "range": [0.5, 1.0],
        "schedule_steps": 4,
        "schedule_freq": 2,
    }
    task = make_task(cfg, num_envs=1)
    set_far_goals(task)
    alphas = []
    for _ in range(6):
        task.step(torch.ones(1, 3))
        alphas.append(task.action_moving_average)
    assert alphas == [1.0, 1.0, 0.75, 0.75, 0.5, 0.5]
    task.step(zeros(task))
    assert task.applied_action[0, 0].item() == pytest.approx(0.5)


def test_use_adr_false_keeps_ranges_at_their_init_range() -> None:
    """With use_adr false the ranges never move, however good the results."""
    cfg = fast_adr_cfg()
    cfg["task"]["adr"]["use_adr"] = False
    task = ReorientTask(cfg, num_envs=16, seed=0)
    for actions in random_actions(16, 60, seed=2):
        task.step(actions)
    torch.testing.assert_close(task.adr.bounds, task.adr.params.init)


class SoloExchange:
    """An in-memory BoundaryExchange of a one-rank run that counts its collectives."""

    rank = 0
    world_size = 1
    blocking = False  # one fixed-size collective per update

    def __init__(self) -> None:
        self.calls = 0

    def all_gather(self, tensor: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return tensor.unsqueeze(0).clone()


def test_with_an_exchange_the_engine_is_updated_every_step_even_without_finished_envs() -> None:
    """Distributed ADR is a collective: every step updates the engine once, finished envs or not."""
    exchange = SoloExchange()
    task = ReorientTask(clean_cfg(), num_envs=4, seed=0, adr_seed=7, adr_exchange=exchange)
    set_far_goals(task)
    at_start = exchange.calls
    results = [task.step(zeros(task)) for _ in range(3)]
    assert exchange.calls - at_start == 3
    assert all(r.num_finished == 0 and r.adr_report is not None for r in results)
    assert task.adr.step == 3


def test_without_an_exchange_steps_with_no_finished_env_leave_the_engine_alone() -> None:
    """In one process an update with nothing to report is skipped (it costs a fixed overhead)."""
    task = make_task(num_envs=4)
    set_far_goals(task)
    results = [task.step(zeros(task)) for _ in range(3)]
    assert all(r.adr_report is None for r in results)
    assert task.adr.step == 0


# ---------------------------------------------------------------------- determinism and resume


def run(task: ReorientTask, actions: list[torch.Tensor]) -> list[torch.Tensor]:
    """Step through ``actions``; one flat tensor of everything observable per step."""
    out = []
    for a in actions:
        r = task.step(a)
        out.append(torch.cat([r.obs.flatten(), r.reward, r.done.float(), r.time_out.float()]))
    return out


def assert_same_state(a: Any, b: Any, path: str = "state") -> None:
    """Nested state dicts are equal, tensors bit for bit."""
    assert type(a) is type(b), path
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_same_state(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b), path
    else:
        assert a == b, path


def test_same_seed_gives_identical_trajectories_and_another_seed_does_not() -> None:
    """Two tasks with one seed agree bit for bit through resets and ADR moves; seeds matter."""
    actions = random_actions(32, 40, seed=3)
    first = run(ReorientTask(fast_adr_cfg(), num_envs=32, seed=5), actions)
    second = run(ReorientTask(fast_adr_cfg(), num_envs=32, seed=5), actions)
    other = run(ReorientTask(fast_adr_cfg(), num_envs=32, seed=6), actions)
    assert all(torch.equal(x, y) for x, y in zip(first, second, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(first, other, strict=True))


def test_task_never_draws_from_the_global_torch_rng() -> None:
    """Constructing, stepping and resetting leave the global torch RNG untouched."""
    before = torch.get_rng_state()
    task = ReorientTask(fast_adr_cfg(), num_envs=8, seed=0)
    run(task, random_actions(8, 20, seed=4))
    task.reset()
    assert torch.equal(torch.get_rng_state(), before)


def test_resumed_task_continues_bit_identically_to_an_uninterrupted_run() -> None:
    """N steps, save via torch.save, load into a fresh task, M steps == N + M steps straight."""
    n_envs, n_steps, m_steps = 16, 25, 25
    actions = random_actions(n_envs, n_steps + m_steps, seed=7)
    straight = ReorientTask(fast_adr_cfg(), num_envs=n_envs, seed=11)
    straight_out = run(straight, actions)

    first = ReorientTask(fast_adr_cfg(), num_envs=n_envs, seed=11)
    first_out = run(first, actions[:n_steps])
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    resumed = ReorientTask(fast_adr_cfg(), num_envs=n_envs, seed=999)
    resumed.load_state_dict(saved)
    resumed_out = run(resumed, actions[n_steps:])

    assert straight.adr.step > 0
    assert bool((straight.adr.bounds != straight.adr.params.init).any())
    for x, y in zip(straight_out, first_out + resumed_out, strict=True):
        assert torch.equal(x, y)
    assert_same_state(straight.state_dict(), resumed.state_dict())


def test_state_dict_holds_only_checkpoint_safe_types() -> None:
    """The state is nested dicts/lists of CPU tensors, ints, floats, bools and strs."""

    def check(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                assert isinstance(key, str), path
                check(item, f"{path}.{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                check(item, f"{path}[{i}]")
        elif isinstance(value, torch.Tensor):
            assert value.device.type == "cpu", path
        else:
            assert isinstance(value, (int, float, bool, str)), f"{path}: {type(value)}"

    task = ReorientTask(fast_adr_cfg(), num_envs=4, seed=0)
    run(task, random_actions(4, 5, seed=0))
    state = task.state_dict()
    check(state, "state")
    assert set(state) == {"schema_version", "task_name", "adr", "task"}
    assert set(state["task"]) == set(ReorientTaskState.__annotations__)
    assert state["task"]["obs"].shape == (4, OBS_DIM)


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda s: s["task"].update(rot=torch.zeros(3, 4)), "task.rot has shape"),
        (lambda s: s["task"].update(progress=s["task"]["progress"].float()), "task.progress"),
        (lambda s: s["task"].pop("action_queue"), "task.action_queue must be a tensor"),
        (lambda s: s["task"].update(num_envs=5), "task.num_envs is 5"),
        (lambda s: s["task"].update(queue_head=99), "task.queue_head"),
        (lambda s: s["task"].update(rng=torch.zeros(3)), "task.rng"),
        (lambda s: s.update(schema_version=99), "schema_version 99"),
        (lambda s: s["adr"].update(num_envs=5), "ADR engine state holds 5 envs"),
    ],
)
def test_malformed_state_is_rejected_naming_the_problem_and_changes_nothing(
    corrupt: Callable[[dict[str, Any]], None], message: str
) -> None:
    """Loading a corrupted state raises a ValueError naming the entry; the task is untouched."""
    task = ReorientTask(fast_adr_cfg(), num_envs=4, seed=0)
    run(task, random_actions(4, 5, seed=0))
    other = ReorientTask(fast_adr_cfg(), num_envs=4, seed=1)
    before = other.state_dict()
    state: dict[str, Any] = copy.deepcopy(dict(task.state_dict()))
    corrupt(state)
    with pytest.raises(ValueError, match=message):
        other.load_state_dict(state)
    assert_same_state(before, other.state_dict())


def test_adr_load_from_checkpoint_false_restores_all_but_the_ranges() -> None:
    """adr_load_from_checkpoint: false keeps fresh ranges but restores the simulation."""
    task = ReorientTask(fast_adr_cfg(), num_envs=16, seed=0)
    run(task, random_actions(16, 30, seed=1))
    assert bool((task.adr.bounds != task.adr.params.init).any())
    cfg = fast_adr_cfg()
    cfg["task"]["adr"]["adr_load_from_checkpoint"] = False
    fresh = ReorientTask(cfg, num_envs=16, seed=3)
    fresh.load_state_dict(task.state_dict())
    torch.testing.assert_close(fresh.adr.bounds, fresh.adr.params.init)
    assert torch.equal(fresh.rot, task.rot)
    assert fresh.frame == task.frame


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "actions",
    [
        torch.zeros(4, 2),
        torch.zeros(3, 3),
        torch.zeros(4, 3, 1),
        torch.zeros(4, 3, dtype=torch.long),
    ],
    ids=["two-columns", "too-few-envs", "extra-dim", "integer"],
)
def test_malformed_actions_are_rejected_naming_actions(actions: torch.Tensor) -> None:
    """Actions of the wrong shape or dtype raise a ValueError that names them; nothing moves."""
    task = make_task(num_envs=4)
    before = task.state_dict()
    with pytest.raises(ValueError, match="actions"):
        task.step(actions)
    assert_same_state(before, task.state_dict())
