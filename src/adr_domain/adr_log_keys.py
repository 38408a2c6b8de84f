"""The one home of the ``adr/...`` log keys, as a function of an :class:`UpdateReport`.

The keys are IsaacGymEnvs' (``adr/params/<p>/lower|upper``,
``adr/objective_perf/boundary/<p>/lower|upper/value|queue_len``,
``adr/objective_perf/rollouts``, ``adr/npd``), so dashboards built for the
reference read sim2real-adr runs unchanged. Every adapter and the app publish them
through these functions.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch

from adr_domain.report import UpdateReport

__all__ = ["NPD_KEY", "ROLLOUT_PERF_KEY", "adr_log_keys", "adr_log_tensors", "adr_log_values"]

ROLLOUT_PERF_KEY = "adr/objective_perf/rollouts"
"""The rollout-performance EMA."""
NPD_KEY = "adr/npd"
"""Nats per dimension of the current ranges."""
SIDES = ("lower", "upper")


@functools.lru_cache(maxsize=64)
def _keys(param_names: tuple[str, ...]) -> tuple[str, ...]:
    pairs = [(name, side) for name in param_names for side in SIDES]
    boundary = [f"adr/objective_perf/boundary/{name}/{side}" for name, side in pairs]
    return (
        *(f"adr/params/{name}/{side}" for name, side in pairs),
        *(f"{prefix}/value" for prefix in boundary),
        *(f"{prefix}/queue_len" for prefix in boundary),
        ROLLOUT_PERF_KEY,
        NPD_KEY,
    )


def adr_log_keys(param_names: Sequence[str]) -> tuple[str, ...]:
    """Every ``adr/...`` key of a parameter set, in the order of :func:`adr_log_tensors`:
    ranges (parameter-major, lower then upper), boundary queue means, boundary
    queue lengths, rollout performance, NPD."""
    return _keys(tuple(param_names))


def adr_log_tensors(report: UpdateReport) -> tuple[torch.Tensor, ...]:
    """The values of :func:`adr_log_keys` as ``()`` tensors on the report's device
    (no host copy): ``4P + 2`` of them, ``P`` = ``len(report.param_names)``.

    A boundary ``value`` is the queue mean the update evaluated (also when the
    move then emptied the queue), as the reference logs it.
    """
    return (
        *report.bounds.reshape(-1).unbind(),
        *report.queue_means.reshape(-1).unbind(),
        *report.queue_lengths.reshape(-1).unbind(),
        report.rollout_perf,
        report.npd,
    )


def adr_log_values(report: UpdateReport) -> dict[str, float]:
    """``{key: value}`` of every ``adr/...`` entry, read with one host copy."""
    table = torch.cat(
        [
            report.bounds.reshape(-1),
            report.queue_means.reshape(-1),
            report.queue_lengths.reshape(-1).to(torch.float64),
            report.rollout_perf.reshape(1).to(torch.float64),
            report.npd.reshape(1),
        ]
    )
    return dict(zip(adr_log_keys(report.param_names), table.tolist(), strict=True))
