"""IsaacGymEnvs' ``adr_params`` dict: each parameter's config with its live range.

IsaacGymEnvs' ADR tasks keep ``{name: {"range", "next_limits", "init_range",
"limits", "delta", "delta_style", "type", ...}}`` and save it as their env
state. sim2real-adr writes the same entry (:data:`~adr_domain.env_state_keys.REFERENCE_PARAMS_KEY`)
beside the complete engine state, for tools that read it, and the Isaac Gym
API shows it live as ``adr_params``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adr_domain.config import ADRParamConfig

if TYPE_CHECKING:
    from adr_domain.engine import ADREngine

__all__ = ["reference_param_entry", "reference_params"]


def reference_param_entry(spec: ADRParamConfig) -> dict[str, Any]:
    """One parameter's config as IsaacGymEnvs keeps it (no ``range`` yet)."""
    entry: dict[str, Any] = {
        "init_range": list(spec.init_range),
        "limits": list(spec.limits),
        "delta": spec.delta,
        "delta_style": spec.delta_style.value,
        "type": spec.type.value,
    }
    if spec.range_path is not None:
        entry["range_path"] = spec.range_path
    return entry


def reference_params(engine: ADREngine) -> dict[str, dict[str, Any]]:
    """Every parameter's entry with its current ``range`` and ``next_limits`` (plain
    Python values; one host copy)."""
    bounds = engine.bounds.tolist()
    nexts = engine.next_limits.tolist()
    return {
        name: {
            **reference_param_entry(engine.cfg.params[name]),
            "range": bounds[n],
            "next_limits": nexts[n],
        }
        for n, name in enumerate(engine.param_names)
    }
