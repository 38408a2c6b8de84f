"""Policies to evaluate: rl_games checkpoints read through our stores.

:func:`load_policy` reads a checkpoint (any store), builds rl_games' network
from the train config's ``model`` / ``network`` blocks, loads its weights and
returns an :class:`EvalPolicy` that acts deterministically (the mean action,
as rl_games' player with ``deterministic: True``). It also reads what an
evaluation needs to know about the run: its task, ADR parameter set and
config, its own ranges and their NPD.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import torch

from adr_domain import ENGINE_STATE_KEY, ADRConfig
from adr_domain.eval_cells import Range
from adr_infra import Checkpoint, load_checkpoint

__all__ = [
    "EvalPolicy",
    "PolicyError",
    "TrainedPolicy",
    "build_model",
    "checkpoint_ranges",
    "deterministic_actions",
    "engine_ranges",
    "load_policy",
    "policy_npd",
]

log = logging.getLogger(__name__)


class PolicyError(ValueError):
    """A checkpoint cannot be evaluated (the message names the file and the reason)."""


def policy_npd(ranges: Mapping[str, Range], cfg: ADRConfig) -> float:
    """Nats per dimension of ``ranges`` (the engine's metric: mean over parameters
    of ``log(max(hi - lo, 1e-3))``, parameters with ``delta == 0`` counting 0)."""
    total = 0.0
    for name, (lo, hi) in ranges.items():
        if cfg.params[name].delta != 0:
            total += math.log(max(hi - lo, 1e-3))
    return total / len(ranges)


@attrs.frozen(eq=False)
class TrainedPolicy:
    """What a checkpoint says about a policy's training (any framework).

    Attributes:
        label: its name in tables and plots.
        path: the checkpoint file.
        task_name: the task it was trained on (rl_games: the env state's
            ``task_name``; mjlab: the task id).
        param_set_hash: the ADR parameter-set hash of its checkpoint.
        adr_config: its run's (rl_games) or its task's (mjlab) ADR config.
        ranges: ``{name: (lo, hi)}`` its own (trained) ranges, config order.
        npd: the NPD of ``ranges``.
        epoch: the rl_games epoch or rsl_rl iteration of the checkpoint, if saved.
    """

    label: str
    path: Path
    task_name: str
    param_set_hash: str
    adr_config: ADRConfig
    ranges: dict[str, Range]
    npd: float
    epoch: int | None


@attrs.frozen(eq=False)
class EvalPolicy(TrainedPolicy):
    """An rl_games policy and what its checkpoint says about its training.

    Attributes:
        model: rl_games' model (eval mode, on ``device``); the others: see
            :class:`TrainedPolicy`.
    """

    model: torch.nn.Module

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        """``(N, A)`` float32 deterministic actions in ``[-1, 1]`` for ``(N, D)`` observations."""
        return deterministic_actions(self.model, obs)


@torch.no_grad()
def deterministic_actions(model: torch.nn.Module, obs: torch.Tensor) -> torch.Tensor:
    """``(N, A)`` float32 the mean actions of rl_games' ``model``, clamped to ``[-1, 1]``.

    The network's mean alone: the model's own forward would also sample an action
    from the global torch RNG. ``model`` should be in eval mode (else its input
    normalizer would update its statistics).
    """
    net: Any = model
    mus, _, _, _ = net.a2c_network({"obs": net.norm_obs(obs), "rnn_states": None})
    return torch.as_tensor(mus).clamp(-1.0, 1.0)


def _fail(path: Path, reason: str) -> PolicyError:
    return PolicyError(f"{path}: {reason}")


def engine_ranges(checkpoint: Checkpoint, cfg: ADRConfig, path: Path) -> dict[str, Range]:
    """The ranges of the checkpoint's engine state, in ``cfg``'s order.

    Raises:
        PolicyError: no engine state, or one of other parameters than ``cfg``'s.
    """
    engine = checkpoint.engine_state
    if engine is None:
        raise _fail(path, "no ADR engine state (not a checkpoint of sim2real-adr)")
    names, bounds = engine.get("param_names"), engine.get("bounds")
    if not isinstance(names, list) or not isinstance(bounds, torch.Tensor):
        raise _fail(path, "the ADR engine state has no param_names/bounds")
    if sorted(names) != sorted(cfg.params) or tuple(bounds.shape) != (len(names), 2):
        raise _fail(path, "the ADR engine state does not match the stored ADR config")
    by_name = {n: (float(b[0]), float(b[1])) for n, b in zip(names, bounds.tolist(), strict=True)}
    return {n: by_name[n] for n in cfg.params}


def _stored_config(checkpoint: Checkpoint, path: Path) -> ADRConfig:
    if checkpoint.meta.adr_config is None or checkpoint.param_set_hash is None:
        raise _fail(path, "no ADR config in its metadata (not written by adr-train)")
    return ADRConfig.from_mapping(checkpoint.meta.adr_config)


def checkpoint_ranges(path: str | Path) -> dict[str, Range]:
    """The ADR ranges a checkpoint reached (``ranges-of:<path>``), by name.

    Raises:
        PolicyError: no ADR config or engine state in it.
        CheckpointError: the file is missing, damaged or of an unknown format.
    """
    path = Path(path)
    checkpoint = load_checkpoint(path)
    return engine_ranges(checkpoint, _stored_config(checkpoint, path), path)


def build_model(train_params: Mapping[str, Any], obs_dim: int, num_actions: int) -> torch.nn.Module:
    """rl_games' model of the train config's ``model`` / ``network`` blocks (eval mode,
    fresh weights from the global torch RNG)."""
    from rl_games.algos_torch import model_builder

    config = train_params.get("config", {})
    network = model_builder.ModelBuilder().load(dict(train_params))
    # rl_games prints every layer it builds; an evaluation's stdout is its table.
    with contextlib.redirect_stdout(io.StringIO()):
        model: torch.nn.Module = network.build(
            {
                "actions_num": num_actions,
                "input_shape": (obs_dim,),
                "num_seqs": 1,
                "value_size": 1,
                "normalize_value": bool(config.get("normalize_value", False)),
                "normalize_input": bool(config.get("normalize_input", False)),
            }
        )
    return model.eval()


def load_policy(
    path: str | Path,
    train_params: Mapping[str, Any],
    *,
    obs_dim: int,
    num_actions: int,
    label: str | None = None,
    device: torch.device | str = "cpu",
) -> EvalPolicy:
    """Read a checkpoint and build its policy.

    Args:
        path: the checkpoint file (``.pth`` or ``.h5``).
        train_params: the rl_games ``params`` block it was trained with
            (``model``, ``network``, ``config.normalize_input`` ...).
        obs_dim, num_actions: the task's observation and action sizes.
        label: the policy's name; default the file's stem.
        device: where the model runs.

    Raises:
        PolicyError: the checkpoint has no ADR config, engine state or task
            name, or its weights do not fit the network of ``train_params``.
        CheckpointError: the file is missing, damaged or of an unknown format.
    """
    path = Path(path)
    checkpoint = load_checkpoint(path)
    cfg = _stored_config(checkpoint, path)
    ranges = engine_ranges(checkpoint, cfg, path)
    task_name = (checkpoint.env_state or {}).get("task_name")
    if not isinstance(task_name, str):
        raise _fail(path, "its env state names no task")
    weights = checkpoint.to_rl_games()
    if "model" not in weights or ENGINE_STATE_KEY not in (checkpoint.env_state or {}):
        raise _fail(path, "no model weights")
    try:
        model = build_model(train_params, obs_dim, num_actions)
        model.load_state_dict(weights["model"])
        model = model.to(device)
    except (RuntimeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _fail(path, f"its weights do not fit the train config's network: {first}") from None
    log.info("loaded %s (epoch %s, task %s)", path, checkpoint.epoch, task_name)
    return EvalPolicy(
        label=label or path.stem,
        path=path,
        task_name=task_name,
        param_set_hash=str(checkpoint.param_set_hash),
        adr_config=cfg,
        ranges=ranges,
        npd=policy_npd(ranges, cfg),
        epoch=checkpoint.epoch,
        model=model,
    )
