"""Save/load cost and size of a checkpoint's ADR state in each store.

Setting: the 27 DeXtreme parameters (cfg/adr/dextreme.yaml, 14 of them
sampled per env by the engine), 16384 and 65536 envs, the engine advanced by
40 updates with 2% of envs finishing each (queues partly filled, ranges
moved), 1 torch thread. The checkpoint holds the complete engine state as the
Isaac adapter saves it (``get_env_state()``: engine state + ``adr_params``)
and no policy, so its size is the state's size.

For each store it prints the median save and load time over ``--repeats``
runs (files in a temp directory, each save atomic with fsync), the file size,
the raw bytes of the state's tensors and the ratio file size / raw bytes, and
for HDF5 its save+load time over .pth's, measured in the same run (the target:
within 2x at 65536 envs). The machine is shared: compare stores within one run.

Usage: python benchmarks/bench_store.py [--quick] [--repeats N] [--envs 16384 65536]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import torch

from adr_domain import ADREngine
from adr_infra import (
    Checkpoint,
    CheckpointStore,
    Hdf5Store,
    MemoryStore,
    TorchStore,
    restore_engine,
    tensor_nbytes,
)
from adr_isaac.compat import ADRCompat
from bench_common import dextreme_cfg, median_seconds


def advanced_adapter(num_envs: int, updates: int = 40) -> ADRCompat:
    """An adapter whose engine has run ``updates`` updates (2% of envs finishing each)."""
    adr = ADRCompat(dextreme_cfg(adr_load_from_checkpoint=True), num_envs, seed=0)
    gen = torch.Generator().manual_seed(0)
    finishing = max(1, num_envs // 50)
    for _ in range(updates):
        ids = torch.randperm(num_envs, generator=gen)[:finishing]
        objective = torch.randint(0, 31, (num_envs,), generator=gen).float()
        adr.adr_update(ids, objective)
    return adr


def bench(num_envs: int, repeats: int, directory: Path) -> list[dict[str, Any]]:
    adapter = advanced_adapter(num_envs)
    engine = adapter.engine
    state_s = median_seconds(engine.state_dict, repeats)
    checkpoint = Checkpoint.create(None, adapter.get_env_state(), experiment="bench")
    raw = tensor_nbytes(checkpoint.env_state)
    fresh = ADREngine(dextreme_cfg(adr_load_from_checkpoint=True), num_envs, seed=1)
    restore_s = median_seconds(lambda: restore_engine(fresh, checkpoint), repeats)
    stores: list[tuple[str, CheckpointStore, str]] = [
        ("TorchStore (.pth)", TorchStore(), str(directory / f"state_{num_envs}.pth")),
        ("Hdf5Store (.h5)", Hdf5Store(), str(directory / f"state_{num_envs}.h5")),
        ("MemoryStore", MemoryStore(), f"state_{num_envs}"),
    ]
    rows = []
    for label, store, location in stores:
        store.save(location, checkpoint)  # warm-up (imports, page cache)
        save_s = median_seconds(lambda s=store, loc=location: s.save(loc, checkpoint), repeats)
        load_s = median_seconds(lambda s=store, loc=location: s.load(loc), repeats)
        size = Path(location).stat().st_size if Path(location).exists() else None
        rows.append(
            {
                "envs": num_envs,
                "store": label,
                "save_ms": 1e3 * save_s,
                "load_ms": 1e3 * load_s,
                "size": size,
                "raw": raw,
                "state_dict_ms": 1e3 * state_s,
                "restore_ms": 1e3 * restore_s,
            }
        )
    return rows


def hdf5_over_pth(rows: list[dict[str, Any]]) -> float:
    """HDF5's save+load time over .pth's, from the rows of one :func:`bench` call."""

    def total(prefix: str) -> float:
        row = next(r for r in rows if r["store"].startswith(prefix))
        return float(row["save_ms"] + row["load_ms"])

    return total("Hdf5Store") / total("TorchStore")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="16384 envs only, 3 repeats")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--envs", type=int, nargs="+", default=[16384, 65536])
    args = parser.parse_args()
    torch.set_num_threads(1)
    envs = [16384] if args.quick else args.envs
    repeats = 3 if args.quick else args.repeats

    print(f"ADR state checkpoints, 27 DeXtreme parameters, median of {repeats} runs, 1 thread")
    header = f"{'envs':>6}  {'store':<18} {'save ms':>8} {'load ms':>8} {'file bytes':>11}"
    header += f" {'raw tensor bytes':>16} {'file/raw':>8}"
    with tempfile.TemporaryDirectory() as tmp:
        for num_envs in envs:
            rows = bench(num_envs, repeats, Path(tmp))
            print()
            print(
                f"{num_envs} envs: engine.state_dict() {rows[0]['state_dict_ms']:.2f} ms, "
                f"restore_engine() {rows[0]['restore_ms']:.2f} ms"
            )
            print(header)
            for r in rows:
                size = "-" if r["size"] is None else f"{r['size']:>11d}"
                ratio = "-" if r["size"] is None else f"{r['size'] / r['raw']:.3f}"
                print(
                    f"{r['envs']:>6}  {r['store']:<18} {r['save_ms']:>8.2f} {r['load_ms']:>8.2f} "
                    f"{size:>11} {r['raw']:>16d} {ratio:>8}"
                )
            print(f"HDF5 save+load / .pth save+load: {hdf5_over_pth(rows):.2f}x")


if __name__ == "__main__":
    main()
