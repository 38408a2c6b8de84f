"""The command line checked before Hydra runs, so that every mistake is one line and exit 2.

Hydra reports an unknown key or config group as several lines and exits 1, and
accepts ``+key=value`` for any new top-level key (a typo such as
``+max_iteratons=2`` then does nothing). :func:`check_command_line` composes the
config with Hydra's compose API first and turns each problem into a
:class:`~adr_app.errors.UsageError` naming the override and the nearest valid
key or option. Only ``task.*`` and ``train.*`` keys may be added with ``+``
(tasks validate their own keys; ``+train.params.config.<key>`` passes an
rl_games option through).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from adr_app.errors import UsageError

__all__ = ["check_command_line", "hydra_flags_present"]

_NOT_OVERRIDABLE = re.compile(r"Could not override '([^']+)'")
_ADDABLE_ROOTS = ("task", "train", "hydra")


def hydra_flags_present(args: Sequence[str]) -> bool:
    """True when the command line holds Hydra's own flags (``--cfg``, ``-m``, ...):
    then Hydra handles the command line by itself."""
    return any(arg.startswith("-") for arg in args)


def _hint(word: str, candidates: Sequence[str]) -> str:
    """``; did you mean 'x'?`` for the nearest candidate; without a near one, the valid ones."""
    near = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if near:
        return f"; did you mean {near[0]!r}?"
    return f"; valid: {', '.join(sorted(candidates))}" if candidates else ""


def _compose(config_dir: Path, overrides: Sequence[str]) -> Any:
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(version_base=None, config_dir=str(config_dir)):
        return compose("config", overrides=list(overrides))


def _top_level_keys(config_dir: Path) -> list[str]:
    """The app's keys: those of ``config.yaml`` plus the config groups."""
    with (config_dir / "config.yaml").open() as f:
        data = yaml.safe_load(f) or {}
    return sorted({*data, "task", "train"} - {"defaults", "hydra"})


def _parse(args: Sequence[str]) -> list[Any]:
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    try:
        return list(OverridesParser.create().parse_overrides(list(args)))
    except OverrideParseException as exc:
        reason = str(exc).splitlines()[0]
        raise UsageError(f"{exc.override}: cannot parse this override ({reason})") from None


def _group_choices(parsed: Sequence[Any], args: Sequence[str]) -> list[str]:
    """The overrides that choose config groups (``task=X``, ``train=Y``)."""
    return [arg for o, arg in zip(parsed, args, strict=True) if o.key_or_group in ("task", "train")]


def _keys_at(config: Any, dotted_parent: str) -> list[str]:
    from omegaconf import OmegaConf

    node = OmegaConf.select(config, dotted_parent) if dotted_parent else config
    return [str(k) for k in node] if node is not None and hasattr(node, "keys") else []


def _unknown_key(key: str, base: Any) -> UsageError:
    parent, _, leaf = key.rpartition(".")
    candidates = _keys_at(base, parent)
    where = f"'{parent}'" if parent else "the config"
    return UsageError(f"{key}: no such key in {where}{_hint(leaf, candidates)}")


def _check_added_keys(parsed: Sequence[Any], known: Sequence[str]) -> None:
    for override in parsed:
        if not (override.is_add() or override.is_force_add()):
            continue
        key = str(override.key_or_group)
        root = key.split(".", 1)[0]
        if root in _ADDABLE_ROOTS or key in known:
            continue
        raise UsageError(
            f"+{key}: unknown key; only task.* and train.* keys can be added{_hint(key, known)}"
        )


def _check_bool_for_numbers(parsed: Sequence[Any], base: Any) -> None:
    """``key=true`` where the config has a number is a mistake, not 1."""
    from omegaconf import OmegaConf

    for override in parsed:
        value = override.value() if not override.is_delete() else None
        if not isinstance(value, bool):
            continue
        default = OmegaConf.select(base, str(override.key_or_group), default=None)
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            raise UsageError(
                f"{override.key_or_group}={str(value).lower()}: expected a number "
                f"(the default is {default}), got a boolean"
            )


def check_command_line(config_dir: Path, args: Sequence[str]) -> None:
    """Compose the config from ``args`` as Hydra will, and report the first problem.

    Raises:
        UsageError: one line naming the override: unparsable, an unknown key
            (with or without ``+``) with the nearest valid one, an unknown
            config group option with the available ones, or ``true``/``false``
            for a number.
    """
    from hydra.errors import ConfigCompositionException, MissingConfigException

    parsed = _parse(args)
    _check_added_keys(parsed, _top_level_keys(config_dir))
    try:
        _compose(config_dir, args)
    except MissingConfigException as exc:
        group = (exc.missing_cfg_file or "config").split("/")[0]
        chosen = next((a for a in args if a.split("=", 1)[0] == group), group)
        options = list(exc.options or [])
        choice = chosen.split("=", 1)[-1]
        raise UsageError(
            f"{chosen}: no such {group} config; available: {', '.join(options) or 'none'}"
            f"{_hint(choice, options)}"
        ) from None
    except ConfigCompositionException as exc:
        match = _NOT_OVERRIDABLE.search(str(exc))
        if match is None:
            raise UsageError(" ".join(str(exc).split())) from None
        base = _compose(config_dir, _group_choices(parsed, args))
        raise _unknown_key(match.group(1), base) from None
    if any(isinstance(o.value(), bool) for o in parsed if not o.is_delete()):
        _check_bool_for_numbers(parsed, _compose(config_dir, _group_choices(parsed, args)))
