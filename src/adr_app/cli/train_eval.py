"""The evaluation during training of ``adr-train`` (``eval_every=K``), built from the plan.

Kept apart from :mod:`adr_app.cli.train` so that the agent's room (``rlgames``)
never imports the evaluation room: the evaluator is injected through
:class:`~adr_app.rlgames.options.AgentOptions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adr_app.errors import UsageError

if TYPE_CHECKING:
    from adr_app.config.plan import TrainPlan
    from adr_app.evaluation.training import TrainingEvaluator

__all__ = ["training_evaluator"]


def training_evaluator(plan: TrainPlan, *, seed: int, device: str) -> TrainingEvaluator | None:
    """The evaluator of a training run with ``eval_every > 0`` (else None).

    Only embedded tasks get here (:func:`adr_app.config.plan.make_plan` refuses the
    others).

    Raises:
        UsageError: one line: an unknown range set in ``eval_sets``, a range outside
            its parameter's limits, an unreadable ``ranges-of:`` checkpoint.
    """
    s = plan.settings
    if not s.eval_every or s.test:
        return None
    from adr_app.evaluation.training import TrainingEvaluator

    try:
        return TrainingEvaluator.build(
            plan.task_cfg, s.eval_sets, episodes=s.eval_episodes, seed=seed, device=device
        )
    except ValueError as exc:
        raise UsageError(f"eval_sets={list(s.eval_sets)}: {exc}") from None
