"""Persistence of training state: checkpoint stores, run layout, atomic IO.

Imports torch, numpy, attrs, the standard library and :mod:`adr_domain`;
h5py only when an HDF5 checkpoint is first written or read.

* :class:`Checkpoint` — policy part + hierarchical env state + metadata.
* :class:`CheckpointStore` — the port; :class:`TorchStore` (``.pth``,
  rl_games-compatible), :class:`Hdf5Store` (``.h5``), :class:`MemoryStore`;
  :func:`save_checkpoint` / :func:`load_checkpoint` pick one from the path;
  :func:`register_store` adds backends.
* :class:`RunLayout` — ``runs/<experiment>/{nn,summaries}``, discovery of the
  latest and best usable checkpoint (a :class:`ChosenCheckpoint`, read once),
  retention of a run's own files.
* :func:`restore_engine` — restore an ADR engine from a checkpoint (sim2real-adr or
  IsaacGymEnvs env state), errors naming the file.
* :func:`atomic_write` — temp file, fsync, rename, directory fsync.
* :func:`summarize` — what ``adr-ckpt inspect`` shows.

:mod:`adr_infra.distributed` (``torch.distributed`` adapters) is imported on
its own, not from here. See ``docs/checkpoints.md``.
"""

from adr_infra.atomic import atomic_write, atomic_write_bytes, is_temp_file, remove_stale_temp_files
from adr_infra.checkpoint import (
    ENV_STATE_KEY,
    FORMAT_VERSION,
    META_KEY,
    Checkpoint,
    CheckpointMeta,
)
from adr_infra.errors import (
    CheckpointError,
    CheckpointNotFoundError,
    CheckpointWriteError,
    CorruptCheckpointError,
    IncompatibleCheckpointError,
    TreeError,
    UnknownFormatError,
    UnsafeCheckpointError,
    UnsupportedVersionError,
)
from adr_infra.hdf5_store import Hdf5Store
from adr_infra.layout import SELECTORS, ChosenCheckpoint, RunLayout
from adr_infra.names import ROBUST_TAG, CheckpointFile, CheckpointKind, CheckpointName
from adr_infra.paths import PathLike
from adr_infra.payload import FORMAT_MIGRATIONS, migrate_v0_to_v1, migrate_v1_to_v2
from adr_infra.restore import (
    RestoreReport,
    RestoreSource,
    import_isaacgymenvs_env_state,
    import_isaacgymenvs_ranges,
    is_isaacgymenvs_env_state,
    restore_engine,
)
from adr_infra.stores import (
    CheckpointStore,
    MemoryStore,
    checkpoint_suffixes,
    load_checkpoint,
    register_store,
    resolve_location,
    save_checkpoint,
    store_for,
    unregister_store,
)
from adr_infra.summary import CheckpointSummary, ParamSummary, WorkerSplit, summarize
from adr_infra.torch_store import TorchStore
from adr_infra.tree import (
    StateTree,
    normalize_tree,
    tensor_nbytes,
    tree_differences,
    tree_digest,
)

__all__ = [
    "ENV_STATE_KEY",
    "FORMAT_MIGRATIONS",
    "FORMAT_VERSION",
    "META_KEY",
    "ROBUST_TAG",
    "SELECTORS",
    "Checkpoint",
    "CheckpointError",
    "CheckpointFile",
    "CheckpointKind",
    "CheckpointMeta",
    "CheckpointName",
    "CheckpointNotFoundError",
    "CheckpointStore",
    "CheckpointSummary",
    "CheckpointWriteError",
    "ChosenCheckpoint",
    "CorruptCheckpointError",
    "Hdf5Store",
    "IncompatibleCheckpointError",
    "MemoryStore",
    "ParamSummary",
    "PathLike",
    "RestoreReport",
    "RestoreSource",
    "RunLayout",
    "StateTree",
    "TorchStore",
    "TreeError",
    "UnknownFormatError",
    "UnsafeCheckpointError",
    "UnsupportedVersionError",
    "WorkerSplit",
    "atomic_write",
    "atomic_write_bytes",
    "checkpoint_suffixes",
    "import_isaacgymenvs_env_state",
    "import_isaacgymenvs_ranges",
    "is_isaacgymenvs_env_state",
    "is_temp_file",
    "load_checkpoint",
    "migrate_v0_to_v1",
    "migrate_v1_to_v2",
    "normalize_tree",
    "register_store",
    "remove_stale_temp_files",
    "resolve_location",
    "restore_engine",
    "save_checkpoint",
    "store_for",
    "summarize",
    "tensor_nbytes",
    "tree_differences",
    "tree_digest",
    "unregister_store",
]
