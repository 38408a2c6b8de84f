"""The run directory convention of rl_games, and checkpoint discovery in it.

::

    <train_dir>/<experiment>/nn/<name>.pth                         best so far
    <train_dir>/<experiment>/nn/last_<name>_ep_<E>_rew_<R>.pth     every save_frequency epochs
    <train_dir>/<experiment>/nn/last_<name>_ep_<E>_rew__<R>_.pth   at max_epochs
    <train_dir>/<experiment>/nn/last_<name>_frame_<F>_rew__<R>_.pth at max_frames
    <train_dir>/<experiment>/nn/<name>_ep_<E>_rew_<R>.pth          score_to_win reached
    <train_dir>/<experiment>/summaries/                            TensorBoard

``<name>`` is the rl_games config name (often the experiment name itself);
``<R>`` is the mean reward as Python prints it (possibly ``-inf``; rl_games
writes the array form ``[r]`` as ``_r_``). Every registered store suffix
(``.pth``, ``.h5``, ...) is discovered; temp files of interrupted saves never are.
"""

from __future__ import annotations

import logging
import math
import os
import re
from enum import Enum
from pathlib import Path

import attrs

from adr_infra.atomic import is_temp_file, remove_stale_temp_files
from adr_infra.errors import CheckpointNotFoundError
from adr_infra.stores import checkpoint_suffixes

__all__ = ["CheckpointFile", "CheckpointKind", "CheckpointName", "RunLayout"]

log = logging.getLogger(__name__)

_LAST = re.compile(
    r"^last_(?P<name>.+)_(?P<unit>ep|frame)_(?P<count>\d+)_rew_(?P<reward>.*)$", re.S
)
_WIN = re.compile(r"^(?P<name>.+)_ep_(?P<count>\d+)_rew_(?P<reward>.*)$", re.S)


class CheckpointKind(str, Enum):
    """Why rl_games wrote a checkpoint."""

    BEST = "best"
    """``<name>.pth``: a new best mean reward."""
    PERIODIC = "periodic"
    """``last_<name>_ep_<E>_rew_<R>.pth`` (and the ``frame`` and max-epoch forms)."""
    WIN = "win"
    """``<name>_ep_<E>_rew_<R>.pth``: ``score_to_win`` reached."""


def _parse_reward(text: str) -> tuple[float | None, bool]:
    """``(reward, bracketed)`` from the ``<R>`` part of a name."""
    bracketed = len(text) >= 2 and text.startswith("_") and text.endswith("_")
    core = text[1:-1] if bracketed else text
    tokens = core.split()
    if not tokens:
        return None, bracketed
    try:
        return float(tokens[0]), bracketed
    except ValueError:
        return None, bracketed


def _format_reward(reward: float) -> str:
    return repr(float(reward))


def _check_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ValueError(f"name: expected a non-empty file-name part, got {name!r}")
    return name


@attrs.frozen
class CheckpointName:
    """A checkpoint file name as rl_games writes it, taken apart.

    Attributes:
        name: the rl_games config name.
        kind: :class:`CheckpointKind`.
        epoch: the epoch in the name, if any.
        frame: the frame in the name, if any.
        reward: the mean reward in the name, if any (may be ``-inf``).
        final: the ``_rew__<R>_`` form rl_games writes at ``max_epochs``/``max_frames``.
        suffix: the store suffix (``.pth``, ``.h5``, ...).
    """

    name: str
    kind: CheckpointKind
    epoch: int | None = None
    frame: int | None = None
    reward: float | None = None
    final: bool = False
    suffix: str = ".pth"

    @classmethod
    def best(cls, name: str, suffix: str = ".pth") -> CheckpointName:
        """``<name><suffix>``."""
        return cls(_check_name(name), CheckpointKind.BEST, suffix=suffix)

    @classmethod
    def periodic(
        cls,
        name: str,
        epoch: int,
        reward: float,
        *,
        suffix: str = ".pth",
        final: bool = False,
    ) -> CheckpointName:
        """``last_<name>_ep_<epoch>_rew_<reward><suffix>`` (``_rew__<reward>_`` if ``final``)."""
        return cls(_check_name(name), CheckpointKind.PERIODIC, epoch, None, reward, final, suffix)

    @classmethod
    def at_frame(
        cls, name: str, frame: int, reward: float, *, suffix: str = ".pth"
    ) -> CheckpointName:
        """``last_<name>_frame_<frame>_rew__<reward>_<suffix>`` (rl_games' max_frames form)."""
        return cls(_check_name(name), CheckpointKind.PERIODIC, None, frame, reward, True, suffix)

    @classmethod
    def parse(cls, filename: str) -> CheckpointName | None:
        """Take a file name apart; None for temp files, hidden files and unknown suffixes."""
        if filename.startswith(".") or is_temp_file(filename):
            return None
        lower = filename.lower()
        suffix = next((s for s in checkpoint_suffixes() if lower.endswith(s)), None)
        if suffix is None or len(filename) == len(suffix):
            return None
        stem = filename[: -len(suffix)]
        suffix = filename[-len(suffix) :]
        match = _LAST.match(stem)
        if match is not None:
            reward, bracketed = _parse_reward(match["reward"])
            count = int(match["count"])
            is_epoch = match["unit"] == "ep"
            return cls(
                match["name"],
                CheckpointKind.PERIODIC,
                epoch=count if is_epoch else None,
                frame=None if is_epoch else count,
                reward=reward,
                final=bracketed,
                suffix=suffix,
            )
        match = _WIN.match(stem)
        if match is not None:
            reward, bracketed = _parse_reward(match["reward"])
            return cls(
                match["name"],
                CheckpointKind.WIN,
                epoch=int(match["count"]),
                reward=reward,
                final=bracketed,
                suffix=suffix,
            )
        return cls(stem, CheckpointKind.BEST, suffix=suffix)

    @property
    def filename(self) -> str:
        """The file name (inverse of :meth:`parse` for names this class builds)."""
        if self.kind is CheckpointKind.BEST:
            return self.name + self.suffix
        reward = "nan" if self.reward is None else _format_reward(self.reward)
        reward = f"_{reward}_" if self.final else reward
        if self.kind is CheckpointKind.WIN:
            return f"{self.name}_ep_{self.epoch}_rew_{reward}{self.suffix}"
        unit, count = ("ep", self.epoch) if self.epoch is not None else ("frame", self.frame)
        return f"last_{self.name}_{unit}_{count}_rew_{reward}{self.suffix}"


@attrs.frozen
class CheckpointFile:
    """A discovered checkpoint file.

    Attributes:
        path: the file.
        name: its parsed name.
        mtime_ns: its modification time.
    """

    path: Path
    name: CheckpointName
    mtime_ns: int

    def recency(self) -> tuple[int, int, int, str]:
        """Sort key of "latest": epoch, then frame, then modification time, then name."""
        epoch = -1 if self.name.epoch is None else self.name.epoch
        frame = -1 if self.name.frame is None else self.name.frame
        return (epoch, frame, self.mtime_ns, self.path.name)


def _check_experiment(instance: RunLayout, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise ValueError(f"experiment: expected a string, got {value!r}")
    _check_name(value)


@attrs.frozen
class RunLayout:
    """``<train_dir>/<experiment>/{nn,summaries}``, as rl_games lays out a run.

    Args:
        experiment: the experiment (run directory) name.
        train_dir: the directory of all runs (rl_games' ``train_dir``; default ``runs``).
    """

    experiment: str = attrs.field(validator=_check_experiment)
    train_dir: Path = attrs.field(default=Path("runs"), converter=Path)

    @property
    def experiment_dir(self) -> Path:
        """``<train_dir>/<experiment>``."""
        return self.train_dir / self.experiment

    @property
    def nn_dir(self) -> Path:
        """``<train_dir>/<experiment>/nn``: the checkpoints."""
        return self.experiment_dir / "nn"

    @property
    def summaries_dir(self) -> Path:
        """``<train_dir>/<experiment>/summaries``: TensorBoard event files."""
        return self.experiment_dir / "summaries"

    def create(self) -> RunLayout:
        """Create the directories (if missing) and return self."""
        self.nn_dir.mkdir(parents=True, exist_ok=True)
        self.summaries_dir.mkdir(parents=True, exist_ok=True)
        return self

    def path(self, name: CheckpointName) -> Path:
        """Where a checkpoint of this name lives."""
        return self.nn_dir / name.filename

    def best_path(self, name: str | None = None, *, suffix: str = ".pth") -> Path:
        """``nn/<name><suffix>``; ``name`` defaults to the experiment name."""
        return self.path(CheckpointName.best(name or self.experiment, suffix))

    def periodic_path(
        self,
        epoch: int,
        reward: float,
        *,
        name: str | None = None,
        suffix: str = ".pth",
        final: bool = False,
    ) -> Path:
        """``nn/last_<name>_ep_<epoch>_rew_<reward><suffix>``."""
        return self.path(
            CheckpointName.periodic(
                name or self.experiment, epoch, reward, suffix=suffix, final=final
            )
        )

    def checkpoints(self) -> list[CheckpointFile]:
        """Every checkpoint file in ``nn/``, oldest first (by :meth:`CheckpointFile.recency`).

        Temp files of saves in progress (or interrupted) are never listed.
        """
        if not self.nn_dir.is_dir():
            return []
        found: list[CheckpointFile] = []
        for entry in self.nn_dir.iterdir():
            parsed = CheckpointName.parse(entry.name)
            if parsed is None:
                continue
            try:
                if not entry.is_file():
                    continue
                mtime = entry.stat().st_mtime_ns
            except FileNotFoundError:  # removed meanwhile
                continue
            found.append(CheckpointFile(entry, parsed, mtime))
        return sorted(found, key=CheckpointFile.recency)

    def latest(self) -> Path | None:
        """The checkpoint with the highest epoch (then frame, then newest); None if none.

        When both epoch-named and frame-named files exist, the newer of the two
        kinds' latest files is returned.

        Files whose name has no epoch or frame (``<name>.pth``) count only when
        no other checkpoint exists; then the newest of them is returned.
        """
        files = self.checkpoints()
        by_epoch = [f for f in files if f.name.epoch is not None]
        by_frame = [f for f in files if f.name.epoch is None and f.name.frame is not None]
        # rl_games names periodic files by epoch but the file of a run that
        # stopped at max_frames by frame: the two numbers do not compare, so
        # the newer of each kind's last file wins.
        tops = [max(group, key=CheckpointFile.recency) for group in (by_epoch, by_frame) if group]
        if tops:
            return max(tops, key=lambda f: (f.mtime_ns, f.path.name)).path
        if files:
            return max(files, key=lambda f: (f.mtime_ns, f.path.name)).path
        return None

    def best(self) -> Path | None:
        """The best checkpoint: the newest ``<name>.pth`` rl_games wrote for a new best
        reward; without one, the checkpoint whose name has the highest reward. None if none.
        """
        files = self.checkpoints()
        bests = [f for f in files if f.name.kind is CheckpointKind.BEST]
        if bests:
            own = [f for f in bests if f.name.name == self.experiment] or bests
            return max(own, key=lambda f: (f.mtime_ns, f.path.name)).path
        rated = [f for f in files if f.name.reward is not None and not math.isnan(f.name.reward)]
        if not rated:
            return None
        return max(rated, key=lambda f: (f.name.reward, f.recency())).path

    def resolve(self, which: str | os.PathLike[str]) -> Path:
        """``"latest"``, ``"best"``, or a path (as is) to a checkpoint file.

        Raises:
            CheckpointNotFoundError: no checkpoint of the experiment (for
                ``latest``/``best``) or no such file.
        """
        if which in ("latest", "best"):
            found = self.latest() if which == "latest" else self.best()
            if found is None:
                raise CheckpointNotFoundError(
                    self.nn_dir,
                    f"no checkpoint of experiment {self.experiment!r} to resume from "
                    f"(checkpoint={which}); looked for {', '.join(checkpoint_suffixes())} files",
                )
            return found
        path = Path(which)
        if not path.is_file():
            raise CheckpointNotFoundError(path, "no such checkpoint file")
        return path

    def prune(self, keep_last: int, *, temp_min_age_s: float = 600.0) -> list[Path]:
        """Delete all but the ``keep_last`` latest periodic checkpoints.

        Best and score-to-win checkpoints are never deleted. Temp files of
        interrupted saves older than ``temp_min_age_s`` are removed too.

        Returns:
            The deleted files.

        Raises:
            ValueError: ``keep_last`` is negative.
        """
        if isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 0:
            raise ValueError(f"keep_last: expected an int >= 0, got {keep_last!r}")
        periodic = [f for f in self.checkpoints() if f.name.kind is CheckpointKind.PERIODIC]
        doomed = periodic[: max(len(periodic) - keep_last, 0)]
        removed: list[Path] = []
        for file in doomed:
            try:
                file.path.unlink()
            except FileNotFoundError:
                continue
            removed.append(file.path)
            log.info("retention: removed %s", file.path)
        removed += remove_stale_temp_files(self.nn_dir, min_age_s=temp_min_age_s)
        return removed
