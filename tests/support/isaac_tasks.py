"""DeXtreme-style tasks written against IsaacGymEnvs' ``ADRVecTask`` API, for adapter tests.

``CubeHandTask`` and ``CubeHandTaskADR`` follow IsaacGymEnvs'
``AllegroHandDextreme`` / ``AllegroHandDextremeADR`` (constructor order,
``create_sim``, the ADR branch of ``pre_physics_step``, the randomisation
callback, ``get_env_state`` adding ``act_moving_average``) with a toy
objective instead of physics; they use only the reference's API. Their own
randomness comes from one generator so that runs are repeatable.
``ResumableCubeHandTask`` adds a third env-state level that restores its
episode buffers, so that a restored run continues exactly.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import yaml

from adr_isaac import RolloutWorkerModes, restore_tensor
from builders import dextreme_adr_cfg
from isaac_fakes import ADRVecTask
from paths import CFG

DR_BLOCK = CFG / "dr" / "allegro_hand_dextreme.yaml"


def dextreme_dr_params() -> dict[str, Any]:
    """The shipped AllegroHandDextremeADR ``randomization_params`` block."""
    with DR_BLOCK.open() as f:
        block: dict[str, Any] = yaml.safe_load(f)
    return block


def task_config(
    num_envs: int = 48, *, queue_length: int = 2, load_from_checkpoint: bool = True, seed: int = 7
) -> dict[str, Any]:
    """A task config with the real DeXtreme ADR and DR blocks and short ADR queues."""
    adr = dextreme_adr_cfg()
    adr["adr_queue_threshold_length"] = queue_length
    adr["adr_load_from_checkpoint"] = load_from_checkpoint
    return {
        "seed": seed,
        "physics_engine": "physx",
        "env": {
            "numEnvs": num_envs,
            "episodeLength": 8,
            "numObservations": 4,
            "controlFrequencyInv": 2,
            "clipActions": 1.0,
            "clipObservations": 5.0,
            "actionsMovingAverage": {
                "range": [0.15, 0.2],
                "schedule_steps": 120,
                "schedule_freq": 12,
            },
        },
        "sim": {"use_gpu_pipeline": False, "gravity": [0.0, 0.0, -9.81]},
        "task": {"randomize": True, "randomization_params": dextreme_dr_params(), "adr": adr},
    }


class CubeHandTask(ADRVecTask):
    """A hand turning a cube, as IsaacGymEnvs' ``AllegroHandDextreme`` (no physics)."""

    # Added by get_env_state below and restored by the ADR level, by attribute.
    env_state_keys = ("act_moving_average",)

    def __init__(
        self,
        cfg: dict[str, Any],
        rl_device: str = "cpu",
        sim_device: str = "cpu",
        graphics_device_id: int = -1,
        headless: bool = True,
        virtual_screen_capture: bool = False,
        force_render: bool = False,
    ) -> None:
        self.cfg = copy.deepcopy(cfg)
        self._read_cfg()
        self.cfg["env"]["numActions"] = 16
        self.sim_device = sim_device
        self._init_pre_sim_buffers()
        super().__init__(
            config=self.cfg,
            rl_device=rl_device,
            sim_device=sim_device,
            graphics_device_id=graphics_device_id,
            headless=headless,
            use_dict_obs=False,
        )
        self._init_post_sim_buffers()
        if self.use_adr:
            self.apply_reset_buf = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)

    def get_env_state(self) -> dict[str, Any]:
        env_dict = dict(act_moving_average=self.act_moving_average)
        if self.use_adr:
            env_dict = dict(**env_dict, **super().get_env_state())
        return env_dict

    def _read_cfg(self) -> None:
        self.randomize = self.cfg["task"]["randomize"]
        self.randomization_params = self.cfg["task"]["randomization_params"]
        self.max_episode_length = self.cfg["env"]["episodeLength"]
        average = self.cfg["env"]["actionsMovingAverage"]
        self.act_moving_average_lower, self.act_moving_average_upper = average["range"]
        self.act_moving_average_scheduled_steps = average["schedule_steps"]
        self.act_moving_average_scheduled_freq = average["schedule_freq"]
        self.act_moving_average = self.act_moving_average_upper
        self.dynamics_rng = torch.Generator().manual_seed(self.cfg["seed"] + 1)

    def _init_pre_sim_buffers(self) -> None:
        n = self.cfg["env"]["numEnvs"]
        self.cube_random_params = torch.zeros((n, 3), dtype=torch.float, device=self.sim_device)
        self.hand_random_params = torch.zeros((n, 1), dtype=torch.float, device=self.sim_device)
        self.gravity_vec = torch.zeros((n, 3), dtype=torch.float, device=self.sim_device)

    def _init_post_sim_buffers(self) -> None:
        n = self.num_envs
        self.successes = torch.zeros(n, dtype=torch.float, device=self.device)
        self.actions = torch.zeros((n, self.num_actions), device=self.device)
        self.cur_targets = torch.zeros((n, self.num_actions), device=self.device)
        self.prev_targets = torch.zeros((n, self.num_actions), device=self.device)

    def create_sim(self) -> None:
        self.sim = super().create_sim(
            self.device_id, self.graphics_device_id, self.physics_engine, self.sim_params
        )
        hand = self.gym.load_asset(self.sim, "assets", "hand")
        cube = self.gym.load_asset(self.sim, "assets", "cube")
        self.envs = []
        for i in range(self.num_envs):
            env = self.gym.create_env(self.sim, None, None, 8)
            self.gym.create_actor(env, hand, None, "hand", i, -1, 0)
            self.gym.create_actor(env, cube, None, "object", i, 0, 0)
            self.gym.create_actor(env, cube, None, "goal_object", i + self.num_envs, 0, 0)
            self.envs.append(env)

    def update_action_moving_average(self) -> None:
        if self.last_step > 0 and self.last_step % self.act_moving_average_scheduled_freq == 0:
            steps = self.act_moving_average_scheduled_steps
            scaling = min(self.last_step, steps) / steps
            self.act_moving_average = (
                self.act_moving_average_upper
                + (self.act_moving_average_lower - self.act_moving_average_upper) * scaling
            )

    def pre_physics_step(self, actions: torch.Tensor) -> None:
        self.update_action_moving_average()
        env_ids_reset = self.reset_buf.nonzero(as_tuple=False).squeeze(-1)
        if self.randomize and self.use_adr:
            env_mask_randomize = (self.reset_buf & ~self.apply_reset_buf).bool()
            env_ids_reset = self.apply_reset_buf.nonzero(as_tuple=False).flatten()
            if len(env_mask_randomize.nonzero(as_tuple=False).flatten()) > 0:
                self.apply_randomizations(
                    dr_params=self.randomization_params,
                    randomize_buf=env_mask_randomize,
                    adr_objective=self.successes,
                    randomisation_callback=self.randomisation_callback,
                )
                self.apply_reset_buf[env_mask_randomize] = 1
        if len(env_ids_reset) > 0:
            self.reset_idx(env_ids_reset)
        self.actions = actions.clone()
        self.cur_targets = (
            self.act_moving_average * actions + (1.0 - self.act_moving_average) * self.prev_targets
        )

    def reset_idx(self, env_ids: torch.Tensor) -> None:
        if self.use_adr and len(env_ids) == self.num_envs:
            self.progress_buf = torch.randint(
                0, self.max_episode_length, (self.num_envs,), generator=self.dynamics_rng
            )
        else:
            self.progress_buf[env_ids] = 0
        self.reset_buf[env_ids] = 0
        if self.use_adr:
            self.apply_reset_buf[env_ids] = 0
        self.successes[env_ids] = 0

    def post_physics_step(self) -> None:
        self.progress_buf += 1
        # Boundary workers of every third bound do well (their bounds widen);
        # everybody else lands between the thresholds.
        gain = torch.randint(0, 3, (self.num_envs,), generator=self.dynamics_rng).float()
        strong = (self.worker_types == RolloutWorkerModes.ADR_BOUNDARY) & (self.adr_modes % 3 == 0)
        self.successes += gain * torch.where(strong, 4.0, 1.0)
        self.rew_buf[:] = self.successes
        done = self.progress_buf >= self.max_episode_length - 1
        self.reset_buf = torch.where(done, torch.ones_like(self.reset_buf), self.reset_buf)
        self.prev_targets = self.cur_targets.clone()

    def randomisation_callback(
        self, param_name: str, param_val: Any, env_id: int | None = None, actor: str | None = None
    ) -> None:
        if param_name == "gravity":
            self.gravity_vec[:, 0] = param_val.x
            self.gravity_vec[:, 1] = param_val.y
            self.gravity_vec[:, 2] = param_val.z
        elif param_name == "scale" and actor == "object":
            self.cube_random_params[env_id, 0] = param_val.mean()
        elif param_name == "mass" and actor == "object":
            self.cube_random_params[env_id, 1] = np.mean(param_val)
        elif param_name == "friction" and actor == "object":
            self.cube_random_params[env_id, 2] = np.mean(param_val)
        elif param_name == "scale" and actor == "hand":
            self.hand_random_params[env_id, 0] = param_val.mean()


class CubeHandTaskADR(CubeHandTask):
    """As IsaacGymEnvs' ``AllegroHandDextremeADR``: randomizes at ``create_sim`` and
    draws per-env action latency and noise from ADR tensor parameters."""

    def _init_pre_sim_buffers(self) -> None:
        super()._init_pre_sim_buffers()
        n = self.cfg["env"]["numEnvs"]
        self.action_latency = torch.zeros(n, dtype=torch.long, device=self.sim_device)
        self.affine_actions_additive = torch.zeros(n, 16, dtype=torch.float, device=self.sim_device)

    def sample_discrete_adr(self, param_name: str, env_ids: torch.Tensor) -> torch.Tensor:
        adr_value = self.get_adr_tensor(param_name, env_ids=env_ids)
        fuzz = torch.rand(adr_value.shape, generator=self.dynamics_rng) - 0.5
        return (adr_value - fuzz).round().long()

    def sample_gaussian_adr(
        self, param_name: str, env_ids: torch.Tensor, trailing_dim: int = 1
    ) -> torch.Tensor:
        adr_value = self.get_adr_tensor(param_name, env_ids=env_ids).view(-1, 1)
        stdev = torch.where(
            adr_value > 0, torch.exp(adr_value**2) - 1.0, torch.zeros_like(adr_value)
        )
        noise = torch.randn(len(env_ids), trailing_dim, generator=self.dynamics_rng)
        return noise * stdev

    def apply_randomizations(
        self,
        dr_params: dict[str, Any],
        randomize_buf: torch.Tensor,
        adr_objective: torch.Tensor | None = None,
        randomisation_callback: Any = None,
    ) -> None:
        super().apply_randomizations(
            dr_params,
            randomize_buf,
            adr_objective,
            randomisation_callback=self.randomisation_callback,
        )
        env_ids = randomize_buf.nonzero(as_tuple=False).squeeze(-1)
        self.action_latency[env_ids] = self.sample_discrete_adr("action_latency", env_ids)
        self.affine_actions_additive[env_ids] = self.sample_gaussian_adr(
            "affine_action_additive", env_ids, trailing_dim=self.num_actions
        )

    def create_sim(self) -> None:
        super().create_sim()
        if self.randomize and self.use_adr:
            adr_objective = torch.zeros(self.num_envs, dtype=float, device=self.device)
            apply_rand_ones = torch.ones(self.num_envs, dtype=bool, device=self.device)
            self.apply_randomizations(
                self.randomization_params,
                apply_rand_ones,
                adr_objective=adr_objective,
                randomisation_callback=self.randomisation_callback,
            )


class ResumableCubeHandTask(CubeHandTaskADR):
    """A third level that saves and restores its episode buffers and random stream."""

    restores_episode_state = True
    BUFFERS = (
        "progress_buf",
        "reset_buf",
        "apply_reset_buf",
        "successes",
        "prev_targets",
        "action_latency",
        "affine_actions_additive",
        "cube_random_params",
        "hand_random_params",
        "gravity_vec",
    )

    def get_env_state(self) -> dict[str, Any]:
        state = super().get_env_state()
        for name in self.BUFFERS:
            state[name] = getattr(self, name).clone()
        state["dynamics_rng"] = self.dynamics_rng.get_state()
        return state

    def set_env_state(self, env_state: dict[str, Any] | None) -> None:
        taken, rest = self.take_env_state(env_state, *self.BUFFERS, "dynamics_rng")
        for name in self.BUFFERS:
            if name in taken:
                restore_tensor(getattr(self, name), taken[name], name)
        if "dynamics_rng" in taken:
            self.dynamics_rng.set_state(taken["dynamics_rng"])
        super().set_env_state(rest)


def run(task: CubeHandTask, steps: int) -> None:
    """Step a task with zero actions."""
    actions = torch.zeros((task.num_envs, task.num_actions))
    for _ in range(steps):
        task.step(actions)


def hand_damping_multipliers(task: CubeHandTask) -> np.ndarray:
    """``(num_envs, num_dofs)`` hand DOF damping in the simulator over the asset's damping."""
    original = hand_asset_damping()
    return (
        np.stack(
            [
                task.gym.actor(i, "hand").dofs["damping"].astype(np.float64)
                for i in range(task.num_envs)
            ]
        )
        / original
    )


def hand_asset_damping() -> np.ndarray:
    """The hand asset's DOF damping, as float64."""
    from isaac_fakes import hand_asset

    return hand_asset().dofs["damping"].astype(np.float64)


def assert_same(a: Any, b: Any, path: str = "state") -> None:
    """Assert two nested states (dicts, lists, tensors, numbers) are identical."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor), path
        assert a.dtype == b.dtype and a.shape == b.shape, path
        assert torch.equal(a, b) or (
            a.is_floating_point()
            and torch.equal(a.isnan(), b.isnan())
            and torch.equal(a.nan_to_num(), b.nan_to_num())
        ), path
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: {sorted(a)} != {sorted(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"
