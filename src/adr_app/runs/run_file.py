"""The run directory's record of a run: ``run.yaml`` (its settings) and whether it is done.

* :func:`write_run_file`: a training run writes its settings when it starts
  (after its checkpoint is settled), atomically; a resume rewrites them with
  the command line's changes.
* :func:`finished_line`: a resume whose checkpoint already reached
  ``max_iterations`` has nothing to train: one line, exit 0, nothing written.
"""

from __future__ import annotations

from pathlib import Path

from adr_app.config.plan import TrainPlan
from adr_app.config.run_settings import RUN_FILE, run_file_text
from adr_app.config.settings import plain_int
from adr_infra import CheckpointError, CheckpointName, ChosenCheckpoint, atomic_write_bytes

__all__ = ["checkpoint_epoch", "finished_line", "run_file_path", "write_run_file"]


def run_file_path(plan: TrainPlan) -> Path:
    """``<train_dir>/<experiment>/run.yaml``."""
    return plan.layout.experiment_dir / RUN_FILE


def write_run_file(plan: TrainPlan) -> Path:
    """Record the run's settings in its run directory.

    Raises:
        OSError: the file could not be written.
    """
    path = run_file_path(plan)
    plan.layout.experiment_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, run_file_text(plan.recorded).encode())
    return path


def checkpoint_epoch(chosen: ChosenCheckpoint) -> int | None:
    """The epoch a checkpoint reached: from its name when it says, else from its content
    (read once: the restore reuses it)."""
    parsed = CheckpointName.parse(chosen.path.name)
    if parsed is not None and parsed.epoch is not None:
        return parsed.epoch
    try:
        return chosen.peek().epoch
    except CheckpointError:
        return None  # the restore names what is wrong with the file


def finished_line(plan: TrainPlan) -> str | None:
    """``<run dir> already finished epoch E of M; ...`` when the checkpoint to resume
    reached ``max_iterations`` (rl_games would train one epoch past it); else None."""
    if plan.checkpoint is None or plan.settings.test:
        return None
    max_epochs = plain_int(plan.rl_params["config"].get("max_epochs"))
    if max_epochs is None or max_epochs < 0:
        return None
    epoch = checkpoint_epoch(plan.checkpoint)
    if epoch is None or epoch < max_epochs:
        return None
    where = plan.layout.experiment_dir
    reached = (
        f"already finished epoch {epoch} of {max_epochs}"
        if epoch == max_epochs
        else f"is at epoch {epoch}, past max_iterations={max_epochs}"
    )
    return f"{where} {reached}; raise max_iterations to train on"
