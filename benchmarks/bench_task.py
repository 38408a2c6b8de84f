"""Throughput of the embedded Reorient task, and ADR's share of its step time.

Measures, on one CPU thread (as training runs here):

* env-steps per second of the task alone (random actions) at each ``--envs``;
* the time spent in ``ADREngine.update`` per step, and its share of the step;
* with ``--train-epochs N``: rl_games PPO training frames per second (rollout
  plus update) at ``--train-envs`` envs, and ADR's share of the training time.

Usage::

    python benchmarks/bench_task.py                 # 1024 and 16384 envs
    python benchmarks/bench_task.py --quick         # fewer steps
    python benchmarks/bench_task.py --train-epochs 30
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from adr_app.tasks import ReorientTask
from adr_app.tasks.vecenv import ReorientVecEnv, register_reorient
from bench_common import CFG, load_yaml

TASK_YAML = CFG / "task" / "Reorient.yaml"
TRAIN_YAML = CFG / "train" / "ReorientPPO.yaml"


class UpdateTimer:
    """Wraps an engine's ``update`` and adds up the wall time spent in it."""

    def __init__(self, task: ReorientTask) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._update: Callable[..., Any] = task.adr.update
        task.adr.update = self  # type: ignore[method-assign]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self._update(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1


def bench_task(num_envs: int, steps: int, warmup: int) -> dict[str, float]:
    """Steps the task with random actions; returns throughput and ADR timing."""
    task = ReorientTask(load_yaml(TASK_YAML), num_envs=num_envs, seed=0)
    gen = torch.Generator().manual_seed(0)
    actions = [torch.rand(num_envs, 3, generator=gen) * 2 - 1 for _ in range(16)]
    for i in range(warmup):
        task.step(actions[i % 16])
    timer = UpdateTimer(task)
    finished = 0
    start = time.perf_counter()
    for i in range(steps):
        finished += task.step(actions[i % 16]).num_finished
    elapsed = time.perf_counter() - start
    return {
        "num_envs": num_envs,
        "env_steps_per_s": num_envs * steps / elapsed,
        "ms_per_step": 1e3 * elapsed / steps,
        "adr_ms_per_step": 1e3 * timer.seconds / steps,
        "adr_share": timer.seconds / elapsed,
        "adr_updates_per_step": timer.calls / steps,
        "finished_per_step": finished / steps,
    }


def bench_training(num_envs: int, epochs: int) -> dict[str, float]:
    """Trains with rl_games PPO in-process; returns frames/s and ADR's share."""
    from rl_games.torch_runner import Runner

    envs: list[ReorientVecEnv] = []
    timers: list[UpdateTimer] = []

    def on_create(env: ReorientVecEnv) -> None:
        envs.append(env)
        timers.append(UpdateTimer(env.task))

    register_reorient(
        load_yaml(TASK_YAML), env_name="reorient_bench", vecenv_type="BENCH", on_create=on_create
    )
    params = load_yaml(TRAIN_YAML)["params"]
    if params["config"].get("minibatch_size") is None:  # follows the batch (rl_games' rule)
        params["config"].pop("minibatch_size", None)
    with tempfile.TemporaryDirectory() as tmp:
        params["config"].update(
            env_name="reorient_bench",
            num_actors=num_envs,
            max_epochs=epochs,
            train_dir=tmp,
            print_stats=False,
            save_frequency=0,
            save_best_after=10**9,
        )
        runner = Runner()
        runner.load({"params": params})
        runner.reset()
        start = time.perf_counter()
        runner.run({"train": True, "play": False, "checkpoint": None, "sigma": None})
        elapsed = time.perf_counter() - start
    frames = epochs * num_envs * int(params["config"]["horizon_length"])
    return {
        "num_envs": num_envs,
        "epochs": epochs,
        "frames_per_s": frames / elapsed,
        "adr_share": timers[0].seconds / elapsed,
        "consecutive_successes": envs[0].task.consecutive_successes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, nargs="+", default=[1024, 16384])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="60 steps per size")
    parser.add_argument("--train-epochs", type=int, default=0)
    parser.add_argument("--train-envs", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    steps = 60 if args.quick else args.steps

    results: dict[str, Any] = {"threads": args.threads, "task": []}
    print(f"Reorient task alone, {args.threads} thread(s), random actions, {steps} steps")
    print(f"{'envs':>7} {'env-steps/s':>12} {'ms/step':>8} {'ADR ms/step':>12} {'ADR share':>10}")
    for n in args.envs:
        r = bench_task(n, steps, warmup=max(10, steps // 10))
        results["task"].append(r)
        print(
            f"{n:>7} {r['env_steps_per_s']:>12,.0f} {r['ms_per_step']:>8.2f} "
            f"{r['adr_ms_per_step']:>12.3f} {100 * r['adr_share']:>9.2f}%"
        )
    if args.train_epochs:
        t = bench_training(args.train_envs, args.train_epochs)
        results["training"] = t
        print(
            f"training (rl_games PPO, {t['num_envs']} envs, {t['epochs']} epochs): "
            f"{t['frames_per_s']:,.0f} frames/s, ADR share {100 * t['adr_share']:.3f}%, "
            f"consecutive successes {t['consecutive_successes']:.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
