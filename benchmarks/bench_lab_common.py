"""What the mjlab and the Isaac Lab halves of ``bench_lab.py`` share (stdlib and torch only).

Both halves run in different venvs (mjlab and Isaac Lab pin different warp
versions), so this module imports neither framework: it times functions in
place (:class:`Timed`), counts widened ADR parameters, trains one iteration at
a time until ADR first widens a bound (:func:`first_widening`), and steps an
env with a fixed random policy to measure ADR's share of ``env.step``
(:func:`step_share`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import Any

import torch

WARMUP_STEPS = 50
"""Env steps before the timers start (first calls, lazy allocations, kernel loads)."""


class Timed:
    """Adds up the wall time spent in ``owner.name`` (replaced in place), or in what it wraps."""

    def __init__(self, owner: Any = None, name: str = "") -> None:
        self.seconds = 0.0
        self.calls = 0
        if owner is not None:
            setattr(owner, name, self.wrap(getattr(owner, name)))

    def wrap(self, inner: Callable[..., Any]) -> Callable[..., Any]:
        """``inner``, timed into this timer (also usable for more functions than one)."""

        @functools.wraps(inner)  # keeps the signature managers inspect
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += 1

        return timed

    def zero(self) -> None:
        """Forget what was timed so far."""
        self.seconds = 0.0
        self.calls = 0


def widened(engine: Any) -> int:
    """Number of the engine's parameters whose range reaches beyond ``init_range``."""
    outside = (engine.bounds[:, 0] < engine.params.init[:, 0]) | (
        engine.bounds[:, 1] > engine.params.init[:, 1]
    )
    return int(outside.sum())


def ranges(engine: Any) -> dict[str, list[float]]:
    """Per parameter, its range now (rounded)."""
    return {
        name: [round(v, 4) for v in engine.bounds[n].tolist()]
        for n, name in enumerate(engine.param_names)
    }


def first_widening(
    learn_one: Callable[[int], None],
    engine: Any,
    steps_per_iteration: int,
    iterations: int,
    label: str,
) -> dict[str, Any]:
    """Train ``learn_one(it)`` one iteration at a time until ADR widens a bound (or ``iterations``).

    Returns:
        ``first``: iteration, env steps and wall seconds since training started
        when a bound first reached beyond its ``init_range`` (None: not within
        ``iterations``); ``iterations_run``, ``train_seconds``, the number of
        parameters widened and the ranges at the end.
    """
    start = time.perf_counter()
    first: dict[str, float] | None = None
    it = 0
    while it < iterations and first is None:
        learn_one(it)
        it += 1
        if widened(engine):
            first = {
                "iteration": it,
                "env_steps": it * steps_per_iteration,
                "seconds": time.perf_counter() - start,
            }
        if it % 10 == 0:
            print(f"[{label}] iteration {it}: {time.perf_counter() - start:.0f} s", flush=True)
    return {
        "first": first,
        "iterations_cap": iterations,
        "iterations_run": it,
        "steps_per_iteration": steps_per_iteration,
        "train_seconds": time.perf_counter() - start,
        "params_widened": widened(engine),
        "num_params": len(engine.param_names),
        "ranges": ranges(engine),
    }


def random_episode_starts(env: Any) -> None:
    """Spread the envs' episode clocks over an episode (as rsl_rl's first iteration does),
    so that resets come every few steps rather than all at the time-out."""
    high = int(env.max_episode_length)
    env.episode_length_buf[:] = torch.randint(
        0, high, env.episode_length_buf.shape, generator=torch.Generator().manual_seed(0)
    )


def step_share(
    step: Callable[[torch.Tensor], Any],
    action_shape: tuple[int, ...],
    steps: int,
    adr_parts: Mapping[str, Timed],
    other_parts: Mapping[str, Timed],
    resets: Callable[[], int],
) -> dict[str, Any]:
    """ADR's share of ``step`` under a fixed random policy (uniform in [-1, 1], seed 0).

    ``WARMUP_STEPS`` steps first; then every timer is zeroed and ``steps``
    steps are timed. ``adr_parts`` are ADR's own code (their sum is ADR's
    share), ``other_parts`` what ADR's writes or terms cost besides (reported
    apart); ``resets()``, called after each step outside the timing, is the
    number of envs that step reset.

    Returns:
        Seconds per step, the share of every part and of ADR, and the mean
        number of envs reset per step.
    """
    generator = torch.Generator().manual_seed(0)
    for _ in range(WARMUP_STEPS):
        step(torch.rand(action_shape, generator=generator) * 2 - 1)
    for timer in (*adr_parts.values(), *other_parts.values()):
        timer.zero()
    total = 0.0
    reset = 0
    for _ in range(steps):
        actions = torch.rand(action_shape, generator=generator) * 2 - 1
        start = time.perf_counter()
        step(actions)
        total += time.perf_counter() - start
        reset += resets()
    return {
        "envs": action_shape[0],
        "steps": steps,
        "step_ms": 1e3 * total / steps,
        "resets_per_step": reset / steps,
        "adr_share": sum(t.seconds for t in adr_parts.values()) / total,
        "adr_parts": {k: t.seconds / total for k, t in adr_parts.items()},
        "adr_calls": {k: t.calls for k, t in adr_parts.items()},
        "other_parts": {k: t.seconds / total for k, t in other_parts.items()},
    }
