"""Real Isaac Lab 3.0 on Newton (CPU): local assets for the whole session.

Run in the Isaac Lab venv (``scripts/isaaclab_venv.sh`` builds ``.venv-isaaclab``);
the main venv does not collect this folder (``tests/conftest.py``). The
assets are authored into a temporary folder before any test module imports
``isaaclab``, which reads ``ISAACSIM_ASSET_ROOT`` when imported.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from usd_assets import author_assets

_ASSETS = Path(tempfile.mkdtemp(prefix="adr-isaaclab-assets-"))
os.environ["ISAACSIM_ASSET_ROOT"] = str(author_assets(_ASSETS))


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_ASSETS, ignore_errors=True)
