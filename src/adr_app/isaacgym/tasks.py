"""Finding the class of an Isaac Gym task: the task yaml's ``entry_point``, else
IsaacGymEnvs' ``isaacgym_task_map``. Nothing here imports Isaac Gym unless the
task's module does."""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "ENTRY_POINT_KEY",
    "ISAACGYM_INSTALL_HINT",
    "TaskClassError",
    "resolve_task_class",
]

ENTRY_POINT_KEY: Final = "entry_point"
"""Task yaml key naming the task class, as ``"package.module:ClassName"``."""
ISAACGYM_INSTALL_HINT: Final = (
    "install Isaac Gym (Preview 4, from NVIDIA: https://developer.nvidia.com/isaac-gym, "
    "then `pip install -e isaacgym/python`) and IsaacGymEnvs (`pip install -e IsaacGymEnvs`) "
    "in this environment"
)
"""What to install when a task needs Isaac Gym."""

_ISAACGYM_PACKAGES: Final = ("isaacgym", "isaacgymenvs")
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class TaskClassError(ValueError):
    """The task class cannot be found, imported or used; the message says what to fix."""


def resolve_task_class(task_name: str, task_cfg: Mapping[str, Any]) -> type:
    """The class of an Isaac Gym task.

    Args:
        task_name: the task's name (IsaacGymEnvs' ``isaacgym_task_map`` key).
        task_cfg: the task config; its ``entry_point`` (``"package.module:ClassName"``),
            when present, names the class.

    Returns:
        The class, which has ``step`` and ``reset`` (IsaacGymEnvs' ``VecTask`` API).

    Raises:
        TaskClassError: a malformed ``entry_point``, a module that cannot be
            imported (what to install when it is Isaac Gym), a missing name, an
            object that is not a task class, or no ``entry_point`` and no
            IsaacGymEnvs task of that name.
    """
    entry_point = task_cfg.get(ENTRY_POINT_KEY)
    if entry_point is None:
        return _isaacgymenvs_task(task_name)
    where = f"{ENTRY_POINT_KEY} {entry_point!r}"
    module_name, sep, qualname = str(entry_point).partition(":")
    if (
        not isinstance(entry_point, str)
        or not sep
        or not _IDENTIFIER.fullmatch(module_name)
        or not _IDENTIFIER.fullmatch(qualname)
    ):
        raise TaskClassError(
            f"{where}: expected 'package.module:ClassName' (e.g. "
            "'my_tasks.allegro_hand_adr:AllegroHandDextremeADR')"
        )
    module = _import(module_name, where)
    found: object = module
    for part in qualname.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise TaskClassError(f"{where}: module {module_name!r} has no {qualname!r}") from None
    return _checked_task_class(found, where)


def _import(module_name: str, where: str) -> object:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        if missing.split(".")[0] in _ISAACGYM_PACKAGES:
            raise TaskClassError(
                f"{where}: module {module_name!r} needs Isaac Gym ({exc}): {ISAACGYM_INSTALL_HINT}"
            ) from None
        if module_name == missing or module_name.startswith(missing + "."):
            raise TaskClassError(
                f"{where}: no module named {missing!r}; check the name, and that its package "
                "is installed or on PYTHONPATH"
            ) from None
        raise TaskClassError(f"{where}: importing {module_name!r} failed: {exc}") from None
    except ImportError as exc:
        # adr_isaac.ADRVecTask's ImportError names what to install.
        raise TaskClassError(f"{where}: importing {module_name!r} failed: {exc}") from None
    except Exception as exc:  # user code: report any import-time failure as a config error
        raise TaskClassError(
            f"{where}: importing {module_name!r} raised {type(exc).__name__}: {exc}"
        ) from None


def _isaacgymenvs_task(task_name: str) -> type:
    where = f"IsaacGymEnvs' isaacgym_task_map[{task_name!r}]"
    try:
        tasks = importlib.import_module("isaacgymenvs.tasks")
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in _ISAACGYM_PACKAGES:
            raise TaskClassError(f"importing isaacgymenvs.tasks failed: {exc}") from None
        raise TaskClassError(
            f"the task yaml has no {ENTRY_POINT_KEY!r} and IsaacGymEnvs is not installed "
            f'({exc}). Add `{ENTRY_POINT_KEY}: "package.module:ClassName"` to the task yaml '
            "(a task ported to adr_isaac.ADRVecTask), or, for IsaacGymEnvs' own tasks, "
            f"{ISAACGYM_INSTALL_HINT}"
        ) from None
    except Exception as exc:
        raise TaskClassError(
            f"importing isaacgymenvs.tasks raised {type(exc).__name__}: {exc}"
        ) from None
    task_map = getattr(tasks, "isaacgym_task_map", None)
    if not isinstance(task_map, Mapping):
        raise TaskClassError(f"isaacgymenvs.tasks has no isaacgym_task_map; {where} is unknown")
    if task_name not in task_map:
        known = ", ".join(sorted(str(k) for k in task_map))
        raise TaskClassError(
            f"IsaacGymEnvs has no task {task_name!r} (isaacgym_task_map has: {known}); add "
            f'`{ENTRY_POINT_KEY}: "package.module:ClassName"` to the task yaml'
        )
    return _checked_task_class(task_map[task_name], where)


def _checked_task_class(found: object, where: str) -> type:
    if not isinstance(found, type):
        raise TaskClassError(
            f"{where} is a {type(found).__name__}, not a class: name an Isaac Gym task class "
            "(e.g. a subclass of adr_isaac.ADRVecTask)"
        )
    missing = [name for name in ("step", "reset") if not callable(getattr(found, name, None))]
    if missing:
        raise TaskClassError(
            f"{where}: {found.__module__}.{found.__qualname__} is not an Isaac Gym task (it has "
            f"no {' or '.join(f'{m}()' for m in missing)}); name a subclass of IsaacGymEnvs' "
            "VecTask, e.g. of adr_isaac.ADRVecTask"
        )
    return found
