"""Builders of ADR configs shared by the tests."""

from __future__ import annotations

from typing import Any

import yaml

from paths import CFG

DEXTREME_ADR = CFG / "adr" / "dextreme.yaml"


def dextreme_adr_cfg() -> dict[str, Any]:
    """The shipped DeXtreme ``task.adr`` block as a plain dict."""
    with DEXTREME_ADR.open() as f:
        cfg: dict[str, Any] = yaml.safe_load(f)
    return cfg


def small_cfg(**overrides: Any) -> dict[str, Any]:
    """A 4-parameter ADR config with short queues, for fast rule tests."""
    cfg: dict[str, Any] = {
        "worker_adr_boundary_fraction": 0.5,
        "adr_queue_threshold_length": 4,
        "adr_objective_threshold_low": 5,
        "adr_objective_threshold_high": 20,
        "adr_rollout_perf_alpha": 0.9,
        "params": {
            "mass": {"init_range": [0.8, 1.2], "limits": [0.1, 3.0], "delta": 0.1},
            "gain": {
                "init_range": [1.0, 2.0],
                "limits": [0.25, 16.0],
                "delta": 2.0,
                "delta_style": "multiplicative",
            },
            "latency": {
                "init_range": [0, 1],
                "limits": [0, 6],
                "delta": 1,
                "type": "categorical",
            },
            "friction": {
                "init_range": [0.5, 0.5],
                "delta": 0.05,
                "range_path": "actor_params.object.rigid_shape_properties.friction.range",
            },
        },
    }
    cfg.update(overrides)
    return cfg
