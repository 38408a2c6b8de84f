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
from typing import Any

import torch

from adr_domain.update import apply_rules, screen_and_sort

__all__ = ["UpdateRules"]


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
        self._screen: Callable[..., Any] = screen_and_sort
        self._apply: Callable[..., Any] = apply_rules
        if compile_update:
            self._screen = torch.compile(
                screen_and_sort, fullgraph=True, dynamic=True, backend=backend
            )
            self._apply = torch.compile(apply_rules, fullgraph=True, dynamic=True, backend=backend)

    def screen(self, count: int, *args: Any) -> Any:
        """:func:`~adr_domain.update.screen_and_sort` for ``count`` finished envs."""
        return self._run(self._screen, screen_and_sort, count, args)

    def apply(self, count: int, *args: Any) -> Any:
        """:func:`~adr_domain.update.apply_rules` for ``count`` results per rank."""
        return self._run(self._apply, apply_rules, count, args)

    def _run(
        self, fast: Callable[..., Any], plain: Callable[..., Any], count: int, args: tuple[Any, ...]
    ) -> Any:
        if not self.compiled or count < 2:
            return plain(*args)
        return fast(*args)
