"""Input rules: argument types and shapes (at once), and bad values (deferred, eager or off).

Types, shapes and dtypes are known on the host, so a wrong one raises a
``ValueError`` at once. Bad *values* (env ids out of range or repeated,
non-finite objectives of finished envs) are only known on the device; how
they are handled is the config's ``input_checks``:

* ``deferred`` (default): :func:`screen` keeps every bad entry out of the
  state (it is routed to the trash slot and row: the env is not recorded,
  recycled or resampled) and :func:`note_offence` keeps the first one on the
  device; :func:`raise_offence` reports it at the next host-visible point
  (``engine.check()``). No host sync in the update.
* ``eager``: the same screen, then one host sync; a bad entry raises before
  anything changes.
* ``off``: out-of-range ids go to the trash slot and non-finite results are
  not recorded (the env is still recycled); repeated ids are not detected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch

from adr_domain.errors import InputError
from adr_domain.types import InputChecks

__all__ = [
    "OFFENCE_FIELDS",
    "EnvIds",
    "Screened",
    "as_env_ids",
    "as_objective",
    "as_update_inputs",
    "check_ids_now",
    "describe_offence",
    "note_offence",
    "raise_if_bad_update",
    "raise_offence",
    "screen",
    "screen_ids",
]

OFFENCE_FIELDS = 3
"""Entries of the deferred-error record: kept (0 or 1), env id, value."""

EnvIds = torch.Tensor | Sequence[int] | range
"""Env ids: a 1-D integer tensor, or a sequence of ints."""


def as_env_ids(value: EnvIds, name: str, device: torch.device) -> torch.Tensor:
    """``(K,)`` int64 ids on ``device`` from a tensor or a sequence of ints.

    Raises:
        ValueError: naming ``name``: not integers, not 1-D, not a sequence.
    """
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool or value.is_floating_point() or value.is_complex():
            raise ValueError(f"{name}: expected integer env ids, got a {value.dtype} tensor")
        if value.dim() != 1:
            raise ValueError(
                f"{name}: expected a 1-D tensor of env ids, got shape {tuple(value.shape)}"
            )
        if value.dtype == torch.long and value.device == device:
            return value
        return value.to(device=device, dtype=torch.long)
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, range)):
        raise ValueError(
            f"{name}: expected a 1-D integer tensor or a sequence of ints, "
            f"got {type(value).__name__}"
        )
    items = list(value)
    for item in items:
        if isinstance(item, bool) or not hasattr(item, "__index__"):
            raise ValueError(f"{name}: env ids must be ints, got {item!r}")
    return torch.tensor([int(i) for i in items], dtype=torch.long, device=device)


def as_objective(value: object, num_envs: int, device: torch.device) -> torch.Tensor:
    """The ``(N,)`` real-valued objective on ``device``.

    Raises:
        ValueError: naming ``objective``: not a tensor, not real, wrong shape.
    """
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"objective: expected a ({num_envs},) tensor, got {type(value).__name__}")
    if value.dtype == torch.bool or value.is_complex():
        raise ValueError(f"objective: expected a real-valued tensor, got {value.dtype}")
    if tuple(value.shape) != (num_envs,):
        raise ValueError(f"objective: expected shape ({num_envs},), got {tuple(value.shape)}")
    return value if value.device == device else value.to(device)


def as_update_inputs(
    done_env_ids: EnvIds, objective: object, num_envs: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(K,)`` int64 ids and the ``(N,)`` objective of an update, on ``device``.

    Raises:
        ValueError: naming ``done_env_ids`` or ``objective``: wrong type, shape
            or dtype, or more ids than envs.
    """
    ids = as_env_ids(done_env_ids, "done_env_ids", device)
    obj = as_objective(objective, num_envs, device)
    if ids.numel() > num_envs:
        raise ValueError(f"done_env_ids: {ids.numel()} ids for {num_envs} envs (ids repeat)")
    return ids, obj


class Screened(NamedTuple):
    """The finished envs of one update, checked, in their original order.

    Attributes:
        gather: ``(K,)`` int64 env slot of each entry (``N``, the trash
            slot, for an entry kept out of the state).
        key: ``(K,)`` int64 group of each entry: the queue of a boundary
            worker, ``Q`` for a rollout worker, ``Q + 1`` for anything ignored.
        values: ``(K,)`` float64 objective of each entry (0 where ignored).
        raw: ``(K,)`` float64 objective of each entry as read.
        ok: ``(K,)`` bool, the entry is valid (None with ``input_checks: off``).
    """

    gather: torch.Tensor
    key: torch.Tensor
    values: torch.Tensor
    raw: torch.Tensor
    ok: torch.Tensor | None


def screen_ids(
    ids: torch.Tensor, seen: torch.Tensor, positions: torch.Tensor, num_envs: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Check finished env ids on the device.

    Args:
        ids: ``(K,)`` int64 env ids, any order.
        seen: ``(N + 1,)`` int64 scratch (overwritten at the ids' slots).
        positions: ``(>= K,)`` int64 ``arange``.
        num_envs: ``N``.

    Returns:
        ``(slot, in_range, first)``: ``(K,)`` int64 each id's slot (``N``, the
        trash slot, when out of range), ``(K,)`` bool in range, and ``(K,)``
        bool the first occurrence of its id (one copy of a repeated id is).
    """
    N = num_envs
    slot = torch.remainder(ids.clamp(-1, N), N + 1)
    here = positions[: ids.numel()]
    seen.index_put_((slot,), here)
    return slot, slot != N, seen.index_select(0, slot) == here


def screen(
    ids: torch.Tensor,
    objective: torch.Tensor,
    codes: torch.Tensor,
    queue_of_code: torch.Tensor,
    seen: torch.Tensor,
    positions: torch.Tensor,
    checks: InputChecks,
) -> Screened:
    """Route every finished env's result to its group; bad entries to the trash.

    A bad entry (id out of range, the second and later copies of a repeated
    id, a non-finite objective) is kept out of the state entirely: group
    ``Q + 1`` and the trash slot, so its env is neither recorded nor recycled
    nor resampled. With ``input_checks: off`` an out-of-range id goes to the
    trash slot and a non-finite result is not recorded, nothing else.

    Args:
        ids: ``(K,)`` int64 finished env ids, any order.
        objective: ``(N,)`` the objective.
        codes: ``(N + 1,)`` int64 each env's code (``mode + (Q + 1) * type``).
        queue_of_code: ``(3 (Q + 1),)`` int64 group of each code.
        seen: ``(N + 1,)`` int64 scratch (overwritten at the ids' slots).
        positions: ``(>= K,)`` int64 ``arange``.
        checks: the input-check mode.
    """
    N = objective.shape[0]
    ignored = queue_of_code.shape[0] // 3  # Q + 1
    slot, in_range, first = screen_ids(ids, seen, positions, N)
    raw = objective.index_select(0, slot.clamp(max=N - 1)).to(torch.float64)
    finite = torch.isfinite(raw)
    key = queue_of_code.index_select(0, codes.index_select(0, slot))
    if checks is InputChecks.OFF:
        record = in_range & finite
        return Screened(
            gather=slot,
            key=torch.where(record, key, ignored),
            values=torch.where(record, raw, 0.0),
            raw=raw,
            ok=None,
        )
    ok = in_range & first & finite
    return Screened(
        gather=torch.where(ok, slot, N),
        key=torch.where(ok, key, ignored),
        values=torch.where(ok, raw, 0.0),
        raw=raw,
        ok=ok,
    )


def note_offence(
    offence: torch.Tensor, ok: torch.Tensor, ids: torch.Tensor, values: torch.Tensor
) -> None:
    """Keep the first bad entry in ``offence``, unless one is kept already.

    Args:
        offence: ``(3,)`` float64 record: 1 when an entry is kept (else 0),
            its env id and its objective value (written).
        ok: ``(K,)`` bool valid entries.
        ids: ``(K,)`` int64 the ids as passed.
        values: ``(K,)`` float64 the objective values as read.
    """
    if ids.numel() == 0:
        return
    bad = (~ok).to(torch.float64)
    found = torch.stack([bad, ids.to(torch.float64), values])
    first = found.index_select(1, torch.argmax(bad).view(1)).view(-1)  # entry 0 if all ok
    offence.copy_(torch.where(offence[:1] == 0, first, offence))


def describe_offence(env: int, value: float, num_envs: int) -> str:
    """The message of a kept bad entry; its kind follows from the id and the value.

    An id outside ``[0, N)`` is out of range; an id in range with a non-finite
    objective is a non-finite result; an id in range with a finite one was
    bad only for being a repeat.
    """
    if not 0 <= env < num_envs:
        return f"done_env_ids: env id {env} is out of range [0, {num_envs})"
    if not math.isfinite(value):
        return f"objective: non-finite value {value} for finished env {env}"
    return f"done_env_ids: env id {env} is repeated within one update"


def raise_offence(offence: torch.Tensor, num_envs: int) -> None:
    """Raise the kept bad entry, if any, and forget it (one host read).

    Raises:
        ValueError: naming the argument, the env id and the value.
    """
    kept, env, value = offence.tolist()
    if not kept:
        return
    offence.zero_()
    raise InputError(
        describe_offence(int(env), value, num_envs)
        + "; it and any later bad entries were kept out of the ADR state (the first "
        "since the last check)"
    )


def check_ids_now(ids: torch.Tensor, num_envs: int, name: str) -> None:
    """Raise if ids leave ``[0, N)`` or repeat (one host sync when they are fine).

    Raises:
        ValueError: naming ``name``, the range or the repeated ids.
    """
    if ids.numel() == 0:
        return
    ids_sorted = torch.sort(ids).values
    fence = ids_sorted.new_tensor([-1, num_envs])
    fenced = torch.cat([fence[:1], ids_sorted, fence[1:]])
    if (fenced.diff() > 0).all().item():  # strictly increasing from -1 to N
        return
    lo, hi = int(ids_sorted[0]), int(ids_sorted[-1])
    if lo < 0 or hi >= num_envs:
        raise InputError(f"{name}: env ids must lie in [0, {num_envs}), got ids from {lo} to {hi}")
    repeated = ids_sorted[1:][ids_sorted[1:] == ids_sorted[:-1]]
    dup = sorted(set(repeated.tolist()))[:8]
    raise InputError(f"{name}: duplicated env ids {dup}")


def raise_if_bad_update(
    ids: torch.Tensor, objective: torch.Tensor, ok: torch.Tensor, num_envs: int
) -> None:
    """Under eager checks, raise for an update whose screen found a bad entry
    (one host sync; more only when there is something to raise).

    Args:
        ids: ``(K,)`` int64 the ids as passed.
        objective: ``(N,)`` the objective as passed.
        ok: ``(K,)`` bool the screen's verdict on each entry.

    Raises:
        ValueError: ``done_env_ids`` out of range or repeated, else non-finite
            ``objective`` values, listing up to 8 of them.
    """
    if bool(ok.all().item()):
        return
    raw = objective.index_select(0, ids.clamp(0, num_envs - 1)).to(torch.float64)
    check_ids_now(ids, num_envs, "done_env_ids")
    bad = ~torch.isfinite(raw)
    bad_ids = ids[bad][:8].tolist()
    bad_vals = raw[bad][:8].tolist()
    listing = ", ".join(f"env {i}: {v}" for i, v in zip(bad_ids, bad_vals, strict=True))
    raise InputError(f"objective: non-finite values for finished envs ({listing})")
