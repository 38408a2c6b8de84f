"""The update's tensor work, run eagerly or through ``torch.compile``.

:func:`~adr_domain.update.screen_and_sort` and
:func:`~adr_domain.update.apply_rules` have no data-dependent shape, no host
sync and no generator call, so each traces into one graph with
``fullgraph=True``; the number of finished envs ``K`` is a dynamic size.
Updates with ``K < 2`` (which torch would specialize and compile again) run
eagerly: the choice depends on ``K`` alone, so a run stays deterministic. A
first compiled update with ``K = N`` (every env finishing, as at the first
reset) is traced once more for other counts.
On a CPU, inductor needs a C++ compiler (gcc); the first compiled update pays
the compilation (tens of seconds, cached on disk by torch), later ones run
fused kernels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

import torch

from adr_domain.buffers import Buffers
from adr_domain.queues import Results
from adr_domain.tables import EngineTables
from adr_domain.update import Draws, Options, Outcome, apply_rules, screen_and_sort

__all__ = ["UpdateRules"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _traced(fn: Callable[_P, _R], backend: str) -> Callable[_P, _R]:
    """``fn`` through ``torch.compile`` whole (``fullgraph``), ``K`` a dynamic size."""
    return torch.compile(fn, fullgraph=True, dynamic=True, backend=backend)


class UpdateRules:
    """The two halves of an update's tensor work, compiled or not.

    Args:
        compile_update: False (eager), True (``torch.compile`` with inductor)
            or the name of a ``torch.compile`` backend (``"aot_eager"`` traces
            and runs the graph without generating code).
    """

    def __init__(self, compile_update: bool | str = False) -> None:
        self.compiled = bool(compile_update)
        backend = compile_update if isinstance(compile_update, str) else "inductor"
        self._screen = screen_and_sort
        self._apply = apply_rules
        if compile_update:
            self._screen = _traced(screen_and_sort, backend)
            self._apply = _traced(apply_rules, backend)

    def screen(
        self,
        count: int,
        b: Buffers,
        t: EngineTables,
        options: Options,
        ids: torch.Tensor,
        objective: torch.Tensor,
    ) -> tuple[Results, torch.Tensor, torch.Tensor | None]:
        """:func:`~adr_domain.update.screen_and_sort` for ``count`` finished envs."""
        screen = self._screen if self._traces(count) else screen_and_sort
        return screen(b, t, options, ids, objective)

    def apply(
        self,
        count: int,
        b: Buffers,
        t: EngineTables,
        options: Options,
        results: Results,
        codes: torch.Tensor,
        draws: Draws,
    ) -> Outcome:
        """:func:`~adr_domain.update.apply_rules` for ``count`` results per rank."""
        apply = self._apply if self._traces(count) else apply_rules
        return apply(b, t, options, results, codes, draws)

    def _traces(self, count: int) -> bool:
        """Whether an update of ``count`` runs the traced graph (``K < 2`` runs eagerly)."""
        return self.compiled and count >= 2
