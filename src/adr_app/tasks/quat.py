"""Batched unit-quaternion helpers, ``(..., 4)`` tensors in ``(x, y, z, w)`` order (Isaac Gym's)."""

from __future__ import annotations

import math

import torch

__all__ = [
    "canonical",
    "quat_conjugate",
    "quat_from_rotvec",
    "quat_mul",
    "random_quat",
    "rotation_distance",
]


def quat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product ``a ⊗ b`` of ``(..., 4)`` quaternions (rotation ``b`` first, then ``a``)."""
    ax, ay, az, aw = a.unbind(-1)
    bx, by, bz, bw = b.unbind(-1)
    return torch.stack(
        (
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ),
        dim=-1,
    )


def quat_conjugate(q: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` conjugate (the inverse of a unit quaternion)."""
    return torch.cat((-q[..., :3], q[..., 3:]), dim=-1)


def canonical(q: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` the same rotations with ``w >= 0`` (one of the two signs)."""
    return torch.where(q[..., 3:] < 0, -q, q)


def quat_from_rotvec(v: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` rotation by angle ``|v|`` about axis ``v / |v|`` (the exponential map).

    Args:
        v: ``(..., 3)`` rotation vectors (radians).
    """
    angle = torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    half = 0.5 * angle
    # sin(angle / 2) / angle, with its Taylor series where angle is tiny.
    safe = torch.where(angle > 1e-4, angle, torch.ones_like(angle))
    scale = torch.where(angle > 1e-4, torch.sin(half) / safe, 0.5 - angle * angle / 48.0)
    return torch.cat((v * scale, torch.cos(half)), dim=-1)


def rotation_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(...,)`` angle in ``[0, pi]`` of the rotation taking ``b`` to ``a`` (radians)."""
    diff = quat_mul(a, quat_conjugate(b))
    return 2.0 * torch.asin(torch.linalg.vector_norm(diff[..., :3], dim=-1).clamp(max=1.0))


def random_quat(count: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """``(count, 4)`` float32 rotations drawn uniformly (Shoemake's method)."""
    u = torch.rand((count, 3), generator=generator, device=device)
    r1, r2 = torch.sqrt(1.0 - u[:, 0]), torch.sqrt(u[:, 0])
    t1, t2 = (2.0 * math.pi) * u[:, 1], (2.0 * math.pi) * u[:, 2]
    return torch.stack(
        (r1 * torch.sin(t1), r1 * torch.cos(t1), r2 * torch.sin(t2), r2 * torch.cos(t2)), dim=-1
    )
