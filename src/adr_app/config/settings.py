"""The app's own configuration keys, validated before any work starts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from adr_domain import is_int
from adr_domain.config import to_plain

__all__ = ["AppSettings", "SettingsError", "plain_int"]


def plain_int(value: Any) -> int | None:
    """``value`` if it is an int (not a bool), else None."""
    return value if is_int(value) else None


class SettingsError(ValueError):
    """The command line or config has invalid values (the message lists them)."""


class AppSettings(BaseModel):
    """Top-level keys of ``cfg/config.yaml`` (see the comments there).

    Empty strings mean "default" for ``experiment``, ``num_envs``,
    ``max_iterations`` and ``checkpoint``, as in IsaacGymEnvs. Integers are
    strict (``true`` is not 1).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    task_name: str
    experiment: str = ""
    train_dir: str = "runs"
    num_envs: int | None = Field(default=None, gt=0, strict=True)
    seed: int = Field(default=42, strict=True)
    torch_deterministic: bool = False
    max_iterations: int | None = Field(default=None, gt=0, strict=True)
    checkpoint: str = ""
    start_over: bool = False
    checkpoint_format: Literal["pth", "h5"] = "pth"
    keep_checkpoints: int = Field(default=0, ge=0, strict=True)
    test: bool = False
    test_games: int = Field(default=2000, gt=0, strict=True)
    multi_gpu: bool = False
    resume_shared_adr_only: bool = False
    dist_timeout: float = Field(default=120.0, gt=0)
    rl_device: str = "cpu"
    sim_device: str = "cpu"
    graphics_device_id: int = Field(default=0, strict=True)
    headless: bool = True
    physics_engine: str = "physx"
    pipeline: str = "cpu"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    eval_every: int = Field(default=0, ge=0, strict=True)
    eval_sets: tuple[str, ...] = ("init", "checkpoint")
    eval_episodes: int = Field(default=32, gt=0, strict=True)

    @field_validator("num_envs", "max_iterations", mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @field_validator("eval_sets", mode="before")
    @classmethod
    def _one_or_more_sets(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("eval_sets")
    @classmethod
    def _distinct_sets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one range set (init, checkpoint, scaled:F, ...)")
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise ValueError(f"range sets named twice: {', '.join(repeated)}")
        return value

    @field_validator("rl_device", "sim_device")
    @classmethod
    def _device(cls, value: str) -> str:
        import torch

        try:
            torch.device(value)
        except (RuntimeError, ValueError):
            raise ValueError(
                f"not a device name (expected cpu, cuda, cuda:N, ...), got {value!r}"
            ) from None
        return value

    @field_validator("checkpoint", mode="before")
    @classmethod
    def _path_text(cls, value: Any) -> Any:
        return (
            str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
        )

    @field_validator("experiment")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if value and (value in (".", "..") or any(c in value for c in "/\\\0")):
            raise ValueError(f"must be a plain directory name, got {value!r}")
        return value

    @field_validator("dist_timeout")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be finite")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def experiment_name(self) -> str:
        """``experiment``, defaulting to the task name."""
        return self.experiment or self.task_name

    @property
    def checkpoint_suffix(self) -> str:
        """File suffix of new checkpoints."""
        return f".{self.checkpoint_format}"

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> AppSettings:
        """Validate the top-level keys of a resolved config.

        Raises:
            SettingsError: every invalid key as ``key=value: problem``, on one line.
        """
        plain = {k: v for k, v in to_plain(cfg).items() if k not in ("task", "train")}
        try:
            return cls.model_validate(plain)
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                key = ".".join(str(p) for p in err["loc"])
                msg = err["msg"].removeprefix("Value error, ")
                problems.append(f"{key}={err.get('input')!r}: {msg}")
            raise SettingsError("; ".join(problems)) from None
