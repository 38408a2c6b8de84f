"""Worker of the crash-safety test: forks children that save checkpoints until killed.

Run as ``python infra_crash_worker.py``; it imports torch and adr_infra once,
then reads commands from stdin, one JSON list per line, and answers on stdout:

* ``["spawn", MODE, TARGET, START, LOG]`` -> ``pid <n>``: fork a child that saves
  checkpoints ``START, START + 1, ...`` forever, appending ``begin k`` before
  and ``done k`` after each save to the file LOG.
  ``MODE=same``: every checkpoint goes to the file TARGET (suffix picks the store).
  ``MODE=layout``: TARGET is ``<train_dir>|<suffix>``: periodic rl_games-named
  checkpoints of experiment ``crash``, keeping the last 2 it wrote (:meth:`RunLayout.prune`).
* ``["reap", PID]`` -> ``reaped <status>``: wait for a child (after the test killed it).

Checkpoint ``k`` is a function of ``k`` only (see :func:`payload`) and holds a
few MB of tensors, so that saving takes long enough for a kill to land in it.
"""

from __future__ import annotations

import json
import os
import sys

import torch

from adr_infra import Checkpoint, RunLayout, save_checkpoint

torch.set_num_threads(1)


def payload(k: int) -> Checkpoint:
    """Checkpoint number ``k``."""
    values = torch.arange(500_000, dtype=torch.float32) + k
    env_state = {"counter": k, "big": values, "adr": {"bounds": torch.full((27, 2), float(k))}}
    return Checkpoint.create(
        {"epoch": k, "model": {"w": values[:1000].clone()}},
        env_state,
        experiment="crash",
        created_at="2000-01-01T00:00:00+00:00",
    )


def _log(fd: int, text: str) -> None:
    os.write(fd, f"{text}\n".encode())


def save_forever(mode: str, target: str, start: int, log_path: str) -> None:
    """The child: save checkpoints ``start, start + 1, ...`` until killed."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    layout = None
    suffix = ""
    if mode == "layout":
        train_dir, suffix = target.rsplit("|", 1)
        layout = RunLayout("crash", train_dir).create()
    k = start
    written: list[str] = []
    while True:
        checkpoint = payload(k)
        _log(fd, f"begin {k}")
        if layout is None:
            save_checkpoint(target, checkpoint)
        else:
            path = layout.periodic_path(k, float(k), suffix=suffix)
            save_checkpoint(path, checkpoint)
            written.append(path.name)
            layout.prune(written, 2, temp_min_age_s=3600.0)
        _log(fd, f"done {k}")
        k += 1


def main() -> None:
    for line in sys.stdin:
        command, *args = json.loads(line)
        if command == "spawn":
            mode, target, start, log_path = args
            pid = os.fork()
            if pid == 0:  # the child never returns to this loop
                try:
                    save_forever(mode, target, int(start), log_path)
                finally:
                    os._exit(1)
            print(f"pid {pid}", flush=True)
        elif command == "reap":
            _, status = os.waitpid(int(args[0]), 0)
            print(f"reaped {status}", flush=True)
        else:
            print(f"error unknown command {command}", flush=True)


if __name__ == "__main__":
    main()
