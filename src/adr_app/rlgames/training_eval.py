"""What the agent does with an evaluation during training (``eval_every=K``): when it is
due, what it reads of the engine, and how it reports (TensorBoard scalars, one line).

The evaluator itself is injected (:attr:`AgentOptions.evaluate
<adr_app.rlgames.options.AgentOptions>`): ``adr-train`` builds it from the
evaluation room (:mod:`adr_app.evaluation.training`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any, Protocol

from adr_domain import ADREngine

__all__ = ["SetResult", "current_ranges", "eval_due", "report_evaluation", "tag_name"]

progress = logging.getLogger("adr_app.progress")


class SetResult(Protocol):
    """One range set's figures (:class:`adr_app.evaluation.training.SetFigures`)."""

    @property
    def name(self) -> str: ...
    @property
    def mean_objective(self) -> float: ...
    @property
    def success_rate(self) -> float: ...
    @property
    def episodes(self) -> int: ...


def eval_due(epoch: int, every: int) -> bool:
    """An evaluation follows epoch ``epoch`` (1-based) when ``every > 0`` divides it."""
    return every > 0 and epoch > 0 and epoch % every == 0


def current_ranges(engine: ADREngine) -> dict[str, tuple[float, float]]:
    """The engine's ranges by name (read only)."""
    bounds = engine.bounds.detach().cpu().tolist()
    return {
        name: (float(b[0]), float(b[1])) for name, b in zip(engine.param_names, bounds, strict=True)
    }


def tag_name(name: str) -> str:
    """A range set's name as a TensorBoard tag part (``scaled:2`` -> ``scaled_2``)."""
    return re.sub(r"[^-\w.]", "_", name)


def report_evaluation(writer: Any, figures: Sequence[SetResult], *, frame: int, epoch: int) -> None:
    """``eval/<set>/{mean_objective,success_rate,episodes}`` at ``frame``, and one line."""
    if writer is not None:
        for f in figures:
            base = f"eval/{tag_name(f.name)}"
            writer.add_scalar(f"{base}/mean_objective", f.mean_objective, frame)
            writer.add_scalar(f"{base}/success_rate", f.success_rate, frame)
            writer.add_scalar(f"{base}/episodes", f.episodes, frame)
    parts = [
        f"{f.name}: successes {f.mean_objective:.2f}, {100 * f.success_rate:.0f}% succeed"
        for f in figures
    ]
    episodes = figures[0].episodes if figures else 0
    progress.info("eval after epoch %d (%d episodes each) | %s", epoch, episodes, " | ".join(parts))
