"""What the Isaac Gym task base reads from the task config, once, before the sim exists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import torch

from adr_domain import ADRConfig, ConfigError, is_int
from adr_isaac.dr_params import DRParams, validate_dr_params, validate_range_paths

__all__ = ["TaskSettings"]


@attrs.frozen
class TaskSettings:
    """What the mixin reads from the task config, once, before the sim exists.

    Attributes:
        num_envs: ``env.numEnvs``.
        device: device of the ADR tensors: the simulator base's pipeline device
            (``cuda:<id>`` with ``sim.use_gpu_pipeline`` on a CUDA ``sim_device``,
            else ``cpu``).
        randomize: ``task.randomize``.
        adr_cfg: the validated ``task.adr`` block, None when ``use_adr`` is false.
        dr_params: the validated ``task.randomization_params``, None without ``randomize``.
        dr_source: the config's own ``randomization_params`` object (the DR
            dict tasks pass back to ``apply_randomizations``).
        seed: seed of the ADR and DR random streams: the config's top-level
            ``seed`` when it is an int, else ``torch.initial_seed()`` (which
            IsaacGymEnvs' ``set_seed`` fixes).
    """

    num_envs: int
    device: torch.device
    randomize: bool
    adr_cfg: ADRConfig | None
    dr_params: DRParams | None
    dr_source: object
    seed: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any], sim_device: str) -> TaskSettings:
        """Read and validate the config.

        Raises:
            ConfigError: naming each bad field (``env.numEnvs``, ``task.adr.*``,
                ``task.randomization_params.*``, ADR ``range_path`` s).
        """
        env = config.get("env", {})
        num_envs = env.get("numEnvs") if isinstance(env, Mapping) else None
        if not is_int(num_envs) or num_envs <= 0:
            raise ConfigError(f"env.numEnvs: must be a positive int, got {num_envs!r}")
        sim = config.get("sim", {})
        gpu_pipeline = (
            bool(sim.get("use_gpu_pipeline", False)) if isinstance(sim, Mapping) else False
        )
        kind, _, index = sim_device.partition(":")
        device = torch.device("cpu")
        if gpu_pipeline and kind.lower() in ("cuda", "gpu"):
            device = torch.device(f"cuda:{int(index) if index else 0}")
        task = config.get("task", {})
        if not isinstance(task, Mapping):
            raise ConfigError("task: expected a mapping")
        randomize = bool(task.get("randomize", False))
        adr_block = task.get("adr", {})
        use_adr = isinstance(adr_block, Mapping) and bool(adr_block.get("use_adr", False))
        adr_cfg = ADRConfig.from_mapping(adr_block, where="task.adr") if use_adr else None
        if adr_cfg is not None and not randomize:
            raise ConfigError(
                "task.adr.use_adr: ADR patches the domain randomization, so it needs "
                "task.randomize: true"
            )
        dr_source = task.get("randomization_params", {})
        dr_params = None
        if randomize:
            dr_params = validate_dr_params(dr_source, where="task.randomization_params")
            if adr_cfg is not None:
                validate_range_paths(adr_cfg, dr_params, where="task.randomization_params")
        seed = config.get("seed")
        if not is_int(seed) or seed < 0:
            seed = torch.initial_seed()
        return cls(
            num_envs=num_envs,
            device=device,
            randomize=randomize,
            adr_cfg=adr_cfg,
            dr_params=dr_params,
            dr_source=dr_source,
            seed=int(seed) % (2**63),
        )
