"""A deliberately naive, loop-based model of IsaacGymEnvs' ADR update.

Written from the reference's documented behaviour (``ADRVecTask.adr_update``
with ``clear_other_queues: false``): Python floats, ``collections.deque``
queues, one parameter at a time. The engine must agree with it exactly.
Worker reassignment is left to the caller, which forces the same types and
modes on both implementations.
"""

from __future__ import annotations

from collections import deque
from typing import Any

ROLLOUT, BOUNDARY = 0, 1


def modify(value: float, up: bool, spec: dict[str, Any], limit: float | None) -> tuple[float, bool]:
    delta = spec["delta"]
    multiplicative = spec.get("delta_style", "additive") == "multiplicative"
    if up:
        new = value * delta if multiplicative else value + delta
        if limit is not None:
            new = min(new, limit)
    else:
        new = value / delta if multiplicative else value - delta
        if limit is not None:
            new = max(new, limit)
    return new, abs(new - value) > 1e-9


class ReferenceADR:
    def __init__(self, adr_cfg: dict[str, Any], num_envs: int) -> None:
        self.cfg = adr_cfg
        self.num_envs = num_envs
        self.names = list(adr_cfg["params"])
        self.specs = {n: dict(adr_cfg["params"][n]) for n in self.names}
        for spec in self.specs.values():
            limits = list(spec.get("limits", [None, None]))
            spec["limits"] = limits
            spec["range"] = list(spec["init_range"])
            spec["next_limits"] = [None, None]
        self.length = adr_cfg["adr_queue_threshold_length"]
        self.queues: list[deque[float]] = [
            deque(maxlen=self.length) for _ in range(2 * len(self.names))
        ]
        self.worker_types = [ROLLOUT] * num_envs
        self.modes = [0] * num_envs
        self.low = adr_cfg["adr_objective_threshold_low"]
        self.high = adr_cfg["adr_objective_threshold_high"]

    def update(self, rand_envs: list[int], objective: list[float]) -> None:
        done = set(rand_envs)
        for n, name in enumerate(self.names):
            spec = self.specs[name]
            low_idx, high_idx = 2 * n, 2 * n + 1
            workers_low = [
                i
                for i in range(self.num_envs)
                if self.worker_types[i] == BOUNDARY and self.modes[i] == low_idx
            ]
            workers_high = [
                i
                for i in range(self.num_envs)
                if self.worker_types[i] == BOUNDARY and self.modes[i] == high_idx
            ]
            self.queues[low_idx].extend(objective[i] for i in workers_low if i in done)
            self.queues[high_idx].extend(objective[i] for i in workers_high if i in done)
            low_q, high_q = self.queues[low_idx], self.queues[high_idx]
            lo, hi = spec["range"]
            lim_lo, lim_hi = spec["limits"]
            init_lo, init_hi = spec["init_range"]
            next_lo, next_hi = spec["next_limits"]
            changed_low = changed_high = False
            if len(low_q) >= self.length:
                mean = sum(low_q) / len(low_q)
                if mean < self.low:
                    lo, changed_low = modify(lo, True, spec, init_lo)
                elif mean > self.high:
                    lo, changed_low = modify(lo, False, spec, lim_lo)
                if changed_low:
                    low_q.clear()
                    for i in workers_low:
                        self.worker_types[i] = ROLLOUT
            if len(high_q) >= self.length:
                mean = sum(high_q) / len(high_q)
                if mean < self.low:
                    hi, changed_high = modify(hi, False, spec, init_hi)
                elif mean > self.high:
                    hi, changed_high = modify(hi, True, spec, lim_hi)
                if changed_high:
                    high_q.clear()
                    for i in workers_high:
                        self.worker_types[i] = ROLLOUT
            if changed_low or next_lo is None:
                next_lo, _ = modify(lo, False, spec, lim_lo)
            if changed_high or next_hi is None:
                next_hi, _ = modify(hi, True, spec, lim_hi)
            spec["range"] = [lo, hi]
            spec["next_limits"] = [next_lo, next_hi]
