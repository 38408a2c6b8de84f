"""Means with 95% confidence intervals, and paired differences (pure torch).

An evaluation reports, per policy and cell, the mean of a per-episode measure
with a Student-t 95% interval; two policies evaluated on the same cells, env
seeds and initial states (common random numbers) are compared episode by
episode: the interval of the mean *paired* difference is far tighter than the
difference of two independent intervals.
"""

from __future__ import annotations

import math

import attrs
import torch

__all__ = ["Estimate", "estimate", "paired_difference", "t_quantile_975"]

_Z975 = 1.959963984540054
# Exact 97.5% quantiles of Student's t for 1-4 degrees of freedom; the
# Cornish-Fisher expansion below is accurate to 1e-3 from 5 on.
_T975_SMALL = {1: 12.706204736, 2: 4.302652730, 3: 3.182446305, 4: 2.776445105}


def t_quantile_975(dof: int) -> float:
    """The 97.5% quantile of Student's t with ``dof`` degrees of freedom (``>= 1``)."""
    if dof < 1:
        raise ValueError(f"dof: must be >= 1, got {dof}")
    if dof in _T975_SMALL:
        return _T975_SMALL[dof]
    z, v = _Z975, float(dof)
    return (
        z
        + (z**3 + z) / (4 * v)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
        + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * v**4)
    )


@attrs.frozen
class Estimate:
    """A mean and its 95% confidence interval.

    Attributes:
        mean: the sample mean (NaN without samples).
        half_width: half the interval's width (NaN with fewer than two samples).
        n: the number of samples.
    """

    mean: float
    half_width: float
    n: int

    @property
    def lo(self) -> float:
        """The interval's lower end."""
        return self.mean - self.half_width

    @property
    def hi(self) -> float:
        """The interval's upper end."""
        return self.mean + self.half_width


def estimate(samples: torch.Tensor) -> Estimate:
    """Mean and Student-t 95% interval of ``samples`` (``(n,)``, any real dtype)."""
    x = samples.detach().to(torch.float64).flatten().cpu()
    n = int(x.numel())
    if n == 0:
        return Estimate(math.nan, math.nan, 0)
    mean = float(x.mean())
    if n == 1:
        return Estimate(mean, math.nan, 1)
    std = float(x.std(unbiased=True))
    return Estimate(mean, t_quantile_975(n - 1) * std / math.sqrt(n), n)


def paired_difference(a: torch.Tensor, b: torch.Tensor) -> Estimate:
    """Mean of ``a - b`` over paired samples, with its 95% interval.

    Raises:
        ValueError: ``a`` and ``b`` differ in shape (they are not paired).
    """
    if a.shape != b.shape:
        raise ValueError(
            f"paired samples need equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    return estimate(a.to(torch.float64) - b.to(torch.float64))
