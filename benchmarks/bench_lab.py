"""Training the ADR Cartpole (mjlab, MuJoCo Warp on the CPU): when ADR first widens, and its cost.

Trains ``Mjlab-Cartpole-Balance-Adr`` with mjlab's PPO settings through
sim2real-adr's rsl_rl runner, on the CPU with one torch thread, and reports:

* when ADR first widens a bound beyond its ``init_range`` (iteration, env
  steps, wall seconds since training started), and how many parameters are
  widened at the end;
* ADR's share of the env step time: the curriculum term (objective and engine
  update), the reset event writing the model fields, and the derived-constant
  recompute those writes need; separately the ADR noise terms (action and
  observation noise), which any noise randomization would cost too.

Usage::

    python benchmarks/bench_lab.py                       # 256 envs, up to 150 iterations
    python benchmarks/bench_lab.py --envs 64 --iterations 20
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

os.environ.setdefault("MJLAB_WARP_QUIET", "1")

import torch
from mjlab.envs import ManagerBasedRlEnv
from mjlab.rl import RslRlVecEnvWrapper
from mjlab.sim.sim import Simulation
from mjlab.tasks.registry import load_env_cfg, load_rl_cfg

from adr_lab.mjlab import terms
from adr_lab.mjlab.consumers import AdrNoisyEffortAction
from adr_lab.mjlab.runner import AdrOnPolicyRunner
from adr_lab.tasks import cartpole


class Timed:
    """Adds up the wall time spent in one function (replaced in place)."""

    def __init__(self, owner: Any, name: str) -> None:
        self.seconds = 0.0
        setattr(owner, name, self.wrap(getattr(owner, name)))

    def wrap(self, inner: Callable[..., Any]) -> Callable[..., Any]:
        """``inner``, timed into this timer."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return timed


def _widened(runner: AdrOnPolicyRunner) -> int:
    """Number of parameters whose range reaches beyond ``init_range``."""
    term = runner._adr_term()
    assert term is not None
    engine = term.engine
    outside = (engine.bounds[:, 0] < engine.params.init[:, 0]) | (
        engine.bounds[:, 1] > engine.params.init[:, 1]
    )
    return int(outside.sum())


def _ranges(runner: AdrOnPolicyRunner) -> dict[str, tuple[list[float], list[float]]]:
    """Per parameter, its ``init_range`` and its range now (rounded)."""
    term = runner._adr_term()
    assert term is not None
    engine = term.engine
    return {
        name: (
            [round(v, 4) for v in engine.params.init[n].tolist()],
            [round(v, 4) for v in engine.bounds[n].tolist()],
        )
        for n, name in enumerate(engine.param_names)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", UserWarning)

    cfg = load_env_cfg(cartpole.TASK_ID)
    cfg.scene.num_envs = args.envs
    cfg.seed = 0
    noise = Timed(AdrNoisyEffortAction, "process_actions")
    for term in cfg.observations["actor"].terms.values():
        term.func = noise.wrap(term.func)
    env = RslRlVecEnvWrapper(ManagerBasedRlEnv(cfg, device="cpu"))
    agent = load_rl_cfg(cartpole.TASK_ID)
    agent.seed = 0
    runner = AdrOnPolicyRunner(env, asdict(agent), log_dir=None, device="cpu")

    step = Timed(env, "step")
    adr_parts = {
        "curriculum term (objective + update)": Timed(terms.AdrCurriculum, "__call__"),
        "model-field writes": Timed(terms.AdrModelFields, "__call__"),
        "derived-constant recompute": Timed(Simulation, "recompute_constants"),
    }

    start = time.perf_counter()
    first: dict[str, float] | None = None
    steps_per_iteration = agent.num_steps_per_env * args.envs
    for it in range(args.iterations):
        runner.learn(num_learning_iterations=1, init_at_random_ep_len=(it == 0))
        widened = _widened(runner)
        if first is None and widened:
            first = {
                "iteration": it + 1,
                "env_steps": (it + 1) * steps_per_iteration,
                "seconds": time.perf_counter() - start,
            }
        if (it + 1) % 10 == 0:
            print(
                f"iteration {it + 1}: {widened} parameters widened, "
                f"{time.perf_counter() - start:.0f} s"
            )
    total = time.perf_counter() - start
    adr_seconds = sum(t.seconds for t in adr_parts.values())
    figures = {
        "envs": args.envs,
        "iterations": args.iterations,
        "env_steps": args.iterations * steps_per_iteration,
        "train_seconds": total,
        "env_steps_per_second": args.iterations * steps_per_iteration / step.seconds,
        "first_widening": first,
        "params_widened_at_end": _widened(runner),
        "ranges_at_end": _ranges(runner),
        "adr_share_of_step_time": adr_seconds / step.seconds,
        "adr_share_of_training_time": adr_seconds / total,
        "adr_parts_share_of_step_time": {k: t.seconds / step.seconds for k, t in adr_parts.items()},
        "noise_terms_share_of_step_time": noise.seconds / step.seconds,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(
        f"\n{args.envs} envs, {args.iterations} iterations ({figures['env_steps']:,} env steps) "
        f"in {total:.0f} s, {figures['env_steps_per_second']:.0f} env-steps/s while stepping"
    )
    if first is None:
        print("ADR widened no bound")
    else:
        print(
            f"ADR first widened a bound after iteration {first['iteration']} "
            f"({first['env_steps']:,} env steps, {first['seconds']:.0f} s)"
        )
    print(f"parameters widened at the end: {figures['params_widened_at_end']}/5")
    for name, (init, now) in figures["ranges_at_end"].items():
        print(f"  {name}: init {init} -> {now}")
    print(
        f"ADR share of env step time: {figures['adr_share_of_step_time']:.1%} "
        f"(of training time: {figures['adr_share_of_training_time']:.1%})"
    )
    for name, share in figures["adr_parts_share_of_step_time"].items():
        print(f"  {name}: {share:.1%}")
    print(
        f"ADR noise terms (action + observation): {figures['noise_terms_share_of_step_time']:.1%}"
    )


if __name__ == "__main__":
    main()
