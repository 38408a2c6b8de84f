"""The built-in domain-randomization dict (``task.randomization_params``), as data.

Pure functions: validate a DR dict once at start-up (every problem reported
with its dotted path), check that every ADR ``range_path`` resolves to a
``[lo, hi]`` range in it, and build patched copies (current ADR ranges spliced
in, one range collapsed to a point for a boundary worker) without mutating
the input.

A DR dict has this shape (IsaacGymEnvs' format, as in ``cfg/dr/allegro_hand_dextreme.yaml``)::

    frequency: 720                 # frames between sim_params randomizations
    sim_params:
      gravity: {range, operation, distribution}
    actor_params:
      <actor name>:
        scale: {range, operation, distribution, setup_only}
        color: true
        dof_properties | rigid_body_properties | rigid_shape_properties:
          <attribute>: {range, operation, distribution, [schedule, schedule_steps,
                        setup_only, num_buckets]}
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from adr_domain import ADRConfig, ConfigError, is_int
from adr_domain.config import to_plain

__all__ = [
    "ACTOR_PROPERTY_GROUPS",
    "DRParams",
    "resolve_path",
    "splice_ranges",
    "validate_dr_params",
    "validate_range_paths",
    "with_value_at",
]

log = logging.getLogger(__name__)

DRParams = dict[str, Any]
"""A DR dict as plain nested dicts and lists (see the module docstring)."""

ACTOR_PROPERTY_GROUPS = ("dof_properties", "rigid_body_properties", "rigid_shape_properties")
"""Per-actor property groups whose attributes the adapter randomizes."""

_OPERATIONS = ("additive", "scaling")
_DISTRIBUTIONS = ("uniform", "loguniform", "gaussian")
_SCHEDULES = ("linear", "constant")
_ENTRY_KEYS = {
    "range",
    "operation",
    "distribution",
    "schedule",
    "schedule_steps",
    "setup_only",
    "num_buckets",
}
_MAX_BUCKETS = 64000  # PhysX material limit, as IsaacGymEnvs checks


def validate_dr_params(
    dr_params: Mapping[str, Any], *, where: str = "randomization_params"
) -> DRParams:
    """Check a DR dict and return it as plain dicts and lists (a copy).

    Args:
        dr_params: the ``task.randomization_params`` mapping (OmegaConf nodes too).
        where: prefix of the paths in messages.

    Returns:
        The validated dict (the input is not mutated).

    Raises:
        ConfigError: listing every problem as ``<where>.<path>: <problem>``.
    """
    if not isinstance(dr_params, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(dr_params).__name__}")
    plain: DRParams = to_plain(dr_params)
    problems: list[str] = []
    unknown = sorted(
        set(plain) - {"frequency", "sim_params", "actor_params", "observations", "actions"}
    )
    if unknown:
        log.warning("%s: ignoring unknown keys %s", where, ", ".join(unknown))
    for noise in ("observations", "actions"):
        if noise in plain:
            log.warning(
                "%s.%s: built-in %s noise is not applied by adr_isaac (use ADR tensor "
                "parameters; IsaacGymEnvs' DeXtreme ADR task does not use it either)",
                where,
                noise,
                noise,
            )
    freq = plain.get("frequency", 1)
    if not is_int(freq) or freq < 1:
        problems.append(f"{where}.frequency: must be an int >= 1, got {freq!r}")
    sim_params = plain.get("sim_params", {})
    if not isinstance(sim_params, Mapping):
        problems.append(f"{where}.sim_params: expected a mapping")
    else:
        for attr, entry in sim_params.items():
            path = f"{where}.sim_params.{attr}"
            if attr != "gravity":
                problems.append(f"{path}: not supported by adr_isaac (only gravity)")
                continue
            _check_entry(path, entry, problems)
    actors = plain.get("actor_params", {})
    if not isinstance(actors, Mapping):
        problems.append(f"{where}.actor_params: expected a mapping")
    else:
        for actor, groups in actors.items():
            _check_actor(f"{where}.actor_params.{actor}", groups, problems)
    buckets = _total_buckets(plain)
    if buckets > _MAX_BUCKETS:
        problems.append(
            f"{where}: material bucketing asks for {buckets} buckets, more than {_MAX_BUCKETS}"
        )
    if problems:
        raise ConfigError("invalid domain randomization dict:\n  " + "\n  ".join(problems))
    return plain


def _check_actor(path: str, groups: Any, problems: list[str]) -> None:
    if not isinstance(groups, Mapping):
        problems.append(f"{path}: expected a mapping of property groups")
        return
    for group, attrs in groups.items():
        gpath = f"{path}.{group}"
        if group == "color":
            if not isinstance(attrs, bool):
                problems.append(f"{gpath}: must be true or false, got {attrs!r}")
        elif group == "scale":
            _check_entry(gpath, attrs, problems)
        elif group in ACTOR_PROPERTY_GROUPS:
            if not isinstance(attrs, Mapping):
                problems.append(f"{gpath}: expected a mapping of attributes")
                continue
            for attr, entry in attrs.items():
                _check_entry(f"{gpath}.{attr}", entry, problems)
        else:
            supported = ", ".join(("scale", "color", *ACTOR_PROPERTY_GROUPS))
            problems.append(f"{gpath}: not supported by adr_isaac (supported: {supported})")


def _check_entry(path: str, entry: Any, problems: list[str]) -> None:
    """Check one ``{range, operation, distribution, ...}`` entry."""
    if not isinstance(entry, Mapping):
        problems.append(f"{path}: expected a mapping with range, operation and distribution")
        return
    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        log.warning("%s: ignoring unknown keys %s", path, ", ".join(unknown))
    rng = entry.get("range")
    if isinstance(rng, Mapping):
        problems.append(f"{path}.range: per-body-group ranges (a mapping) are not supported")
    elif not _is_pair(rng):
        problems.append(f"{path}.range: must be [lo, hi] with finite numbers, got {rng!r}")
    if entry.get("operation") not in _OPERATIONS:
        problems.append(
            f"{path}.operation: must be one of {', '.join(_OPERATIONS)}, "
            f"got {entry.get('operation')!r}"
        )
    dist = entry.get("distribution")
    if dist not in _DISTRIBUTIONS:
        problems.append(
            f"{path}.distribution: must be one of {', '.join(_DISTRIBUTIONS)}, got {dist!r}"
        )
    elif dist == "loguniform" and _is_pair(rng) and min(float(v) for v in rng or ()) <= 0:
        problems.append(f"{path}.range: loguniform needs a positive range, got {rng!r}")
    schedule = entry.get("schedule")
    if schedule is not None:
        if schedule not in _SCHEDULES:
            problems.append(
                f"{path}.schedule: must be one of {', '.join(_SCHEDULES)}, got {schedule!r}"
            )
        steps = entry.get("schedule_steps")
        if not is_int(steps) or steps <= 0:
            problems.append(f"{path}.schedule_steps: must be an int > 0, got {steps!r}")
    if not isinstance(entry.get("setup_only", False), bool):
        problems.append(f"{path}.setup_only: must be true or false")
    buckets = entry.get("num_buckets", 0)
    if not is_int(buckets) or buckets < 0:
        problems.append(f"{path}.num_buckets: must be an int >= 0, got {buckets!r}")


def _is_pair(value: Any) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == 2
        and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in value
        )
    )


def _total_buckets(plain: DRParams) -> int:
    total = 0
    actors = plain.get("actor_params", {})
    if not isinstance(actors, Mapping):
        return 0
    for groups in actors.values():
        shapes = groups.get("rigid_shape_properties") if isinstance(groups, Mapping) else None
        if not isinstance(shapes, Mapping):
            continue
        count = 0
        for attr in ("restitution", "friction"):
            entry = shapes.get(attr)
            n = entry.get("num_buckets", 0) if isinstance(entry, Mapping) else 0
            if isinstance(n, int) and n > 0:
                count = count * n if count else n
        total += count
    return total


def resolve_path(tree: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` in nested mappings.

    Raises:
        KeyError: naming the first missing key and where it was looked for.
    """
    node: Any = tree
    walked: list[str] = []
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            where = ".".join(walked) if walked else "the top level"
            raise KeyError(f"no key {part!r} under {where}")
        node = node[part]
        walked.append(part)
    return node


def validate_range_paths(
    adr_cfg: ADRConfig, dr_params: Mapping[str, Any], *, where: str = "randomization_params"
) -> None:
    """Check that every ADR parameter's ``range_path`` points at a ``[lo, hi]`` range.

    A path must resolve in ``dr_params`` through existing keys, must not lead
    into the ``observations``/``actions`` noise blocks (not applied here), and
    a path into a ``loguniform`` entry needs a positive lower limit.

    Raises:
        ConfigError: one line per bad parameter, naming it, its path and the
            missing key.
    """
    problems: list[str] = []
    for name, spec in adr_cfg.params.items():
        path = spec.range_path
        if path is None:
            continue
        prefix = f"adr.params.{name}.range_path {path!r}"
        try:
            value = resolve_path(dr_params, path)
        except KeyError as exc:
            problems.append(f"{prefix} does not resolve in {where}: {exc.args[0]}")
            continue
        head = path.split(".", 1)[0]
        if head not in ("actor_params", "sim_params"):
            problems.append(f"{prefix} points into {head!r}, which adr_isaac does not apply")
        elif not _is_pair(value):
            problems.append(f"{prefix} does not point at a [lo, hi] range (found {value!r})")
        elif path.endswith(".range"):
            entry = resolve_path(dr_params, path[: -len(".range")])
            lower = spec.limits[0]
            if (
                isinstance(entry, Mapping)
                and entry.get("distribution") == "loguniform"
                and (lower is None or lower <= 0)
            ):
                problems.append(
                    f"{prefix} leads to a loguniform entry, so the parameter's lower "
                    f"limit must be > 0 (got {lower})"
                )
    if problems:
        raise ConfigError("invalid ADR range_path:\n  " + "\n  ".join(problems))


def with_value_at(tree: Mapping[str, Any], path: str, value: Any) -> DRParams:
    """A copy of ``tree`` with ``value`` at the dotted ``path``.

    Only the mappings along the path are copied; every other branch is shared
    with ``tree`` (treat the result as read-only). ``tree`` is not mutated.

    Raises:
        KeyError: a key along the path (except the last) is missing.
    """
    head, _, rest = path.partition(".")
    out = dict(tree)
    if rest:
        child = tree.get(head)
        if not isinstance(child, Mapping):
            raise KeyError(f"no mapping {head!r} on the way to {path!r}")
        out[head] = with_value_at(child, rest, value)
    else:
        out[head] = value
    return out


def splice_ranges(dr_params: Mapping[str, Any], ranges: Mapping[str, Sequence[float]]) -> DRParams:
    """A deep copy of ``dr_params`` with ``ranges[path]`` written at each dotted path.

    Raises:
        KeyError: a path does not resolve (validate with :func:`validate_range_paths`).
    """
    out: DRParams = to_plain(dr_params)
    for path, rng in ranges.items():
        head, _, last = path.rpartition(".")
        parent = resolve_path(out, head) if head else out
        if not isinstance(parent, dict) or last not in parent:
            raise KeyError(f"no key {last!r} under {head or 'the top level'}")
        parent[last] = [float(rng[0]), float(rng[1])]
    return out
