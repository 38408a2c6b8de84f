"""The state toolkit every stateful part uses: a protocol, a typed reader, stage-then-commit.

* :class:`Stateful`: ``state_dict()`` / ``load_state_dict(state)``.
* :class:`StateReader`: typed, checked reads of one state dict (``int``,
  ``float``, ``bool``, ``str``, ``str_list``, ``tensor(shape, dtype)``,
  generator states, nested dicts); every error is a
  :class:`~adr_domain.errors.StateError` that names the entry.
* :class:`StagedLoad`: a load is two steps, :meth:`~StagedLoad.stage_state_dict`
  checks everything and returns a :data:`Commit` that only copies; composite
  parts stage all their children first, then commit them all, so a bad entry
  anywhere leaves everything untouched.
"""

from __future__ import annotations

import builtins
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeGuard, runtime_checkable

import torch

from adr_domain.env_state_keys import SCHEMA_VERSION_KEY
from adr_domain.errors import SchemaVersionError, StateError

__all__ = [
    "Commit",
    "Migration",
    "StagedLoad",
    "StateReader",
    "Stateful",
    "checked_generator_state",
    "commit_all",
    "is_int",
]

Commit = Callable[[], None]
"""Applies a fully checked state; it cannot fail on the state's content."""

Migration = Callable[[dict[str, Any]], dict[str, Any]]
"""A pure function turning a version-N state dict into version N + 1 (engine
state schemas, checkpoint file formats)."""


def is_int(value: object) -> TypeGuard[int]:
    """True for an ``int`` that is not a ``bool`` (the one home of that check)."""
    return isinstance(value, int) and not isinstance(value, bool)


@runtime_checkable
class Stateful(Protocol):
    """A part whose complete state is a dict of CPU tensors and primitives."""

    def state_dict(self) -> Mapping[str, Any]:
        """The complete state (copies; loads with ``torch.load(weights_only=True)``)."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output; on error nothing has changed."""
        ...


class StagedLoad(ABC):
    """Base of stateful parts whose load is *stage* (check) then *commit* (copy)."""

    @abstractmethod
    def stage_state_dict(self, state: Mapping[str, Any]) -> Commit:
        """Check ``state`` completely, changing nothing.

        Returns:
            The commit that applies it.

        Raises:
            StateError: naming what is wrong.
        """

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Stage ``state``, then commit it: on error nothing has changed."""
        self.stage_state_dict(state)()


def commit_all(commits: Iterable[Commit]) -> Commit:
    """One commit running ``commits`` in order."""
    steps = tuple(commits)

    def run() -> None:
        for step in steps:
            step()

    return run


def checked_generator_state(
    value: object, what: str, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """``value`` on the CPU, once it has proven to be a ``torch.Generator`` state.

    Args:
        value: a saved state entry.
        what: how an error names the entry (e.g. ``"ADR engine state: rng 'assign'"``).
        device: the device of the generator that will take the state.

    Raises:
        StateError: ``value`` is not a uint8 tensor, or a generator refuses it.
    """
    if not isinstance(value, torch.Tensor) or value.dtype != torch.uint8:
        raise StateError(f"{what} must be a uint8 tensor")
    state = value.cpu()
    try:
        torch.Generator(device=device).set_state(state)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise StateError(f"{what} is not a generator state: {exc}") from None
    return state


class StateReader:
    """Checked, typed reads of one state dict.

    Errors read ``"<what>: <entry> <problem>"``; a top-level entry is named
    ``'key'``, an entry of a nested reader ``parent.key``.

    Args:
        state: the state dict (anything else is refused).
        what: the state's name in messages (e.g. ``"ADR engine state"``).
        prefix: path of a nested reader (set by :meth:`child`).

    Raises:
        StateError: ``state`` is not a mapping.
    """

    def __init__(self, state: object, what: builtins.str, prefix: builtins.str = "") -> None:
        if not isinstance(state, Mapping):
            where = f"{what}: {prefix.rstrip('.')}" if prefix else what
            raise StateError(f"{where} must be a mapping, got {type(state).__name__}")
        self.state: Mapping[builtins.str, Any] = state
        self.what = what
        self._prefix = prefix

    def label(self, key: builtins.str) -> builtins.str:
        """How messages name entry ``key``."""
        return f"{self._prefix}{key}" if self._prefix else f"'{key}'"

    def fail(self, key: builtins.str, problem: builtins.str) -> StateError:
        """A :class:`StateError` about entry ``key`` (to raise)."""
        return StateError(f"{self.what}: {self.label(key)} {problem}")

    def has(self, key: builtins.str) -> builtins.bool:
        """Whether the entry exists."""
        return key in self.state

    def child(self, key: builtins.str) -> StateReader:
        """A reader of the nested dict at ``key``."""
        value = self.state.get(key)
        if not isinstance(value, Mapping):
            raise self.fail(key, "must be a mapping")
        return StateReader(value, self.what, f"{self._prefix}{key}.")

    def names(self) -> list[builtins.str]:
        """The entry names, as strings."""
        return [str(k) for k in self.state]

    def int(
        self,
        key: builtins.str,
        *,
        low: builtins.int | None = None,
        high: builtins.int | None = None,
    ) -> builtins.int:
        """An ``int`` (not a ``bool``) in ``[low, high]`` where given."""
        value = self.state.get(key)
        if not is_int(value):
            raise self.fail(key, f"must be an int, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.fail(key, f"must lie in [{low}, {high}], got {value}")
        return value

    def float(self, key: builtins.str) -> builtins.float:
        """A finite number (``int`` or ``float``, not ``bool``)."""
        value = self.state.get(key)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise self.fail(key, f"must be a finite number, got {value!r}")
        return float(value)

    def bool(self, key: builtins.str) -> builtins.bool:
        """A ``bool``."""
        value = self.state.get(key)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be a bool, got {value!r}")
        return value

    def str(self, key: builtins.str) -> builtins.str:
        """A ``str``."""
        value = self.state.get(key)
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {value!r}")
        return value

    def str_list(self, key: builtins.str) -> list[builtins.str]:
        """A list of strings."""
        value = self.state.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a list of strings")
        return list(value)

    def tensor(
        self,
        key: builtins.str,
        shape: tuple[builtins.int | None, ...] | None = None,
        dtype: torch.dtype | None = None,
        *,
        finite: builtins.bool = False,
    ) -> torch.Tensor:
        """A tensor of ``shape`` and ``dtype`` (where given), detached, on the CPU.

        Args:
            shape: the expected shape; ``None`` entries match any size.
            finite: refuse NaN and infinite values (floating-point tensors).
        """
        value = self.state.get(key)
        if not isinstance(value, torch.Tensor):
            raise self.fail(key, f"must be a tensor, got {type(value).__name__}")
        if shape is not None and not _shape_matches(tuple(value.shape), shape):
            expected = tuple("*" if s is None else s for s in shape)
            raise self.fail(key, f"has shape {tuple(value.shape)}, expected {expected}")
        if dtype is not None and value.dtype != dtype:
            raise self.fail(key, f"has dtype {value.dtype}, expected {dtype}")
        out = value.detach().cpu()
        if finite and out.is_floating_point() and not bool(torch.isfinite(out).all()):
            raise self.fail(key, "holds non-finite values")
        return out

    def generator(
        self, key: builtins.str, device: torch.device | builtins.str = "cpu"
    ) -> torch.Tensor:
        """A ``torch.Generator`` state for a generator on ``device``."""
        return checked_generator_state(
            self.state.get(key), f"{self.what}: {self.label(key)}", device
        )

    def version(
        self, expected: builtins.int, key: builtins.str = SCHEMA_VERSION_KEY
    ) -> builtins.int:
        """The schema version, which must be ``expected``.

        Raises:
            SchemaVersionError: another or no version.
        """
        value = self.state.get(key)
        if not is_int(value) or value != expected:
            raise SchemaVersionError(
                f"{self.what}: {self._prefix}{key} {value!r} is not {expected} "
                "(written by another version of sim2real-adr?)"
            )
        return int(value)


def _shape_matches(actual: tuple[int, ...], expected: tuple[int | None, ...]) -> bool:
    """Same rank, and every fixed size equal."""
    return len(actual) == len(expected) and all(
        e is None or a == e for a, e in zip(actual, expected, strict=True)
    )
