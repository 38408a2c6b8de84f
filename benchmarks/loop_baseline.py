"""A baseline with the structure of IsaacGymEnvs' ``ADRVecTask.adr_update``, for same-run ratios.

Written for this benchmark (not the reference's code), it does the work the
reference does per update, in the reference's shape:

* one Python iteration per parameter, in a shuffled order;
* per bound, boolean masks over all envs (worker type, mode, finished), a
  boolean-mask gather of the objective and a ``.cpu()`` copy of it into a
  ``deque`` queue;
* ``numpy.mean`` of both queues of every parameter, every update;
* bounds and next limits moved on Python floats, NPD summed per parameter,
  the ``adr/...`` entries written into an ``extras`` dict when a bound moved
  or every 100th step;
* the rollout EMA every 100th step, recycling of the finished envs, then one
  ``sample_adr_tensor``-shaped pass per tensor parameter (masks, ``nonzero``,
  masked writes).

Only timing uses it; its decisions follow the same rules as the engine.
"""

from __future__ import annotations

import math
import random
from collections import deque
from typing import Any

import numpy as np
import torch

BOUNDARY, ROLLOUT = 1, 0


class LoopADR:
    """The reference's update structure over ``num_envs`` envs."""

    def __init__(self, cfg: dict[str, Any], num_envs: int) -> None:
        self.num_envs = num_envs
        self.names = list(cfg["params"])
        self.specs = {n: dict(cfg["params"][n]) for n in self.names}
        for spec in self.specs.values():
            spec["range"] = list(spec["init_range"])
            spec.setdefault("limits", [None, None])
            spec.setdefault("delta_style", "additive")
            spec.setdefault("type", "uniform")
            spec["next_limits"] = [None, None]
        self.length = cfg["adr_queue_threshold_length"]
        self.low = cfg["adr_objective_threshold_low"]
        self.high = cfg["adr_objective_threshold_high"]
        self.fraction = cfg["worker_adr_boundary_fraction"]
        self.alpha = cfg.get("adr_rollout_perf_alpha", 0.99)
        self.clear_other = cfg.get("clear_other_queues", False)
        self.queues: list[deque[float]] = [
            deque(maxlen=self.length) for _ in range(2 * len(self.names))
        ]
        self.worker_types = torch.zeros(num_envs, dtype=torch.long)
        self.modes = torch.zeros(num_envs, dtype=torch.long)
        self.values = {
            n: torch.zeros(num_envs) for n in self.names if "range_path" not in self.specs[n]
        }
        self.extras: dict[str, Any] = {}
        self.rollout_perf: torch.Tensor | None = None
        self.last_step = 0
        self.shuffle = random.Random(0)

    @staticmethod
    def _step(value: float, up: bool, spec: dict[str, Any], limit: float | None) -> float:
        delta = spec["delta"]
        if spec["delta_style"] == "multiplicative":
            new = value * delta if up else value / delta
        else:
            new = value + delta if up else value - delta
        if limit is not None:
            new = min(new, limit) if up else max(new, limit)
        return new

    def _judge(
        self, queue: deque[float], mean: float, value: float, is_high: bool, spec: dict[str, Any]
    ) -> tuple[float, bool]:
        """One bound's decision; returns ``(value, changed)``."""
        if len(queue) < self.length:
            return value, False
        b = int(is_high)
        if mean < self.low:
            new = self._step(value, not is_high, spec, spec["init_range"][b])
        elif mean > self.high:
            new = self._step(value, is_high, spec, spec["limits"][b])
        else:
            return value, False
        return new, abs(new - value) > 1e-9

    def update(self, rand_envs: torch.Tensor, objective: torch.Tensor) -> None:
        done = torch.zeros(self.num_envs, dtype=torch.bool)
        done[rand_envs] = True
        total_nats = 0.0
        order = list(enumerate(self.names))
        self.shuffle.shuffle(order)
        recycled = False
        for n, name in order:
            spec = self.specs[name]
            lo, hi = spec["range"]
            next_lo, next_hi = spec["next_limits"]
            workers_low = (self.worker_types == BOUNDARY) & (self.modes == 2 * n)
            workers_high = (self.worker_types == BOUNDARY) & (self.modes == 2 * n + 1)
            low_q, high_q = self.queues[2 * n], self.queues[2 * n + 1]
            low_q.extend(objective[done & workers_low].cpu().numpy().tolist())
            high_q.extend(objective[done & workers_high].cpu().numpy().tolist())
            mean_low = float(np.mean(low_q)) if len(low_q) > 0 else 0.0
            mean_high = float(np.mean(high_q)) if len(high_q) > 0 else 0.0
            lo, changed_low = self._judge(low_q, mean_low, lo, False, spec)
            if changed_low:
                low_q.clear()
                self.worker_types[workers_low] = ROLLOUT
            hi, changed_high = self._judge(high_q, mean_high, hi, True, spec)
            if changed_high:
                high_q.clear()
                self.worker_types[workers_high] = ROLLOUT
            if changed_low or next_lo is None:
                next_lo = self._step(lo, False, spec, spec["limits"][0])
            if changed_high or next_hi is None:
                next_hi = self._step(hi, True, spec, spec["limits"][1])
            spec["range"] = [lo, hi]
            spec["next_limits"] = [next_lo, next_hi]
            if spec["delta"] >= 1e-9:
                total_nats += math.log(max(hi - lo, 1e-3))
            if changed_low or changed_high or self.last_step % 100 == 0:
                self.extras[f"adr/params/{name}/lower"] = lo
                self.extras[f"adr/params/{name}/upper"] = hi
                prefix = f"adr/objective_perf/boundary/{name}"
                self.extras[f"{prefix}/lower/value"] = mean_low
                self.extras[f"{prefix}/lower/queue_len"] = len(low_q)
                self.extras[f"{prefix}/upper/value"] = mean_high
                self.extras[f"{prefix}/upper/queue_len"] = len(high_q)
            if self.clear_other and (changed_low or changed_high):
                for q in self.queues:
                    q.clear()
                boundary = torch.nonzero(self.worker_types == BOUNDARY).squeeze(-1)
                self.recycle(boundary)
                recycled = True
                break
        if self.last_step % 100 == 0:
            mean_perf = objective[done & (self.worker_types == ROLLOUT)].mean()
            if self.rollout_perf is None:
                self.rollout_perf = mean_perf
            else:
                self.rollout_perf = self.rollout_perf * self.alpha + mean_perf * (1 - self.alpha)
            self.extras["adr/objective_perf/rollouts"] = self.rollout_perf
            self.extras["adr/npd"] = total_nats / len(self.names)
        if not recycled:
            self.recycle(rand_envs)
        for name in self.values:
            self.sample(name, rand_envs)
        self.last_step += 1

    def recycle(self, env_ids: torch.Tensor) -> None:
        """New worker types and modes for ``env_ids``."""
        u = torch.rand(len(env_ids))
        types = torch.zeros(len(env_ids), dtype=torch.long)
        types[u < self.fraction] = BOUNDARY
        types[u >= self.fraction] = ROLLOUT
        self.worker_types[env_ids] = types
        self.modes[env_ids] = torch.randint(0, 2 * len(self.names), (len(env_ids),))

    def sample(self, name: str, env_ids: torch.Tensor) -> None:
        """Fresh values of one tensor parameter for ``env_ids``."""
        pick = torch.zeros(self.num_envs, dtype=torch.bool)
        pick[env_ids] = True
        spec = self.specs[name]
        n = self.names.index(name)
        lo, hi = spec["range"]
        low = (self.worker_types == BOUNDARY) & (self.modes == 2 * n) & pick
        high = (self.worker_types == BOUNDARY) & (self.modes == 2 * n + 1) & pick
        rollout = ~low & ~high & pick
        rollout_ids = torch.nonzero(rollout).squeeze(-1)
        result = torch.zeros(len(env_ids))
        if spec["type"] == "categorical":
            draws = torch.randint(int(lo), int(hi) + 1, (rollout_ids.shape[0],)).float()
        else:
            draws = torch.rand(rollout_ids.shape[0]) * (hi - lo) + lo
        result[rollout[env_ids]] = draws
        result[low[env_ids]] = lo
        result[high[env_ids]] = hi
        self.values[name][env_ids] = result
