"""One leg of the exact-resume test, run in a fresh Python process.

Builds an engine (DeXtreme's 27 parameters, queues of 4), optionally restores
it from a checkpoint, runs updates whose inputs depend only on the engine's
step counter (:func:`infra_helpers.drive`), optionally saves a checkpoint, and
dumps what the test compares with ``torch.save``:

* ``state``: the engine's state_dict at the end;
* ``draws``: 16 numbers from a generator set to each of the engine's saved
  random streams (the next random draws);
* ``after_next_update``: the state_dict after one more update;
* ``loaded`` (with ``--dump-loaded``): the state_dict right after restoring.
"""

from __future__ import annotations

import argparse
from typing import Any

import torch

from adr_domain import ADREngine
from adr_infra import Checkpoint, load_checkpoint, restore_engine, save_checkpoint
from builders import dextreme_adr_cfg
from infra_helpers import drive, small_policy

NUM_ENVS = 64


def config(load_from_checkpoint: bool) -> dict[str, Any]:
    cfg = dextreme_adr_cfg()
    cfg["adr_queue_threshold_length"] = 4
    cfg["adr_load_from_checkpoint"] = load_from_checkpoint
    return cfg


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--updates", type=int, required=True)
    parser.add_argument("--load")
    parser.add_argument("--load-ranges", choices=["true", "false"], default="true")
    parser.add_argument("--save")
    parser.add_argument("--dump", required=True)
    args = parser.parse_args()

    torch.set_num_threads(1)
    engine = ADREngine(config(args.load_ranges == "true"), NUM_ENVS, seed=args.seed)
    record: dict[str, Any] = {}
    if args.load:
        restore_engine(engine, load_checkpoint(args.load), path=args.load)
        record["loaded"] = engine.state_dict()
    drive(engine, args.updates)
    if args.save:
        env_state = {"adr": engine.state_dict(), "act_moving_average": 0.15}
        save_checkpoint(
            args.save, Checkpoint.create(small_policy(), env_state, experiment="resume")
        )
    state = engine.state_dict()
    draws = {}
    for name, gen_state in state["rng"].items():
        gen = torch.Generator()
        gen.set_state(gen_state)
        draws[name] = torch.rand(16, generator=gen, dtype=torch.float64)
    drive(engine, 1)
    record.update(state=state, draws=draws, after_next_update=engine.state_dict())
    torch.save(record, args.dump)


if __name__ == "__main__":
    main()
