"""``adr-train`` whose ``.pth`` store writes down every file it decodes.

Run as ``python -m counting_train <overrides>`` (importing it changes nothing).
Each load through the store appends the file's path as one line to the file
named by ``$ADR_DECODE_LOG``; everything else is the real adr-train.
"""

from __future__ import annotations

import os

from adr_infra import Checkpoint, register_store
from adr_infra.stores import PathLike
from adr_infra.torch_store import TorchStore

DECODE_LOG = "ADR_DECODE_LOG"
"""The environment variable naming the decode log."""


class CountingTorchStore(TorchStore):
    """The ``.pth`` store, appending each path it loads to the decode log."""

    def load(self, path: PathLike) -> Checkpoint:
        with open(os.environ[DECODE_LOG], "a", encoding="utf-8") as log:
            log.write(f"{os.fspath(path)}\n")
        return super().load(path)


if __name__ == "__main__":
    from adr_app.cli.train import main

    register_store(CountingTorchStore, suffixes=(".pth", ".pt"), schemes=("torch",), replace=True)
    main()
