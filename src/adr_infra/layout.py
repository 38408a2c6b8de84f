"""The run directory convention of rl_games, and checkpoint discovery in it.

::

    <train_dir>/<experiment>/nn/          checkpoints (names: :mod:`adr_infra.names`)
    <train_dir>/<experiment>/summaries/   TensorBoard
    <train_dir>/<experiment>/previous/    earlier runs moved aside (:meth:`RunLayout.archive`)

Discovery (``latest``, ``best``, ``reward_best``) returns only *usable*
checkpoints of the experiment: a candidate that is empty, unreadable or
damaged, or that belongs to another experiment, is skipped with a warning
naming it, and the next candidate is tried. Choosing reads each candidate
once, fully (the checksum is what tells a damaged file); the chosen one's
content travels on in a :class:`ChosenCheckpoint`, so that resuming does not
read it again.
"""

from __future__ import annotations

import datetime
import logging
import math
from collections.abc import Callable, Collection
from pathlib import Path

import attrs

from adr_domain import is_int
from adr_infra.atomic import remove_stale_temp_files
from adr_infra.checkpoint import Checkpoint
from adr_infra.errors import CheckpointError, CheckpointNotFoundError, IncompatibleCheckpointError
from adr_infra.names import (
    ROBUST_TAG,
    CheckpointFile,
    CheckpointKind,
    CheckpointName,
    check_name,
)
from adr_infra.paths import PathLike
from adr_infra.stores import checkpoint_suffixes, load_checkpoint, resolve_location

__all__ = ["SELECTORS", "ChosenCheckpoint", "RunLayout"]

log = logging.getLogger(__name__)

SELECTORS = ("latest", "best", "reward_best")
"""What ``checkpoint=`` accepts besides a path (see :meth:`RunLayout.resolve`)."""

Pick = Callable[[list[CheckpointFile]], CheckpointFile | None]


class ChosenCheckpoint:
    """The checkpoint a run starts from: its file, and its content when choosing read it.

    A selector (``latest``, ``best``, ``reward_best``) reads the file to know it
    is usable; that content is kept here and handed over once by :meth:`read`,
    so the file is decoded once. A path given as is is read when it is needed.

    Args:
        path: the checkpoint file.
        content: its decoded content, if already read.
    """

    def __init__(self, path: Path, content: Checkpoint | None = None) -> None:
        self.path = path
        self._content = content

    def __repr__(self) -> str:
        return f"ChosenCheckpoint({str(self.path)!r})"

    def read(self) -> Checkpoint:
        """The content: the one read when choosing (handed over once, then forgotten to
        free its memory), else the file loaded now.

        Raises:
            CheckpointError: the file cannot be read (missing, damaged, ...).
        """
        content, self._content = self._content, None
        return load_checkpoint(self.path) if content is None else content

    def peek(self) -> Checkpoint:
        """The content, read now if it was not, and kept for :meth:`read` (still one decode).

        Raises:
            CheckpointError: the file cannot be read (missing, damaged, ...).
        """
        if self._content is None:
            self._content = load_checkpoint(self.path)
        return self._content


def _path_of(chosen: ChosenCheckpoint | None) -> Path | None:
    return None if chosen is None else chosen.path


def _check_experiment(instance: RunLayout, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise ValueError(f"experiment: expected a string, got {value!r}")
    check_name(value)


def _newest(files: list[CheckpointFile]) -> CheckpointFile:
    return max(files, key=lambda f: (f.mtime_ns, f.path.name))


def _pick_latest(files: list[CheckpointFile]) -> CheckpointFile | None:
    """The highest epoch (then frame, then newest); files without counters only if alone.

    rl_games names periodic files by epoch but the file of a run that stopped
    at max_frames by frame: the two numbers do not compare, so the newer of
    each kind's top file wins.
    """
    by_epoch = [f for f in files if f.name.epoch is not None]
    by_frame = [f for f in files if f.name.epoch is None and f.name.frame is not None]
    tops = [max(group, key=CheckpointFile.recency) for group in (by_epoch, by_frame) if group]
    if tops:
        return _newest(tops)
    return _newest(files) if files else None


def _pick_rated(files: list[CheckpointFile]) -> CheckpointFile | None:
    """The file whose name has the highest reward (NaN ignored), newest on ties."""
    rated = [
        f
        for f in files
        if f.name.kind is not CheckpointKind.BEST
        and f.name.reward is not None
        and not math.isnan(f.name.reward)
    ]
    return max(rated, key=lambda f: (f.name.reward, f.recency())) if rated else None


@attrs.frozen
class RunLayout:
    """``<train_dir>/<experiment>/{nn,summaries}``, as rl_games lays out a run.

    Args:
        experiment: the experiment (run directory) name; sim2real-adr also names the
            checkpoint files with it.
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

    def reward_best_path(self, *, suffix: str = ".pth") -> Path:
        """``nn/<experiment><suffix>``: rl_games' file of the best mean reward."""
        return self.path(CheckpointName.best(self.experiment, suffix))

    def robust_path(self, *, suffix: str = ".pth") -> Path:
        """``nn/<experiment>_robust<suffix>``: the widest ADR ranges reached while performing."""
        return self.path(CheckpointName.robust(self.experiment, suffix))

    def periodic_path(
        self, epoch: int, reward: float, *, suffix: str = ".pth", final: bool = False
    ) -> Path:
        """``nn/last_<experiment>_ep_<epoch>_rew_<reward><suffix>`` (``_rew__<r>_`` if final)."""
        return self.path(
            CheckpointName.periodic(self.experiment, epoch, reward, suffix=suffix, final=final)
        )

    def checkpoints(self) -> list[CheckpointFile]:
        """Every checkpoint file in ``nn/``, oldest first (by :meth:`CheckpointFile.recency`).

        Temp files of saves in progress (or interrupted) are never listed;
        nothing is opened or validated.
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

    def _owner_by_name(self, file: CheckpointFile) -> str:
        name = file.name.name
        is_robust = file.name.kind is CheckpointKind.BEST and name == self.experiment + ROBUST_TAG
        return self.experiment if is_robust else name

    def read_usable(self, file: CheckpointFile) -> Checkpoint:
        """Load and verify ``file`` as a checkpoint of this experiment.

        It belongs to the experiment its metadata names (sim2real-adr files),
        else to the one in its file name.

        Raises:
            CheckpointError: it is empty, unreadable, damaged, or another
                experiment's (the reason says which).
        """
        checkpoint = load_checkpoint(file.path)
        owner = checkpoint.meta.experiment or self._owner_by_name(file)
        if owner != self.experiment:
            raise IncompatibleCheckpointError(
                file.path, f"a checkpoint of experiment {owner!r}, not {self.experiment!r}"
            )
        return checkpoint

    def _first_usable(self, pick: Pick) -> ChosenCheckpoint | None:
        remaining = self.checkpoints()
        while (chosen := pick(remaining)) is not None:
            try:
                return ChosenCheckpoint(chosen.path, self.read_usable(chosen))
            except CheckpointError as exc:
                log.warning("skipping checkpoint %s: %s", chosen.path, exc.reason)
            remaining.remove(chosen)
        return None

    def _pick_named(self, stem: str, files: list[CheckpointFile]) -> CheckpointFile | None:
        named = [f for f in files if f.name.kind is CheckpointKind.BEST and f.name.name == stem]
        return _newest(named) if named else None

    def _latest(self) -> ChosenCheckpoint | None:
        return self._first_usable(_pick_latest)

    def _reward_best(self) -> ChosenCheckpoint | None:
        return self._first_usable(
            lambda files: self._pick_named(self.experiment, files) or _pick_rated(files)
        )

    def _best(self) -> ChosenCheckpoint | None:
        robust = self._first_usable(
            lambda files: self._pick_named(self.experiment + ROBUST_TAG, files)
        )
        return robust or self._reward_best()

    def find(self, which: str) -> ChosenCheckpoint | None:
        """The usable checkpoint a selector of :data:`SELECTORS` names, read, or None.

        Raises:
            ValueError: ``which`` is not a selector.
        """
        finders = {"latest": self._latest, "best": self._best, "reward_best": self._reward_best}
        if which not in finders:
            raise ValueError(f"which: expected one of {', '.join(SELECTORS)}, got {which!r}")
        return finders[which]()

    def latest(self) -> Path | None:
        """The newest usable checkpoint: highest epoch (then frame, then newest file).

        Files without counters in their name (best files) count only when no
        other usable checkpoint exists. None when there is none.
        """
        return _path_of(self._latest())

    def reward_best(self) -> Path | None:
        """rl_games' best-reward file ``<experiment>.pth``; without one, the usable
        checkpoint whose name has the highest reward. None if none."""
        return _path_of(self._reward_best())

    def best(self) -> Path | None:
        """The most robust checkpoint, ``<experiment>_robust.pth`` (written by ADR
        runs); without one, :meth:`reward_best`. None if none."""
        return _path_of(self._best())

    def choose(self, which: PathLike) -> ChosenCheckpoint:
        """``"latest"``, ``"best"``, ``"reward_best"`` (found and read now), or a path to a
        checkpoint file of a known format (checked now, read when needed).

        Raises:
            CheckpointNotFoundError: no usable checkpoint of the experiment (for
                a selector) or no such file.
            UnknownFormatError: a path no store handles (by suffix or scheme).
        """
        if which in SELECTORS:
            found = self.find(str(which))
            if found is None:
                raise CheckpointNotFoundError(
                    self.nn_dir,
                    f"no usable checkpoint of experiment {self.experiment!r} "
                    f"(checkpoint={which}); looked for {', '.join(checkpoint_suffixes())} files",
                )
            return found
        resolve_location(which)  # an unknown format fails before the file is looked for
        path = Path(which)
        if not path.is_file():
            raise CheckpointNotFoundError(path, "no such checkpoint file")
        return ChosenCheckpoint(path)

    def resolve(self, which: PathLike) -> Path:
        """The file :meth:`choose` chooses (raising as it does)."""
        return self.choose(which).path

    def prune(
        self, owned: Collection[str], keep_last: int, *, temp_min_age_s: float = 600.0
    ) -> list[Path]:
        """Delete all but the ``keep_last`` newest of the periodic checkpoints named in ``owned``.

        Only files named in ``owned`` (file names in ``nn/``, those a run wrote
        or resumed from) are candidates: another run's files, best files,
        score-to-win files and files of other names are never deleted, and the
        newest owned file always stays. Temp files of interrupted saves older
        than ``temp_min_age_s`` are removed too.

        Returns:
            The deleted files.

        Raises:
            ValueError: ``keep_last`` is not an int >= 1.
        """
        if not is_int(keep_last) or keep_last < 1:
            raise ValueError(f"keep_last: expected an int >= 1, got {keep_last!r}")
        mine = [
            f
            for f in self.checkpoints()
            if f.path.name in owned
            and f.name.kind is CheckpointKind.PERIODIC
            and f.name.name == self.experiment
        ]
        removed: list[Path] = []
        for file in mine[: max(len(mine) - keep_last, 0)]:
            try:
                file.path.unlink()
            except FileNotFoundError:
                continue
            removed.append(file.path)
            log.info("retention: removed %s", file.path)
        removed += remove_stale_temp_files(self.nn_dir, min_age_s=temp_min_age_s)
        return removed

    def archive(self) -> Path | None:
        """Move ``nn/`` and ``summaries/`` to ``previous/<UTC time>/`` (start over).

        Returns:
            The directory they were moved to; None when there was nothing to move.
        """
        present = [d for d in (self.nn_dir, self.summaries_dir) if d.exists()]
        if not present:
            return None
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        target = self.experiment_dir / "previous" / stamp
        target.mkdir(parents=True)
        for directory in present:
            directory.rename(target / directory.name)
        log.info("moved the previous run of %s to %s", self.experiment, target)
        return target
