"""Shared fixtures and Hypothesis profiles for the test suite."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, settings

from builders import dextreme_adr_cfg

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=60
)
settings.register_profile(
    "stress", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=600
)
settings.load_profile("stress" if os.environ.get("ADR_STRESS") else "default")

torch.set_num_threads(1)

# tests/isaaclab runs real Isaac Lab, in its own venv (scripts/isaaclab_venv.sh):
# Isaac Lab and mjlab pin different warp and mujoco-warp.
collect_ignore = [] if importlib.util.find_spec("isaaclab") else ["isaaclab"]


@pytest.fixture
def dextreme_cfg() -> dict[str, Any]:
    return dextreme_adr_cfg()
