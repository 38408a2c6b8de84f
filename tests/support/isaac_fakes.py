"""A simulator-free stand-in for IsaacGymEnvs' ``VecTaskDextreme`` and the bit of Isaac Gym it uses.

Only the simulator base is faked: ``FakeGym`` keeps each env's actors and
their properties (DOF records as numpy structured arrays, rigid bodies and
shapes as small objects, scale, colours), so tests can check what the
adapter wrote; ``VecTaskDextreme`` follows the reference's constructor order
(gym acquired, ``first_randomization``, ``create_sim``, ``prepare_sim``,
``sim_initialized``, ``allocate_buffers``) and its ``step``. ``ADRVecTask``
is built exactly as ``adr_isaac.isaacgym_task.ADRVecTask``: the adapter's
mixin in front of the base.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from adr_isaac import ADRTaskMixin

DOF_DTYPE = np.dtype(
    [
        ("hasLimits", np.bool_),
        ("lower", np.float32),
        ("upper", np.float32),
        ("driveMode", np.int32),
        ("velocity", np.float32),
        ("effort", np.float32),
        ("stiffness", np.float32),
        ("damping", np.float32),
        ("friction", np.float32),
        ("armature", np.float32),
    ]
)


@dataclass
class Vec3:
    """``gymapi.Vec3``."""

    x: float = 0.0
    y: float = 0.0
    z: float = 0.0


@dataclass
class RigidBody:
    """``gymapi.RigidBodyProperties`` (the fields DR touches)."""

    mass: float = 1.0


@dataclass
class RigidShape:
    """``gymapi.RigidShapeProperties`` (the fields DR touches)."""

    friction: float = 1.0
    restitution: float = 0.0


@dataclass
class SimParams:
    """``gymapi.SimParams``."""

    dt: float = 1 / 60
    gravity: Vec3 = field(default_factory=lambda: Vec3(0.0, 0.0, -9.81))


class FakeGymApi:
    """The ``gymapi`` names the adapter uses."""

    MESH_VISUAL = 1
    Vec3 = Vec3


@dataclass
class Asset:
    """An asset: default properties copied into every actor made from it."""

    dofs: np.ndarray
    bodies: list[RigidBody]
    shapes: list[RigidShape]


def hand_asset(num_dofs: int = 16, num_bodies: int = 5) -> Asset:
    """A hand with the defaults the DeXtreme task writes before creating actors."""
    dofs = np.zeros(num_dofs, dtype=DOF_DTYPE)
    dofs["hasLimits"] = True
    dofs["lower"] = np.linspace(-0.5, 0.0, num_dofs)
    dofs["upper"] = np.linspace(1.0, 1.6, num_dofs)
    dofs["effort"] = 0.5
    dofs["stiffness"] = 2.0
    dofs["damping"] = 0.1
    dofs["friction"] = 0.01
    dofs["armature"] = 0.002
    bodies = [RigidBody(mass=0.05 + 0.01 * i) for i in range(num_bodies)]
    shapes = [RigidShape(friction=1.0, restitution=0.0) for _ in range(num_bodies)]
    return Asset(dofs, bodies, shapes)


def cube_asset() -> Asset:
    """A cube: no DOFs, one body, one shape."""
    return Asset(np.zeros(0, dtype=DOF_DTYPE), [RigidBody(mass=0.1)], [RigidShape(1.0, 0.0)])


@dataclass
class Actor:
    """An actor's current properties."""

    name: str
    dofs: np.ndarray
    bodies: list[RigidBody]
    shapes: list[RigidShape]
    scale: float = 1.0
    colors: dict[int, Vec3] = field(default_factory=dict)


@dataclass
class Env:
    """An env: its actors by handle."""

    index: int
    actors: list[Actor] = field(default_factory=list)


class FakeSim:
    """A sim handle."""


class FakeGym:
    """The Isaac Gym calls tasks and the adapter make, on plain Python data."""

    def __init__(self) -> None:
        self.envs: list[Env] = []
        self.frame = 0
        self.prepared = False
        self.params = SimParams()
        self.scale_writes_after_prepare = 0
        self.property_writes = 0

    # sim
    def create_sim(self, compute: int, graphics: int, engine: int, params: SimParams) -> FakeSim:
        self.params = copy.deepcopy(params)
        return FakeSim()

    def prepare_sim(self, sim: FakeSim) -> bool:
        self.prepared = True
        return True

    def simulate(self, sim: FakeSim) -> None:
        self.frame += 1

    def fetch_results(self, sim: FakeSim, wait: bool) -> None:
        pass

    def get_frame_count(self, sim: FakeSim) -> int:
        return self.frame

    def get_sim_params(self, sim: FakeSim) -> SimParams:
        return copy.deepcopy(self.params)

    def set_sim_params(self, sim: FakeSim, params: SimParams) -> None:
        self.params = copy.deepcopy(params)

    # assets, envs and actors
    def load_asset(self, sim: FakeSim, root: str, filename: str, options: Any = None) -> Asset:
        return {"hand": hand_asset, "cube": cube_asset}[filename]()

    def create_env(self, sim: FakeSim, *args: Any) -> Env:
        env = Env(len(self.envs))
        self.envs.append(env)
        return env

    def create_actor(self, env: Env, asset: Asset, pose: Any, name: str, *args: Any) -> int:
        env.actors.append(
            Actor(name, asset.dofs.copy(), copy.deepcopy(asset.bodies), copy.deepcopy(asset.shapes))
        )
        return len(env.actors) - 1

    def find_actor_handle(self, env: Env, name: str) -> int:
        for handle, actor in enumerate(env.actors):
            if actor.name == name:
                return handle
        return -1

    def get_actor_dof_properties(self, env: Env, handle: int) -> np.ndarray:
        return env.actors[handle].dofs.copy()

    def set_actor_dof_properties(self, env: Env, handle: int, props: np.ndarray) -> bool:
        actor = env.actors[handle]
        if props.dtype != DOF_DTYPE or props.shape != actor.dofs.shape:
            raise ValueError("DOF properties of the wrong layout")
        actor.dofs = props.copy()
        self.property_writes += 1
        return True

    def get_actor_rigid_body_properties(self, env: Env, handle: int) -> list[RigidBody]:
        return copy.deepcopy(env.actors[handle].bodies)

    def set_actor_rigid_body_properties(
        self, env: Env, handle: int, props: list[RigidBody], recompute_inertia: bool = False
    ) -> bool:
        env.actors[handle].bodies = copy.deepcopy(props)
        self.property_writes += 1
        return True

    def get_actor_rigid_shape_properties(self, env: Env, handle: int) -> list[RigidShape]:
        return copy.deepcopy(env.actors[handle].shapes)

    def set_actor_rigid_shape_properties(
        self, env: Env, handle: int, props: list[RigidShape]
    ) -> bool:
        env.actors[handle].shapes = copy.deepcopy(props)
        self.property_writes += 1
        return True

    def set_actor_scale(self, env: Env, handle: int, scale: float) -> bool:
        if self.prepared:
            self.scale_writes_after_prepare += 1
        env.actors[handle].scale = float(scale)
        return True

    def get_actor_rigid_body_count(self, env: Env, handle: int) -> int:
        return len(env.actors[handle].bodies)

    def set_rigid_body_color(
        self, env: Env, handle: int, body: int, mesh_type: int, color: Vec3
    ) -> None:
        env.actors[handle].colors[body] = color

    # test helpers
    def actor(self, env_id: int, name: str) -> Actor:
        """The actor called ``name`` in env ``env_id``."""
        env = self.envs[env_id]
        return env.actors[self.find_actor_handle(env, name)]

    def physical_snapshot(self) -> list[dict[str, Any]]:
        """Every env's physical actor properties and the gravity, as comparable data."""
        out: list[dict[str, Any]] = []
        for env in self.envs:
            for actor in env.actors:
                out.append(
                    {
                        "env": env.index,
                        "actor": actor.name,
                        "dofs": actor.dofs.tobytes(),
                        "bodies": [b.mass for b in actor.bodies],
                        "shapes": [(s.friction, s.restitution) for s in actor.shapes],
                        "scale": actor.scale,
                    }
                )
        g = self.params.gravity
        out.append({"gravity": (g.x, g.y, g.z)})
        return out


class VecTaskDextreme:
    """Stand-in for IsaacGymEnvs' ``VecTaskDextreme`` (same constructor order and ``step``)."""

    def __init__(
        self,
        config: dict[str, Any],
        rl_device: str,
        sim_device: str,
        graphics_device_id: int,
        headless: bool,
        use_dict_obs: bool = False,
    ) -> None:
        kind, _, index = sim_device.partition(":")
        self.device_type = kind
        self.device_id = int(index) if index else 0
        self.device = "cpu"
        if config["sim"]["use_gpu_pipeline"] and kind in ("cuda", "gpu"):
            self.device = f"cuda:{self.device_id}"
        self.rl_device = rl_device
        self.headless = headless
        self.graphics_device_id = graphics_device_id
        self.use_dict_obs = use_dict_obs
        self.num_environments = config["env"]["numEnvs"]
        self.num_observations = config["env"].get("numObservations", 0)
        self.num_states = config["env"].get("numStates", 0)
        self.num_actions = config["env"]["numActions"]
        self.control_freq_inv = config["env"].get("controlFrequencyInv", 1)
        self.clip_obs = config["env"].get("clipObservations", np.inf)
        self.clip_actions = config["env"].get("clipActions", np.inf)
        self.sim_params = SimParams(gravity=Vec3(*config["sim"].get("gravity", [0, 0, -9.81])))
        self.physics_engine = 0
        self.gym = FakeGym()
        self.first_randomization = True
        self.randomize = self.cfg["task"]["randomize"]
        self.original_props: dict[str, Any] = {}
        self.last_step = -1
        self.last_rand_step = -1
        self.base_set_env_state_calls = 0
        self.sim_initialized = False
        self.create_sim()
        self.gym.prepare_sim(self.sim)
        self.sim_initialized = True
        self.viewer = None
        self.allocate_buffers()

    @property
    def num_envs(self) -> int:
        return self.num_environments

    def allocate_buffers(self) -> None:
        n = self.num_envs
        self.obs_dict: dict[str, torch.Tensor] = {}
        self.obs_buf = torch.zeros((n, self.num_observations), device=self.device)
        self.states_buf = torch.zeros((n, self.num_states), device=self.device)
        self.rew_buf = torch.zeros(n, device=self.device)
        self.reset_buf = torch.ones(n, device=self.device, dtype=torch.long)
        self.timeout_buf = torch.zeros(n, device=self.device, dtype=torch.long)
        self.progress_buf = torch.zeros(n, device=self.device, dtype=torch.long)
        self.randomize_buf = torch.zeros(n, device=self.device, dtype=torch.long)
        self.extras: dict[str, Any] = {}

    def create_sim(
        self, compute_device: int, graphics_device: int, physics_engine: int, sim_params: SimParams
    ) -> FakeSim:
        return self.gym.create_sim(compute_device, graphics_device, physics_engine, sim_params)

    def step(
        self, actions: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor, dict[str, Any]]:
        action_tensor = torch.clamp(actions, -self.clip_actions, self.clip_actions)
        self.pre_physics_step(action_tensor)
        for _ in range(self.control_freq_inv):
            self.gym.simulate(self.sim)
        if self.device == "cpu":
            self.gym.fetch_results(self.sim, True)
        self.post_physics_step()
        self.timeout_buf = (self.progress_buf >= self.max_episode_length - 1) & (
            self.reset_buf != 0
        )
        self.extras["time_outs"] = self.timeout_buf
        self.obs_dict["obs"] = torch.clamp(self.obs_buf, -self.clip_obs, self.clip_obs)
        return self.obs_dict, self.rew_buf, self.reset_buf, self.extras

    def reset(self) -> dict[str, torch.Tensor]:
        self.step(torch.zeros((self.num_envs, self.num_actions), device=self.device))
        return self.obs_dict

    # The reference's own env-state methods: the adapter must not rely on them.
    def get_env_state(self) -> dict[str, Any]:
        return {"adr_params": self.adr_params} if self.use_adr else {}

    def set_env_state(self, env_state: Any) -> None:
        self.base_set_env_state_calls += 1


class ADRVecTask(ADRTaskMixin, VecTaskDextreme):
    """As ``adr_isaac.isaacgym_task.ADRVecTask``, on the stand-in base."""

    gym_api = FakeGymApi()
