"""A baseline with the structure of IsaacGymEnvs' ADR update, for same-run ratios.

Written for this benchmark (not the reference's code): one Python iteration per
parameter, boolean masks over all envs for each bound, results copied to the
host into ``deque`` queues, bounds moved on Python floats, then recycling and
per-parameter resampling with masks, as the reference's ``adr_update``,
``recycle_envs`` and ``sample_adr_tensor`` do. Only timing uses it.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import torch

BOUNDARY, ROLLOUT = 1, 0


class LoopADR:
    def __init__(self, cfg: dict[str, Any], num_envs: int) -> None:
        self.num_envs = num_envs
        self.names = list(cfg["params"])
        self.specs = {n: dict(cfg["params"][n]) for n in self.names}
        for spec in self.specs.values():
            spec["range"] = list(spec["init_range"])
            spec.setdefault("limits", [None, None])
        self.length = cfg["adr_queue_threshold_length"]
        self.low = cfg["adr_objective_threshold_low"]
        self.high = cfg["adr_objective_threshold_high"]
        self.fraction = cfg["worker_adr_boundary_fraction"]
        self.queues = [deque(maxlen=self.length) for _ in range(2 * len(self.names))]
        self.worker_types = torch.zeros(num_envs, dtype=torch.long)
        self.modes = torch.zeros(num_envs, dtype=torch.long)
        self.values = {
            n: torch.zeros(num_envs) for n in self.names if "range_path" not in self.specs[n]
        }

    @staticmethod
    def _step(value: float, up: bool, spec: dict[str, Any], limit: float | None) -> float:
        new = value + spec["delta"] if up else value - spec["delta"]
        if limit is not None:
            new = min(new, limit) if up else max(new, limit)
        return new

    def update(self, rand_envs: torch.Tensor, objective: torch.Tensor) -> None:
        done = torch.zeros(self.num_envs, dtype=torch.bool)
        done[rand_envs] = True
        for n, name in enumerate(self.names):
            spec = self.specs[name]
            lo, hi = spec["range"]
            for b, q in enumerate((2 * n, 2 * n + 1)):
                workers = (self.worker_types == BOUNDARY) & (self.modes == q)
                self.queues[q].extend(objective[done & workers].cpu().numpy().tolist())
                queue = self.queues[q]
                if len(queue) < self.length:
                    continue
                mean = sum(queue) / len(queue)
                if mean < self.low:
                    limit = spec["init_range"][b]
                    new = self._step(lo if b == 0 else hi, b == 0, spec, limit)
                elif mean > self.high:
                    limit = spec["limits"][b]
                    new = self._step(lo if b == 0 else hi, b == 1, spec, limit)
                else:
                    continue
                if abs(new - (lo if b == 0 else hi)) > 1e-9:
                    queue.clear()
                    self.worker_types[workers] = ROLLOUT
                    lo, hi = (new, hi) if b == 0 else (lo, new)
            spec["range"] = [lo, hi]
        ids = rand_envs
        u = torch.rand(len(ids))
        self.worker_types[ids] = (u < self.fraction).long()
        self.modes[ids] = torch.randint(0, 2 * len(self.names), (len(ids),))
        for name, values in self.values.items():
            n = self.names.index(name)
            lo, hi = self.specs[name]["range"]
            pick = torch.zeros(self.num_envs, dtype=torch.bool)
            pick[ids] = True
            low = (self.worker_types == BOUNDARY) & (self.modes == 2 * n) & pick
            high = (self.worker_types == BOUNDARY) & (self.modes == 2 * n + 1) & pick
            rollout = pick & ~low & ~high
            values[rollout] = torch.rand(int(rollout.sum())) * (hi - lo) + lo
            values[low] = lo
            values[high] = hi
