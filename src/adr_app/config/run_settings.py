"""A resume is the same run: the settings a run started with, recorded and taken back.

A training run records its resolved config (the app keys but those of one
command, the task and the train config) in ``<train_dir>/<experiment>/run.yaml``
when it starts, and in every checkpoint it saves (the run record's
``settings``). A resume (``checkpoint=latest|auto|best|reward_best|<path>``)
starts from the recorded settings; only the keys given on its command line
override them, and each change is reported (``max_iterations 2 -> 4``).

Where the settings come from: the ``run.yaml`` of the run directory the
checkpoint lies in (a selector's run directory, or ``<dir>/run.yaml`` for a
path ``<dir>/nn/<file>``), else the settings inside the checkpoint file. A run
without either (older runs) resumes with the command line's settings as before.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import yaml

from adr_app.config.settings import plain_int
from adr_app.errors import UsageError

if TYPE_CHECKING:  # adr_infra imports torch, which adr-train loads only when needed
    from adr_infra import Checkpoint

__all__ = [
    "PER_COMMAND",
    "RUN_FILE",
    "RUN_RECORD_KEY",
    "SETTINGS_KEY",
    "Inherited",
    "find_recorded",
    "inherit",
    "override_keys",
    "read_run_file",
    "recordable",
    "run_file_text",
    "settings_from_json",
    "settings_json",
]

RUN_FILE = "run.yaml"
"""The run's settings, in ``<train_dir>/<experiment>/``."""

PER_COMMAND = frozenset(
    {
        "checkpoint",
        "start_over",
        "test",
        "test_games",
        "experiment",
        "train_dir",
        "log_level",
        # How this command is launched and restores: one process or torchrun, and a
        # checkpoint of another world size (refused, or its shared ADR state only).
        "multi_gpu",
        "dist_timeout",
        "resume_shared_adr_only",
    }
)
"""Keys that belong to one command, not to the run: never recorded, never inherited."""

SETTINGS_KEY = "settings"
"""The entry with the settings, in ``run.yaml`` and in the checkpoint's run record."""

RUN_RECORD_KEY = "adr_run"
"""Checkpoint entry with the run record (:mod:`adr_app.rlgames.run_record`), settings included."""

_ABSENT = object()


def recordable(config: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of a run: its resolved config without the :data:`PER_COMMAND` keys."""
    return {k: copy.deepcopy(v) for k, v in config.items() if k not in PER_COMMAND}


def run_file_text(settings: Mapping[str, Any]) -> str:
    """``run.yaml``'s text for these settings."""
    header = "# adr-train: this run's settings; a resume takes them from here\n"
    return header + yaml.safe_dump({SETTINGS_KEY: dict(settings)}, sort_keys=False)


def read_run_file(path: Path) -> dict[str, Any]:
    """The settings in a ``run.yaml``.

    Raises:
        UsageError: unreadable or not a run file (the file is named).
    """
    try:
        tree = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: cannot read the run's settings ({exc})") from None
    settings = tree.get(SETTINGS_KEY) if isinstance(tree, dict) else None
    if not isinstance(settings, dict):
        raise UsageError(f"{path}: not a run file (no '{SETTINGS_KEY}' mapping)")
    return settings


def settings_json(settings: Mapping[str, Any]) -> str:
    """The settings as the checkpoint carries them (one string: any store keeps it)."""
    return json.dumps(dict(settings))  # key order matters: ADR parameters are ordered


def settings_from_json(text: object) -> dict[str, Any] | None:
    """The settings a checkpoint carries, or None (none, or unreadable)."""
    if not isinstance(text, str):
        return None
    try:
        settings = json.loads(text)
    except ValueError:
        return None
    return settings if isinstance(settings, dict) else None


def override_keys(overrides: Sequence[str]) -> list[tuple[str, bool]]:
    """``(dotted key, deleted)`` of each command-line override (``+k=v``, ``~k``, ``k@p=v``)."""
    keys = []
    for text in overrides:
        head = text.split("=", 1)[0]
        deleted = head.startswith("~")
        key = head.lstrip("+~").split("@", 1)[0].strip()
        if key:
            keys.append((key, deleted))
    return keys


def _get(tree: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(tree, Mapping) or part not in tree:
            return _ABSENT
        tree = tree[part]
    return tree


def _set(tree: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    for part in parents:
        child = tree.get(part)
        if not isinstance(child, dict):
            child = tree[part] = {}
        tree = child
    if value is _ABSENT:
        tree.pop(last, None)
    else:
        tree[last] = copy.deepcopy(value)


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "(unset)"
    if isinstance(value, Mapping):
        return "{...}"
    if value is None or value == "":
        return "default"
    return value if isinstance(value, str) else json.dumps(value)


def effective_num_envs(config: Mapping[str, Any]) -> int | None:
    """``num_envs``, else the task's ``env.numEnvs``."""
    return plain_int(config.get("num_envs")) or plain_int(_get(config, "task.env.numEnvs"))


@attrs.frozen
class Inherited:
    """A config that continues a recorded run.

    Attributes:
        config: the recorded settings with the command line's keys over them.
        source: where the settings came from.
        changes: ``key old -> new`` for each key the command line changed.
        recorded_num_envs: the run's envs per process.
        content: the checkpoint file the settings came from, decoded (for the
            plan, so the file is decoded once); None when they came from a run file.
    """

    config: dict[str, Any]
    source: Path
    changes: tuple[str, ...]
    recorded_num_envs: int | None
    content: Checkpoint | None = None

    @property
    def shape_changed(self) -> bool:
        """Whether the command line changed the run's number of envs."""
        return effective_num_envs(self.config) != self.recorded_num_envs

    def line(self, checkpoint: Path | None) -> str:
        """``resuming <file> with its settings (from <source>); changed: ...``."""
        what = f"resuming {checkpoint}" if checkpoint else f"continuing the run of {self.source}"
        changed = f"; changed: {', '.join(self.changes)}" if self.changes else ""
        return f"{what} with its settings{changed}"


def inherit(
    current: Mapping[str, Any],
    overrides: Sequence[str],
    recorded: Mapping[str, Any],
    source: Path,
    content: Checkpoint | None = None,
) -> Inherited:
    """The recorded settings with the keys given on the command line taken from ``current``.

    Args:
        current: the resolved config of this command line.
        overrides: the command line's overrides (``key=value``, Hydra's grammar).
        recorded: the run's recorded settings.
        source: where they came from (for messages).
        content: the decoded checkpoint file they came from, if they did.

    Raises:
        UsageError: the command line names another task than the run's.
    """
    merged = copy.deepcopy(dict(recorded))
    for key, value in current.items():
        if key in PER_COMMAND or key not in merged:
            merged[key] = copy.deepcopy(value)
    if current.get("task_name") != recorded.get("task_name"):
        raise UsageError(
            f"{source}: the run trains task {recorded.get('task_name')!r}, not "
            f"{current.get('task_name')!r}; a resume keeps its task (drop task=, or start "
            "another run under a new experiment=NAME)"
        )
    changes: list[str] = []
    for key, deleted in override_keys(overrides):
        if key.split(".", 1)[0] in PER_COMMAND:
            continue
        old, new = _get(recorded, key), _ABSENT if deleted else _get(current, key)
        _set(merged, key, new)
        if old != new:
            changes.append(f"{key} {_show(old)} -> {_show(new)}")
    recorded_envs = effective_num_envs(recorded)
    return Inherited(merged, source, tuple(dict.fromkeys(changes)), recorded_envs, content)


def _checkpoint_settings(path: Path) -> tuple[dict[str, Any], Path, Checkpoint] | None:
    """The settings inside a checkpoint file, the file and its content (None: it has no
    settings, or is unreadable)."""
    from adr_infra import CheckpointError, load_checkpoint

    try:
        content = load_checkpoint(path)
    except CheckpointError:
        return None  # the plan names what is wrong with the file
    record = content.policy.get(RUN_RECORD_KEY)
    settings = settings_from_json(record.get(SETTINGS_KEY)) if isinstance(record, Mapping) else None
    return None if settings is None else (settings, path, content)


def find_recorded(
    which: str, experiment_dir: Path, has_checkpoints: bool
) -> tuple[dict[str, Any], Path, Checkpoint | None] | None:
    """The recorded settings of the run ``checkpoint=<which>`` continues, their source, and
    the decoded checkpoint file when they came from one.

    Args:
        which: the ``checkpoint`` value (``""``: a fresh run, None returned).
        experiment_dir: ``<train_dir>/<experiment>`` (for the selectors and ``auto``).
        has_checkpoints: whether it holds checkpoints (``auto`` without one starts fresh).

    Raises:
        UsageError: the run file is unreadable.
    """
    if which == "" or (which == "auto" and not has_checkpoints):
        return None
    if which in ("auto", "latest", "best", "reward_best"):
        run_file = experiment_dir / RUN_FILE
        return (read_run_file(run_file), run_file, None) if run_file.is_file() else None
    path = Path(which)
    run_file = path.parent.parent / RUN_FILE
    if path.parent.name == "nn" and run_file.is_file():
        return read_run_file(run_file), run_file, None
    return _checkpoint_settings(path) if path.is_file() else None
