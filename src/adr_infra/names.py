"""Checkpoint file names as rl_games writes them, taken apart.

::

    <name>.pth                         best mean reward so far (rl_games)
    <name>_robust.pth                  widest ADR ranges while performing (sim2real-adr)
    last_<name>_ep_<E>_rew_<R>.pth     every save_frequency epochs
    last_<name>_ep_<E>_rew__<R>_.pth   at max_epochs, or when a run was stopped
    last_<name>_frame_<F>_rew__<R>_.pth at max_frames
    <name>_ep_<E>_rew_<R>.pth          score_to_win reached

``<name>`` is the rl_games config name (the experiment name in sim2real-adr runs);
``<R>`` is the mean reward as Python prints it (possibly ``-inf``; rl_games
writes the array form ``[r]`` as ``_r_``). Every registered store suffix
(``.pth``, ``.h5``, ...) is recognized; temp files of interrupted saves never are.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

import attrs

from adr_infra.atomic import is_temp_file
from adr_infra.stores import checkpoint_suffixes

__all__ = ["ROBUST_TAG", "CheckpointFile", "CheckpointKind", "CheckpointName", "check_name"]

ROBUST_TAG = "_robust"
"""What the robust-best checkpoint adds to the name: ``<name>_robust.pth``."""

_LAST = re.compile(
    r"^last_(?P<name>.+)_(?P<unit>ep|frame)_(?P<count>\d+)_rew_(?P<reward>.*)$", re.S
)
_WIN = re.compile(r"^(?P<name>.+)_ep_(?P<count>\d+)_rew_(?P<reward>.*)$", re.S)


class CheckpointKind(str, Enum):
    """Why rl_games wrote a checkpoint."""

    BEST = "best"
    """``<name>.pth`` (a new best mean reward) or ``<name>_robust.pth`` (see
    :data:`ROBUST_TAG`): a file without counters in its name."""
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


def check_name(name: str) -> str:
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
        return cls(check_name(name), CheckpointKind.BEST, suffix=suffix)

    @classmethod
    def robust(cls, name: str, suffix: str = ".pth") -> CheckpointName:
        """``<name>_robust<suffix>``: the widest ADR ranges reached while performing."""
        return cls.best(check_name(name) + ROBUST_TAG, suffix)

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
        return cls(check_name(name), CheckpointKind.PERIODIC, epoch, None, reward, final, suffix)

    @classmethod
    def at_frame(
        cls, name: str, frame: int, reward: float, *, suffix: str = ".pth"
    ) -> CheckpointName:
        """``last_<name>_frame_<frame>_rew__<reward>_<suffix>`` (rl_games' max_frames form)."""
        return cls(check_name(name), CheckpointKind.PERIODIC, None, frame, reward, True, suffix)

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
