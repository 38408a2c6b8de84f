"""Cost of one ADR update through ADRCompat (IsaacGymEnvs' adr_update API).

Setting: the 27 DeXtreme parameters (cfg/adr/dextreme.yaml), 2% of envs
finishing per update, env ids as a tensor, objectives drawn from 0..30 so that
bounds really move, 1 torch thread. Prints microseconds per update for 1024,
16384 and 65536 envs, host syncs per update, and how the cost scales with the
number of parameters (8 vs 64). Figures are compared as ratios within one run:
the machine is shared and absolute times drift.

Usage: python benchmarks/bench_engine.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import torch

from adr_app.profiling import count_host_syncs
from adr_isaac.compat import ADRCompat
from bench_common import dextreme_cfg, median_us
from loop_baseline import LoopADR

REFERENCE_MS_16384 = 7.6  # IsaacGymEnvs ADRVecTask.adr_update on this machine (issue #2)


def synthetic_cfg(num_params: int, validate: bool) -> dict[str, Any]:
    """``num_params`` parameters, half tensor-sampled, half with a range_path."""
    cfg = dextreme_cfg(validate_inputs=validate)
    params = {}
    for i in range(num_params):
        spec: dict[str, Any] = {"init_range": [0.9, 1.1], "limits": [0.0, 5.0], "delta": 0.01}
        if i % 2:
            spec["range_path"] = f"actor_params.a{i}.range"
        params[f"p{i}"] = spec
    cfg["params"] = params
    return cfg


def workload(num_envs: int) -> tuple[list[torch.Tensor], torch.Tensor]:
    """64 batches of 2% finishing env ids, and objectives drawn from 0..30."""
    gen = torch.Generator().manual_seed(0)
    finishing = max(1, num_envs // 50)
    batches = [torch.randperm(num_envs, generator=gen)[:finishing] for _ in range(64)]
    return batches, torch.randint(0, 31, (num_envs,), generator=gen).float()


def time_updates(
    cfg: dict[str, Any], num_envs: int, iters: int, repeats: int
) -> tuple[float, float]:
    """Median microseconds per update, and host syncs per update."""
    adr = ADRCompat(cfg, num_envs, seed=0)
    batches, objective = workload(num_envs)
    adr.adr_update(torch.arange(num_envs), objective)  # assign every env, like the first reset
    for i in range(50):  # warm up
        adr.adr_update(batches[i % 64], objective)
    us = median_us(lambda i: adr.adr_update(batches[i % 64], objective), iters, repeats)
    with count_host_syncs() as syncs:
        for i in range(10):
            adr.adr_update(batches[i % 64], objective)
    return us, syncs.total / 10


def time_baseline(cfg: dict[str, Any], num_envs: int, iters: int, repeats: int) -> float:
    """Median microseconds per update of the reference-structured loop baseline."""
    adr = LoopADR(cfg, num_envs)
    batches, objective = workload(num_envs)
    adr.update(torch.arange(num_envs), objective)
    for i in range(10):
        adr.update(batches[i % 64], objective)
    return median_us(lambda i: adr.update(batches[i % 64], objective), iters, repeats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    iters, repeats = (100, 3) if args.quick else (400, 7)

    print("adr_update through ADRCompat, 27 DeXtreme parameters, 2% of envs finishing")
    print(
        f"{'envs':>7} {'inputs':>10} {'us/update':>10} {'syncs/update':>13} "
        f"{'loop baseline us':>17} {'speed-up':>9}"
    )
    for num_envs in (1024, 16384, 65536):
        checked = dextreme_cfg(validate_inputs=True)
        baseline = time_baseline(checked, num_envs, max(10, iters // 20), 3)
        for validate in (True, False):
            cfg = dextreme_cfg(validate_inputs=validate)
            us, syncs = time_updates(cfg, num_envs, iters, repeats)
            mode = "checked" if validate else "unchecked"
            print(
                f"{num_envs:>7} {mode:>10} {us:>10.1f} {syncs:>13.1f} "
                f"{baseline:>17.1f} {baseline / us:>8.1f}x"
            )
    print(
        "(loop baseline: the reference's per-parameter structure, timed in this run; "
        f"the reference itself measured {REFERENCE_MS_16384} ms at 16384 envs in issue #2)"
    )

    print("\ncost versus number of parameters (16384 envs, unchecked inputs)")
    costs = {}
    for num_params in (8, 27, 64):
        cfg = synthetic_cfg(num_params, validate=False)
        costs[num_params], _ = time_updates(cfg, 16384, iters, repeats)
        print(f"{num_params:>4} parameters: {costs[num_params]:8.1f} us/update")
    print(f"64 vs 8 parameters: {costs[64] / costs[8]:.2f}x (target: within 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
