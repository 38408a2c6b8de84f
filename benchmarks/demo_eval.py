"""Demo: what ADR bought. Train an ADR run and a fixed-range run of the embedded
Reorient task with the same seed, then evaluate both side by side with adr-eval.

    python benchmarks/demo_eval.py [--epochs 200] [--num-envs 1024] [--workdir demo_runs]

The ADR run keeps the task's thresholds (widen a bound when its boundary
episodes average 10 consecutive successes, narrow it below 4) with shorter
queues (64 results) so that ranges move within minutes on a CPU; the fixed
run has ``use_adr: false`` (init ranges throughout). Prints each step's wall
time and the evaluation table; results and plots land in ``<workdir>/eval``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

COMMON = [
    "seed=7",
    "train.params.config.save_frequency=10",
    "train.params.config.save_best_after=10",
    "task.task.adr.adr_queue_threshold_length=64",
]


def run(command: list[str], cwd: Path) -> float:
    """Run a command (inheriting the terminal); its wall time in seconds."""
    print("$", " ".join(command), flush=True)
    start = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(command, cwd=cwd, env=env, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--num-envs", type=int, default=1024)
    parser.add_argument("--episodes", type=int, default=64, help="adr-eval episodes per cell")
    parser.add_argument("--workdir", type=Path, default=Path("demo_runs"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    sizes = [f"num_envs={args.num_envs}", f"max_iterations={args.epochs}", *COMMON]
    times = {}
    for name, extra in (("adr", []), ("fixed", ["task.task.adr.use_adr=False"])):
        train = [py, "-m", "adr_app.cli.train", f"experiment={name}", "start_over=True"]
        times[name] = run([*train, *sizes, *extra], args.workdir)
    evaluation = [
        py, "-m", "adr_app.cli.eval", "adr=adr:latest", "fixed=fixed:latest",
        "--set", "init", "--set", "checkpoint", "--set", "scaled:3",
        "--sweep", "object_mass=0.2:5:9", "--sweep", "actuator_effort=0.3:3:9",
        "--episodes", str(args.episodes), "--out", "eval",
    ]  # fmt: skip
    times["eval"] = run(evaluation, args.workdir)
    for name, seconds in times.items():
        print(f"{name}: {seconds:.0f} s")


if __name__ == "__main__":
    main()
