"""One ADR update captured in a CUDA graph, against the eager update (GPU only).

Setting: the 27 DeXtreme parameters, 2% of envs finishing per update (a fixed
count, so the graph's shapes are static), the benchmark's moving workload
(phases of 128 updates of good and of bad results), deferred input checks.
The graph holds the update's tensor work (``update.screen_and_sort`` and
``update.apply_rules``); each replay is preceded by copying the inputs into
the graph's static tensors and by the update's random draws, made eagerly
from the engine's own generators exactly as ``ADREngine.update`` makes them.
Prints microseconds per update at 16384 and 65536 envs with and without the
graph, and whether the graphed engine's state equals the eager engine's after
the same updates.

Usage: python benchmarks/bench_cuda_graph.py [--updates N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import torch

from adr_domain import ADREngine, update
from bench_common import dextreme_cfg

PHASE = 128


def workload(num_envs: int, device: torch.device) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """64 batches of 2% finishing env ids, and the good and bad objectives."""
    gen = torch.Generator().manual_seed(0)
    finishing = num_envs // 50
    batches = [torch.randperm(num_envs, generator=gen)[:finishing].to(device) for _ in range(64)]
    good = torch.randint(22, 29, (num_envs,), generator=gen).float().to(device)
    bad = torch.randint(0, 4, (num_envs,), generator=gen).float().to(device)
    return batches, [good, bad]


def us_per_update(step: Callable[[int], object], updates: int) -> float:
    """Wall-clock microseconds per call, the device synchronized at both ends."""
    torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(updates):
        step(i)
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / updates * 1e6


class GraphedUpdate:
    """An engine whose update's tensor work replays a captured CUDA graph."""

    def __init__(self, engine: ADREngine, ids: torch.Tensor, objective: torch.Tensor) -> None:
        self.engine = engine
        self.ids = ids.clone()
        self.objective = objective.clone()
        self.draws = update.draw(
            engine.streams, engine.tables, engine.options, engine.num_envs, ids.numel()
        )
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm up outside the capture, as CUDA graphs need
            self._body()  # a real update: the engine's first
        torch.cuda.current_stream().wait_stream(side)
        engine.step += 1
        engine.generation += 1
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self._body()

    def _body(self) -> None:
        e = self.engine
        results, codes, _ = update.screen_and_sort(
            e.buffers, e.tables, e.options, self.ids, self.objective
        )
        update.apply_rules(e.buffers, e.tables, e.options, results, codes, self.draws)

    def __call__(self, ids: torch.Tensor, objective: torch.Tensor) -> None:
        e = self.engine
        self.ids.copy_(ids)
        self.objective.copy_(objective)
        draws = update.draw(e.streams, e.tables, e.options, e.num_envs, ids.numel())
        self.draws.assignment.u.copy_(draws.assignment.u)
        self.draws.assignment.modes.copy_(draws.assignment.modes)
        if draws.uniforms is not None and self.draws.uniforms is not None:
            self.draws.uniforms.copy_(draws.uniforms)
        self.graph.replay()
        e.step += 1
        e.generation += 1


def measure(
    cfg: dict[str, object], num_envs: int, updates: int, device: torch.device
) -> tuple[float, float, bool]:
    """Microseconds per eager and per graphed update, and whether the two engines
    end in the same state."""
    batches, objectives = workload(num_envs, device)
    eager = ADREngine(cfg, num_envs, device=device, seed=0)
    graphed_engine = ADREngine(cfg, num_envs, device=device, seed=0)
    graphed = GraphedUpdate(graphed_engine, batches[0], objectives[0])
    # The warm-up before the capture was one real update (capturing runs
    # nothing): bring the eager engine to the same point.
    eager.update(batches[0], objectives[0])
    eager_us = us_per_update(
        lambda i: eager.update(batches[i % 64], objectives[(i // PHASE) % 2]), updates
    )
    graph_us = us_per_update(
        lambda i: graphed(batches[i % 64], objectives[(i // PHASE) % 2]), updates
    )
    a, b = eager.state_dict(), graphed_engine.state_dict()
    same = all(
        torch.equal(a[k], b[k]) if isinstance(a[k], torch.Tensor) else a[k] == b[k]
        for k in a
        if not isinstance(a[k], dict)
    )
    return eager_us, graph_us, same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=512)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("bench_cuda_graph: no CUDA device; nothing measured")
        return 0
    device = torch.device("cuda")
    cfg = dextreme_cfg(input_checks="deferred")
    print(f"{'envs':>7} {'eager us':>9} {'graph us':>9} {'speed-up':>9} {'same state':>11}")
    for num_envs in (16384, 65536):
        eager_us, graph_us, same = measure(cfg, num_envs, args.updates, device)
        print(
            f"{num_envs:>7} {eager_us:>9.1f} {graph_us:>9.1f} {eager_us / graph_us:>8.1f}x "
            f"{same!s:>11}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
