"""Cost of sharing ADR boundary results across ranks (torch.distributed, gloo on CPU).

Two processes each run the 27 DeXtreme parameters over 16384 envs, 2% of them
finishing per update. Each process times, in the same run: updates of an
engine with the exchange, updates of an identical engine without it, and the
bare collective alone. The exchange's share of a distributed update is
(with - without) / with.

Usage: python benchmarks/bench_exchange.py [--envs 16384] [--updates 300]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from bench_common import dextreme_cfg, median_us


def _worker(rank: int, world: int, port: int, envs: int, updates: int, out: Any) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    from adr_domain import ADREngine
    from adr_infra.distributed import TorchDistributedExchange

    exchange = TorchDistributedExchange()
    shared = ADREngine(dextreme_cfg(validate_inputs=False), envs, seed=0, exchange=exchange)
    local = ADREngine(dextreme_cfg(validate_inputs=False), envs, seed=0)
    gen = torch.Generator().manual_seed(rank)
    batches = [torch.randperm(envs, generator=gen)[: envs // 50] for _ in range(64)]
    objective = torch.randint(0, 31, (envs,), generator=gen).float()
    for engine in (shared, local):
        engine.update(torch.arange(envs), objective)
        for i in range(20):
            engine.update(batches[i % 64], objective)
    payload = torch.zeros(2, envs)

    def timed(step: Callable[[int], object]) -> float:
        return median_us(step, updates, repeats=5, before=dist.barrier)  # ranks in lockstep

    with_us = timed(lambda i: shared.update(batches[i % 64], objective))
    without_us = timed(lambda i: local.update(batches[i % 64], objective))
    gather_us = timed(lambda i: exchange.all_gather(payload))
    if rank == 0:
        out.put((with_us, without_us, gather_us))
    dist.barrier()
    dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=16384, help="envs per rank")
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--ranks", type=int, default=2)
    args = parser.parse_args(argv)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(r, args.ranks, port, args.envs, args.updates, out))
        for r in range(args.ranks)
    ]
    for proc in procs:
        proc.start()
    with_us, without_us, gather_us = out.get(timeout=600)
    for proc in procs:
        proc.join()
    exchange_us = with_us - without_us
    print(f"ADR exchange, {args.ranks} ranks x {args.envs} envs, gloo, 2% finishing per update")
    print(f"  update with exchange:    {with_us:8.1f} us")
    print(f"  update without exchange: {without_us:8.1f} us")
    print(f"  bare all_gather (2 x {args.envs} float32 per rank): {gather_us:8.1f} us")
    print(f"  exchange cost: {exchange_us:.1f} us = {exchange_us / with_us:.0%} of the update")
    return 0


if __name__ == "__main__":
    sys.exit(main())
