"""The ADR level's hierarchical env state: what it saves, restores and logs.

rl_games saves ``env.get_env_state()`` beside the policy and hands it back to
``env.set_env_state(state)``. Every class level of a task owns some entries:
it adds them in its ``get_env_state`` (calling ``super()``) and takes them
out in its ``set_env_state`` with ``take_env_state``
(:meth:`EnvStateKeeper.take`) before passing the rest on. The ADR level, the
last one, restores its own entries and then the entries of levels that do
not restore theirs, by attribute (as IsaacGymEnvs does), when a level
declares them in its ``env_state_keys`` class attribute. Nothing here calls
``get_env_state`` to learn key names."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import attrs
import torch

from adr_domain import (
    ENGINE_STATE_KEY,
    REFERENCE_PARAMS_KEY,
    SCHEMA_VERSION_KEY,
    StateError,
    StateReader,
    reference_params,
)
from adr_infra import RestoreSource, restore_engine
from adr_isaac.randomizer_state import RandomizerMemory, StagedRandomizerState
from adr_isaac.task_adr import TaskADR
from adr_isaac.task_dr import DomainRandomization
from adr_isaac.task_host import TaskHost

__all__ = [
    "ADR_LEVEL_KEYS",
    "DR_KEY",
    "DR_STATE_VERSION",
    "EnvStateKeeper",
    "declared_env_state_keys",
]

log = logging.getLogger(__name__)

DR_KEY = "domain_randomization"
"""Per-env physical values written to the simulator, the randomization stream
and the frame counters."""

ADR_LEVEL_KEYS = frozenset({ENGINE_STATE_KEY, REFERENCE_PARAMS_KEY, DR_KEY})
"""Entries owned by the ADR level."""

DR_STATE_VERSION = 1
"""Version of the :data:`DR_KEY` entry written by this code."""


@attrs.frozen(eq=False)
class _StagedDR:
    """A checked :data:`DR_KEY` entry."""

    randomizer: StagedRandomizerState
    frame: int
    last_step: int
    last_rand_step: int


def declared_env_state_keys(cls: type) -> frozenset[str]:
    """Every ``env_state_keys`` declared along ``cls``'s class hierarchy."""
    keys: set[str] = set()
    for klass in cls.__mro__:
        keys.update(klass.__dict__.get("env_state_keys", ()))
    return frozenset(keys)


class EnvStateKeeper:
    """Env-state bookkeeping of the ADR level (a part of the task mixin).

    Args:
        task: the task (its ``env_state_keys`` along its classes, its
            randomization counters, its attributes for leftover entries).
        adr: the task's ADR part.
        dr: the task's domain randomization.
        memory: what the DR randomizer remembers (saved and restored).
        randomize: ``task.randomize``.
    """

    def __init__(
        self,
        task: TaskHost,
        adr: TaskADR,
        dr: DomainRandomization,
        memory: RandomizerMemory,
        *,
        randomize: bool,
    ) -> None:
        self._task = task
        self._engine = adr.engine
        self._adr = adr
        self._dr = dr
        self._memory = memory
        self._randomize = randomize
        self._taken: set[str] = set()

    def take(
        self, env_state: Mapping[str, Any] | None, *keys: str
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Split a level's entries off an env state, in a ``set_env_state`` override.

        Args:
            env_state: what this level's ``set_env_state`` received (None passes through).
            keys: the entries this level restores.

        Returns:
            ``(taken, rest)``: the entries present, and the state without them to
            pass to ``super().set_env_state`` (None when ``env_state`` is None).
            Missing entries are logged at warning level.
        """
        if env_state is None:
            return {}, None
        taken = {k: env_state[k] for k in keys if k in env_state}
        missing = [k for k in keys if k not in env_state]
        if missing:
            log.warning("env state lacks %s; they keep their current values", ", ".join(missing))
        self._taken.update(keys)
        return taken, {k: v for k, v in env_state.items() if k not in taken}

    def save(self) -> dict[str, Any]:
        """The ADR level's entries; task levels add theirs via ``super()``.

        Returns:
            ``{"adr": <engine state>, "adr_params": <reference-style ranges>,
            "domain_randomization": {"schema_version", "rng", "values", "gravity",
            "frame", "last_step", "last_rand_step"}}`` (``adr*`` only with ADR):
            CPU tensors and primitives, loadable with ``torch.load(weights_only=True)``.
        """
        state: dict[str, Any] = {}
        if self._engine is not None:
            state[ENGINE_STATE_KEY] = self._engine.state_dict()
            state[REFERENCE_PARAMS_KEY] = reference_params(self._engine)
        dr_state = self._memory.state_dict()
        dr_state[SCHEMA_VERSION_KEY] = DR_STATE_VERSION
        dr_state["frame"] = self._dr.saved_frame()
        dr_state["last_step"] = int(self._task.last_step)
        dr_state["last_rand_step"] = int(self._task.last_rand_step)
        state[DR_KEY] = dr_state
        return state

    def restore(self, env_state: Mapping[str, Any] | None) -> None:
        """Restore the ADR level, then make the simulator agree with it.

        ``None`` (rl_games passes it for checkpoints without env state) is a
        no-op. The engine state is restored completely (honouring
        ``adr_load_from_checkpoint``); an IsaacGymEnvs state (``adr_params``
        only) restores ranges and next limits. Then every env's physical
        properties are written back exactly as saved, or, when they cannot be
        (no saved values, ranges not restored, another DR layout), every env
        is re-randomized from the restored ranges without an ADR update; both
        happen at once (or at the next randomization if the sim does not
        exist yet). Entries no level took are restored by attribute when a
        level declares them in ``env_state_keys`` (as IsaacGymEnvs does),
        else ignored; both are logged, as are missing entries.

        Raises:
            StateError: a malformed DR or env state entry (nothing is restored).
            adr_infra.IncompatibleCheckpointError: an ADR state of another
                parameter set or env count, or a malformed one.
        """
        taken, self._taken = self._taken, set()
        if env_state is None:
            log.debug("set_env_state(None): nothing to restore")
            return
        if not isinstance(env_state, Mapping):
            raise StateError(f"env state must be a mapping or None, got {type(env_state).__name__}")
        state = dict(env_state)
        dr = self._stage_dr(state.get(DR_KEY))
        ranges_restored = self._restore_adr(state)
        exact = dr is not None and dr.randomizer.layout_matches and ranges_restored
        if dr is not None:
            self._memory.commit(dr.randomizer, values=exact)
            self._task.last_step, self._task.last_rand_step = dr.last_step, dr.last_rand_step
            self._dr.restore_frame(dr.frame)
        self._log_dr_restore(dr)
        self._restore_leftovers(state, taken)
        if self._randomize:
            self._dr.resync_after_restore(exact)
        if self._engine is not None and not self._task.restores_episode_state:
            self._adr.restart_all()

    def _stage_dr(self, entry: object) -> _StagedDR | None:
        """Check the DR entry (None when the checkpoint has none)."""
        if entry is None:
            return None
        read = StateReader(entry, f"env state entry {DR_KEY!r}")
        read.version(DR_STATE_VERSION)
        return _StagedDR(
            randomizer=self._memory.stage(read.state),
            frame=read.int("frame"),
            last_step=read.int("last_step"),
            last_rand_step=read.int("last_rand_step"),
        )

    def _restore_adr(self, state: Mapping[str, Any]) -> bool:
        """Restore the engine; True when the saved ranges were restored with it."""
        engine = self._engine
        if engine is None:
            present = [k for k in (ENGINE_STATE_KEY, REFERENCE_PARAMS_KEY) if k in state]
            if present:
                log.warning("ADR is off (task.adr.use_adr is false): ignoring %s", present)
            return True
        report = restore_engine(engine, state, path="env state")
        # An IsaacGymEnvs state brings back ranges only: the envs are redrawn.
        return report.source is RestoreSource.COMPLETE and report.ranges_restored

    def _log_dr_restore(self, dr: _StagedDR | None) -> None:
        if not self._randomize:
            return
        if dr is None:
            log.warning(
                "env state has no %r entry (an IsaacGymEnvs checkpoint?): every env is "
                "re-randomized from the restored ranges",
                DR_KEY,
            )
        elif not dr.randomizer.layout_matches:
            log.warning(
                "the saved physical properties do not match this task's randomized "
                "properties (another DR dict or asset?): every env is re-randomized from "
                "the restored ranges"
            )

    def _restore_leftovers(self, state: Mapping[str, Any], taken: set[str]) -> None:
        """Entries no level took: declared ones by attribute, the rest ignored (logged)."""
        expected = declared_env_state_keys(type(self._task)) - ADR_LEVEL_KEYS
        by_attribute: list[str] = []
        unknown: list[str] = []
        for key, value in state.items():
            if key in ADR_LEVEL_KEYS or key in taken:
                continue
            if key not in expected:
                unknown.append(key)
            elif _assign(self._task, key, value):
                by_attribute.append(key)
        if by_attribute:
            log.info(
                "restored env state entries %s by attribute assignment (as IsaacGymEnvs "
                "does); take them in your set_env_state to restore them explicitly",
                ", ".join(by_attribute),
            )
        if unknown:
            log.warning(
                "ignoring env state entries no class level knows: %s (declare them in a "
                "level's env_state_keys, or take them in its set_env_state)",
                ", ".join(unknown),
            )
        missing = sorted(expected - set(state) - taken)
        if missing:
            log.warning("env state lacks %s; they keep their current values", ", ".join(missing))


def _assign(owner: object, key: str, value: object) -> bool:
    """Restore one entry by attribute: a same-shape tensor in place, else setattr."""
    current = getattr(owner, key, None)
    if (
        isinstance(current, torch.Tensor)
        and isinstance(value, torch.Tensor)
        and current.shape == value.shape
    ):
        current.copy_(value)
        return True
    try:
        setattr(owner, key, value)
    except AttributeError:
        log.warning("env state entry %r names a read-only attribute; not restored", key)
        return False
    return True
