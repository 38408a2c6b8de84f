"""The ADR push (``adr_push``) on a real Newton scene: a free box beside Isaac Lab's Cartpole.

Each pushed env's box gets a planar kick within its ADR push strength, which
the simulator keeps through a step of free flight; the other envs' boxes stay still.
"""

from __future__ import annotations

import isaaclab.sim as sim_utils
import torch
from isaaclab.assets import RigidObjectCfg
from isaaclab.managers import SceneEntityCfg

from adr_lab import Survived
from adr_lab.isaaclab import adr_value
from adr_lab.isaaclab.consumers import adr_push, push_event
from isaaclab_env import BINDINGS, SMALL_ADR, built, cartpole_cfg, play, with_adr

NUM_ENVS = 4
PUSHED = torch.tensor([1, 3])
BOX = SceneEntityCfg("box")
PUSH = {"init_range": [0.5, 1.0], "limits": [0.0, 2.0], "delta": 0.1}


def _box() -> RigidObjectCfg:
    """A 1 kg cube 2 m above the ground: in free flight for the test's steps."""
    cube = sim_utils.CuboidCfg(
        size=(0.1, 0.1, 0.1),
        rigid_props=[sim_utils.UsdPhysicsRigidBodyCfg()],
        mass_props=[sim_utils.MassCfg(mass=1.0)],
        collision_props=[sim_utils.UsdPhysicsCollisionCfg()],
    )
    return RigidObjectCfg(
        prim_path="{ENV_REGEX_NS}/Box",
        spawn=cube,
        init_state=RigidObjectCfg.InitialStateCfg(pos=(0.0, 1.0, 2.0)),
    )


def test_a_push_kicks_only_the_pushed_envs_within_their_adr_strength() -> None:
    cfg = cartpole_cfg(NUM_ENVS)
    cfg.scene.box = _box()
    adr = {**SMALL_ADR, "params": {**SMALL_ADR["params"], "push_velocity": PUSH}}
    with_adr(cfg, adr=adr, objective=Survived(), bindings=BINDINGS)
    with built(cfg) as env:
        box = env.scene["box"]
        strength = adr_value(env, "push_velocity")
        assert bool((strength > 0).all())
        adr_push(env, PUSHED, "push_velocity", BOX)
        kicked = box.data.root_vel_w.torch[:, :2].clone()
        play(env, 1)
        flying = box.data.root_vel_w.torch[:, :2]
    others = torch.tensor([i for i in range(NUM_ENVS) if i not in PUSHED.tolist()])
    assert bool((kicked[others] == 0).all())
    assert bool((kicked[PUSHED].abs() > 0).all())
    assert bool((kicked[PUSHED].abs() <= strength[PUSHED].unsqueeze(1)).all())
    torch.testing.assert_close(flying, kicked, atol=1e-3, rtol=0.0)


def test_push_event_pushes_the_robot_at_intervals_by_default() -> None:
    term = push_event("push_velocity", (10.0, 15.0))
    assert term.func is adr_push
    assert term.mode == "interval"
    assert term.interval_range_s == (10.0, 15.0)
    assert term.params == {"param": "push_velocity", "asset_cfg": SceneEntityCfg("robot")}
