"""One rank of a real gloo run of the ADR engine (started by test_distributed_gloo.py).

Usage: python distributed_worker.py OUT_DIR UPDATES [DIE_AT_UPDATE]
Environment: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (as torchrun sets them).
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

import torch

from adr_domain import ADREngine
from adr_infra.distributed import (
    ExchangeError,
    TorchDistributedExchange,
    agreed_seed,
    exit_without_teardown,
    join_process_group,
)
from builders import small_cfg

N = 12


def scenario(step: int, world_size: int) -> tuple[list[int], list[int], list[int], list[float]]:
    """The same forced workers, finished envs and objectives for every process."""
    rng = random.Random(step)
    total = world_size * N
    types = [rng.choice([0, 1, 1]) for _ in range(total)]
    modes = [rng.randrange(8) for _ in range(total)]
    done = sorted(rng.sample(range(total), rng.randrange(total + 1)))
    objective = [float(rng.randrange(0, 31)) for _ in range(total)]
    return types, modes, done, objective


def main() -> int:
    out, updates = Path(sys.argv[1]), int(sys.argv[2])
    die_at = int(sys.argv[3]) if len(sys.argv) > 3 else -1
    member = join_process_group("cpu", timeout_s=60)
    rank, world_size = member.rank, member.world_size
    exchange = TorchDistributedExchange()
    seed = agreed_seed(100 + rank, exchange, member.device)
    engine = ADREngine(small_cfg(adr_queue_threshold_length=3), N, exchange=exchange)
    lo, hi = rank * N, (rank + 1) * N
    history = []
    try:
        for step in range(updates):
            if step == die_at and rank == 1:
                os._exit(3)  # a crash: no goodbye to the peers
            types, modes, done, objective = scenario(step, world_size)
            engine.worker_types.copy_(torch.tensor(types[lo:hi]))
            engine.adr_modes.copy_(torch.tensor(modes[lo:hi]))
            mine = torch.tensor([d - lo for d in done if lo <= d < hi], dtype=torch.long)
            engine.update(mine, torch.tensor(objective[lo:hi]))
            history.append(engine.bounds.clone())
    except ExchangeError as exc:
        (out / f"error{rank}.txt").write_text(f"{time.time()}\n{exc}")
        exit_without_teardown(4)  # the broken gloo group would abort a normal exit
    saved = {"history": history, "state": engine.state_dict(), "seed": seed}
    torch.save(saved, out / f"rank{rank}.pt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
