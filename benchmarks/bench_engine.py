"""Cost of one ADR update through ADRCompat (IsaacGymEnvs' adr_update API).

Setting: the 27 DeXtreme parameters (cfg/adr/dextreme.yaml), 2% of envs
finishing per update, env ids as a tensor, 1 torch thread. Two workloads:

* ``moving``: phases of 128 updates alternate between good results (22..28,
  above the high threshold 20) and bad ones (0..3, below the low threshold 5),
  so bounds really expand and contract; the table prints how many bounds
  moved per update while it was timed (it must not be 0).
* ``flat``: results drawn from 0..30 every update (mean 15, between the
  thresholds): queues fill and slide, bounds rarely move.

For each it prints microseconds per update and host syncs per update for each
input-check mode (and, with ``--compile``, the inductor-compiled update), beside a
loop baseline with the reference's per-parameter structure
(``loop_baseline.py``) timed in the same run on the same workload, and the
ratio (the baseline given the ids as IsaacGymEnvs passes them, a Python
list, and as a tensor). Then the cost versus the number of parameters (8, 27,
64) on the moving workload. Absolute times drift 2-4x on shared machines: compare the
ratios of one run.

Usage: python benchmarks/bench_engine.py [--quick] [--envs N ...] [--compile]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import Any

import torch

from adr_domain.host_syncs import count_host_syncs
from adr_isaac.compat import ADRCompat
from bench_common import dextreme_cfg, median_us
from loop_baseline import LoopADR

PHASE = 128
"""Updates per good or bad phase of the moving workload."""
BATCHES = 64


class Workload:
    """Finishing env ids and objectives of one benchmark workload.

    Args:
        name: ``moving`` or ``flat``.
        num_envs: number of envs; 2% finish per update.
    """

    def __init__(self, name: str, num_envs: int) -> None:
        gen = torch.Generator().manual_seed(0)
        finishing = max(1, num_envs // 50)
        self.name = name
        self.num_envs = num_envs
        self.batches = [torch.randperm(num_envs, generator=gen)[:finishing] for _ in range(BATCHES)]
        if name == "moving":
            good = torch.randint(22, 29, (num_envs,), generator=gen).float()
            bad = torch.randint(0, 4, (num_envs,), generator=gen).float()
            self.objectives = [good, bad]
        elif name == "flat":
            self.objectives = [torch.randint(0, 31, (num_envs,), generator=gen).float()]
        else:
            raise ValueError(f"unknown workload {name!r}")

    def ids(self, i: int) -> torch.Tensor:
        """Finishing env ids of update ``i``."""
        return self.batches[i % BATCHES]

    def objective(self, i: int) -> torch.Tensor:
        """Objective of update ``i`` (the phase's, for ``moving``)."""
        return self.objectives[(i // PHASE) % len(self.objectives)]


def synthetic_cfg(num_params: int, **overrides: Any) -> dict[str, Any]:
    """``num_params`` parameters, half tensor-sampled, half with a range_path;
    queues of 16, so that bounds move with 64 parameters too."""
    cfg = dextreme_cfg(adr_queue_threshold_length=16, **overrides)
    params = {}
    for i in range(num_params):
        spec: dict[str, Any] = {"init_range": [0.9, 1.1], "limits": [0.0, 5.0], "delta": 0.01}
        if i % 2:
            spec["range_path"] = f"actor_params.a{i}.range"
        params[f"p{i}"] = spec
    cfg["params"] = params
    return cfg


def time_engine(
    cfg: dict[str, Any], work: Workload, iters: int, repeats: int, compile_update: bool = False
) -> tuple[float, float, float]:
    """Median microseconds per update, host syncs per update, bounds moved per update."""
    adr = ADRCompat(cfg, work.num_envs, seed=0, compile_update=compile_update)
    step = [0]
    moved: list[torch.Tensor] = []

    def update(_: int) -> None:
        i = step[0]
        step[0] += 1
        moved.append(adr.adr_update(work.ids(i), work.objective(i)).moved)

    update(0)  # assign every env, like the first reset
    for _ in range(2 * PHASE):  # warm up: queues fill, bounds start to move
        update(0)
    moved.clear()
    us = median_us(update, iters, repeats)
    num_moved = float(torch.stack(moved).sum()) / len(moved)
    adr.engine.check()
    if compile_update:  # torch.compile refuses to run under the counting dispatch mode
        return us, math.nan, num_moved
    with count_host_syncs() as syncs:
        for _ in range(10):
            update(0)
    return us, syncs.total / 10, num_moved


def time_baseline(
    cfg: dict[str, Any], work: Workload, iters: int, repeats: int, *, as_list: bool
) -> float:
    """Median microseconds per update of the reference-structured loop baseline,
    given the finished env ids as a tensor, or (``as_list``) as the Python list
    IsaacGymEnvs' ``apply_randomizations`` passes to ``adr_update``."""
    adr = LoopADR(cfg, work.num_envs)
    step = [0]

    def update(_: int) -> None:
        i = step[0]
        step[0] += 1
        ids = work.ids(i)
        adr.update(ids.tolist() if as_list else ids, work.objective(i))

    for _ in range(2 * PHASE):
        update(0)
    return median_us(update, iters, repeats)


def modes(with_compile: bool) -> list[tuple[str, dict[str, Any], bool]]:
    """(label, config overrides, compiled) of each timed engine mode."""
    table: list[tuple[str, dict[str, Any], bool]] = [
        ("deferred", {}, False),
        ("eager", {"input_checks": "eager"}, False),
        ("off", {"input_checks": "off"}, False),
    ]
    if with_compile:
        table.append(("compiled", {}, True))
    return table


def print_table(
    envs: list[int], iters: int, repeats: int, with_compile: bool, out: Callable[[str], None]
) -> None:
    """The engine-versus-baseline table for both workloads."""
    out(
        f"{'workload':>8} {'envs':>7} {'mode':>9} {'us/update':>10} {'syncs':>6} "
        f"{'moved/update':>13} {'base(list)':>11} {'x':>6} {'base(tensor)':>13} {'x':>6}"
    )
    for name in ("moving", "flat"):
        for num_envs in envs:
            work = Workload(name, num_envs)
            base_iters = max(20, iters // 10)
            listed = time_baseline(dextreme_cfg(), work, base_iters, 3, as_list=True)
            tensor = time_baseline(dextreme_cfg(), work, base_iters, 3, as_list=False)
            for label, overrides, compiled in modes(with_compile):
                us, syncs, moved = time_engine(
                    dextreme_cfg(**overrides), work, iters, repeats, compiled
                )
                out(
                    f"{name:>8} {num_envs:>7} {label:>9} {us:>10.1f} {syncs:>6.1f} "
                    f"{moved:>13.2f} {listed:>11.1f} {listed / us:>5.1f}x "
                    f"{tensor:>13.1f} {tensor / us:>5.1f}x"
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    parser.add_argument("--envs", type=int, nargs="+", default=[1024, 16384, 65536])
    parser.add_argument(
        "--compile", action="store_true", help="also time the inductor-compiled update"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    iters, repeats = (128, 3) if args.quick else (256, 5)

    print("adr_update through ADRCompat, 27 DeXtreme parameters, 2% of envs finishing")
    print_table(args.envs, iters, repeats, args.compile, print)
    print(
        "(baseline: the reference's per-parameter loop, boolean masks and .cpu() copies, "
        "timed in this run on the same workload; list: the ids as IsaacGymEnvs' "
        "apply_randomizations passes them, a Python list; tensor: a LongTensor)"
    )

    print("\ncost versus number of parameters (16384 envs, moving workload, default checks)")
    costs = {}
    work = Workload("moving", 16384)
    for num_params in (8, 27, 64):
        costs[num_params], _, moved = time_engine(synthetic_cfg(num_params), work, iters, repeats)
        print(f"{num_params:>4} parameters: {costs[num_params]:8.1f} us/update, {moved:.2f} moved")
    print(f"64 vs 8 parameters: {costs[64] / costs[8]:.2f}x (target: within 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
