"""adr_isaac imports without Isaac Gym, and its Isaac Gym part says what to install."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

import pytest

import adr_isaac
from adr_isaac import ADRTaskMixin
from isaac_fakes import FakeGymApi, VecTaskDextreme


def _forget_isaacgym_task(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unload adr_isaac.isaacgym_task for this test; whatever the test imports is undone after."""
    monkeypatch.setitem(sys.modules, "adr_isaac.isaacgym_task", None)
    monkeypatch.delitem(sys.modules, "adr_isaac.isaacgym_task")
    monkeypatch.setattr(adr_isaac, "isaacgym_task", None, raising=False)
    monkeypatch.delattr(adr_isaac, "isaacgym_task")


def test_adr_vec_task_without_isaac_gym_raises_an_import_error_naming_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both adr_isaac.ADRVecTask and its module raise ImportError with the install hint."""
    _forget_isaacgym_task(monkeypatch)
    monkeypatch.setitem(sys.modules, "isaacgym", None)  # makes `import isaacgym` fail
    with pytest.raises(ImportError, match=r"needs Isaac Gym .*pip install -e IsaacGymEnvs"):
        _ = adr_isaac.ADRVecTask
    with pytest.raises(ImportError, match=r"import isaacgym before torch"):
        importlib.import_module("adr_isaac.isaacgym_task")


def test_importing_adr_isaac_and_its_simulator_free_parts_never_imports_isaac_gym() -> None:
    """A fresh interpreter imports adr_isaac, compat and the mixin without touching Isaac Gym."""
    code = (
        "import sys, adr_isaac, adr_isaac.compat, adr_isaac.adr_task\n"
        "from adr_isaac import ADRTaskMixin, ADRCompat\n"
        "assert 'isaacgym' not in sys.modules and 'isaacgymenvs' not in sys.modules\n"
        "assert 'adr_isaac.isaacgym_task' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_adr_vec_task_is_the_mixin_in_front_of_isaacgymenvs_vec_task_dextreme(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With Isaac Gym present, ADRVecTask is the mixin on VecTaskDextreme, gymapi wired in."""
    _forget_isaacgym_task(monkeypatch)
    gymapi = FakeGymApi()
    isaacgym = types.ModuleType("isaacgym")
    isaacgym.gymapi = gymapi
    adr_vec_task = types.ModuleType("isaacgymenvs.tasks.dextreme.adr_vec_task")
    adr_vec_task.VecTaskDextreme = VecTaskDextreme
    monkeypatch.setitem(sys.modules, "isaacgym", isaacgym)
    for name in ("isaacgymenvs", "isaacgymenvs.tasks", "isaacgymenvs.tasks.dextreme"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, adr_vec_task.__name__, adr_vec_task)

    task_cls = adr_isaac.ADRVecTask

    assert task_cls.__bases__ == (ADRTaskMixin, VecTaskDextreme)
    mro = task_cls.__mro__
    assert mro[1] is ADRTaskMixin
    assert mro.index(ADRTaskMixin) < mro.index(VecTaskDextreme)
    assert task_cls.gym_api is gymapi
