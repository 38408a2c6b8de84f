"""Local stand-ins, authored with ``pxr``, for the NVIDIA assets Isaac Lab's Cartpole loads.

Isaac Lab fetches ``cartpole.usd`` and the ground plane from NVIDIA's CDN,
which tests cannot reach; with ``ISAACSIM_ASSET_ROOT`` pointing at a folder
made by :func:`author_assets` (set before ``isaaclab`` is imported), the stock
``Isaac-Cartpole`` builds from these files: bodies ``rail``, ``cart``,
``pole``; joints ``slider_to_cart`` (prismatic, x) and ``cart_to_pole``
(revolute, y); a ground plane.
"""

from __future__ import annotations

from pathlib import Path

from pxr import Gf, Usd, UsdGeom, UsdPhysics

CARTPOLE = "Isaac/IsaacLab/Robots/Classic/Cartpole/cartpole.usd"
GROUND = (
    "Isaac/IsaacLab/Environments/Grid/default_ground_plane_checker_v1/default_ground_plane.usda"
)
BODIES = {  # name: (position, box size, mass)
    "rail": ((0.0, 0.0, 0.0), (8.0, 0.03, 0.03), 1.0),
    "cart": ((0.0, 0.0, 0.0), (0.2, 0.25, 0.2), 1.0),
    "pole": ((0.0, 0.12, 0.5), (0.04, 0.04, 1.0), 1.0),
}


def author_assets(root: Path) -> Path:
    """Write the cartpole and the ground plane under ``root``; returns ``root``."""
    _author_cartpole(root / CARTPOLE)
    _author_ground(root / GROUND)
    return root


def _new_stage(path: Path) -> Usd.Stage:
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    return stage


def _body(stage: Usd.Stage, name: str) -> None:
    position, size, mass = BODIES[name]
    xform = UsdGeom.Xform.Define(stage, f"/cartpole/{name}")
    xform.AddTranslateOp().Set(Gf.Vec3d(*position))
    UsdPhysics.RigidBodyAPI.Apply(xform.GetPrim())
    UsdPhysics.MassAPI.Apply(xform.GetPrim()).CreateMassAttr(mass)
    cube = UsdGeom.Cube.Define(stage, f"/cartpole/{name}/geom")
    cube.CreateSizeAttr(1.0)
    cube.AddScaleOp().Set(Gf.Vec3f(*size))
    UsdPhysics.CollisionAPI.Apply(cube.GetPrim())


def _author_cartpole(path: Path) -> None:
    stage = _new_stage(path)
    robot = UsdGeom.Xform.Define(stage, "/cartpole")
    stage.SetDefaultPrim(robot.GetPrim())
    UsdPhysics.ArticulationRootAPI.Apply(robot.GetPrim())
    for name in BODIES:
        _body(stage, name)
    fixed = UsdPhysics.FixedJoint.Define(stage, "/cartpole/rail/root_joint")
    fixed.CreateBody1Rel().SetTargets(["/cartpole/rail"])
    slider = UsdPhysics.PrismaticJoint.Define(stage, "/cartpole/rail/slider_to_cart")
    slider.CreateBody0Rel().SetTargets(["/cartpole/rail"])
    slider.CreateBody1Rel().SetTargets(["/cartpole/cart"])
    slider.CreateAxisAttr("X")
    slider.CreateLowerLimitAttr(-4.0)
    slider.CreateUpperLimitAttr(4.0)
    slider.CreateLocalPos0Attr(Gf.Vec3f(0, 0, 0))
    slider.CreateLocalPos1Attr(Gf.Vec3f(0, 0, 0))
    UsdPhysics.DriveAPI.Apply(slider.GetPrim(), "linear")
    hinge = UsdPhysics.RevoluteJoint.Define(stage, "/cartpole/cart/cart_to_pole")
    hinge.CreateBody0Rel().SetTargets(["/cartpole/cart"])
    hinge.CreateBody1Rel().SetTargets(["/cartpole/pole"])
    hinge.CreateAxisAttr("Y")
    hinge.CreateLocalPos0Attr(Gf.Vec3f(0, 0.12, 0))
    hinge.CreateLocalPos1Attr(Gf.Vec3f(0, 0, -0.5))
    UsdPhysics.DriveAPI.Apply(hinge.GetPrim(), "angular")
    stage.GetRootLayer().Save()


def _author_ground(path: Path) -> None:
    stage = _new_stage(path)
    top = UsdGeom.Xform.Define(stage, "/GroundPlane")
    stage.SetDefaultPrim(top.GetPrim())
    plane = UsdGeom.Plane.Define(stage, "/GroundPlane/CollisionPlane")
    plane.CreateAxisAttr("Z")
    plane.CreateWidthAttr(100.0)
    plane.CreateLengthAttr(100.0)
    UsdPhysics.CollisionAPI.Apply(plane.GetPrim())
    stage.GetRootLayer().Save()
