"""The parameter set as tensors: one row per parameter, in config order."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence

import attrs
import torch

from adr_domain.config import ADRConfig
from adr_domain.types import DeltaStyle, ParamType

__all__ = ["ParamIdentity", "ParamTable", "describe_param_set_differences", "param_set_hash"]

ParamIdentity = dict[str, str]
"""What makes two parameter sets interchangeable for a state dict:
``{"name", "type", "kind"}`` per parameter, in order."""

# A delta below this disables a parameter for ADR moves and for the NPD metric
# (the reference's threshold).
DISABLED_DELTA = 1e-9


@attrs.frozen(eq=False)
class ParamTable:
    """Static description of the ADR parameters, vectorized.

    Attributes:
        names: parameter names; index ``n`` has modes ``2n`` (low) and ``2n+1`` (high).
        types: sampling type of each parameter.
        range_paths: each parameter's ``range_path`` or None (tensor parameter).
        init: ``(P, 2)`` float64 init ranges.
        limits: ``(P, 2)`` float64 limits as configured, ``-inf``/``+inf`` where
            unbounded.
        effective_limits: ``(P, 2)`` float64 limits the engine applies, finite
            (see :attr:`~adr_domain.config.ADRParamConfig.effective_limits`).
        delta: ``(P,)`` float64 step sizes.
        multiplicative: ``(P,)`` bool, True for multiplicative delta style.
        enabled: ``(P,)`` bool, ``delta >= 1e-9`` (counted in NPD).
        uniform_index: ``(Tu,)`` int64 indices of uniform tensor parameters.
        categorical_index: ``(Tc,)`` int64 indices of categorical tensor parameters.
    """

    names: tuple[str, ...]
    types: tuple[ParamType, ...]
    range_paths: tuple[str | None, ...]
    init: torch.Tensor
    limits: torch.Tensor
    effective_limits: torch.Tensor
    delta: torch.Tensor
    multiplicative: torch.Tensor
    enabled: torch.Tensor
    uniform_index: torch.Tensor
    categorical_index: torch.Tensor

    @classmethod
    def from_config(cls, cfg: ADRConfig, device: torch.device) -> ParamTable:
        """Build the table for ``cfg.params`` on ``device``."""
        specs = list(cfg.params.values())
        f64 = {"dtype": torch.float64, "device": device}

        init = torch.tensor([list(s.init_range) for s in specs], **f64)  # type: ignore[arg-type]

        def limit(value: float | None, default: float) -> float:
            return default if value is None else float(value)

        limits = torch.tensor(
            [[limit(s.limits[0], -math.inf), limit(s.limits[1], math.inf)] for s in specs],
            **f64,  # type: ignore[arg-type]
        )
        effective = torch.tensor(
            [list(s.effective_limits) for s in specs],
            **f64,  # type: ignore[arg-type]
        )
        delta = torch.tensor([s.delta for s in specs], **f64)  # type: ignore[arg-type]
        uniform = [i for i, s in enumerate(specs) if s.is_tensor and s.type is ParamType.UNIFORM]
        categorical = [
            i for i, s in enumerate(specs) if s.is_tensor and s.type is ParamType.CATEGORICAL
        ]
        return cls(
            names=tuple(cfg.params),
            types=tuple(s.type for s in specs),
            range_paths=tuple(s.range_path for s in specs),
            init=init,
            limits=limits,
            effective_limits=effective,
            delta=delta,
            multiplicative=torch.tensor(
                [s.delta_style is DeltaStyle.MULTIPLICATIVE for s in specs], device=device
            ),
            enabled=delta >= DISABLED_DELTA,
            uniform_index=torch.tensor(uniform, dtype=torch.long, device=device),
            categorical_index=torch.tensor(categorical, dtype=torch.long, device=device),
        )

    @property
    def num_params(self) -> int:
        """``P``, the number of parameters."""
        return len(self.names)

    @property
    def tensor_names(self) -> tuple[str, ...]:
        """Names of the tensor parameters (no ``range_path``), in config order."""
        return tuple(n for n, p in zip(self.names, self.range_paths, strict=True) if p is None)

    @property
    def builtin_names(self) -> tuple[str, ...]:
        """Names of the parameters applied through a ``range_path``, in config order."""
        return tuple(n for n, p in zip(self.names, self.range_paths, strict=True) if p is not None)

    def index(self, name: str) -> int:
        """Index of parameter ``name``.

        Raises:
            ValueError: naming the unknown parameter and the known ones.
        """
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(
                f"param_name: unknown ADR parameter {name!r}; known: {', '.join(self.names)}"
            ) from None

    def identity(self) -> list[ParamIdentity]:
        """The parts of the parameter set that a saved state depends on."""
        return [
            {
                "name": name,
                "type": ptype.value,
                "kind": "tensor" if path is None else "range_path",
            }
            for name, ptype, path in zip(self.names, self.types, self.range_paths, strict=True)
        ]

    def fingerprint(self) -> str:
        """Stable hash of :meth:`identity` (hex sha256)."""
        return param_set_hash(self.identity())


def param_set_hash(identity: Sequence[ParamIdentity]) -> str:
    """Hex sha256 of a parameter-set identity (order matters)."""
    canonical = json.dumps(list(identity), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def describe_param_set_differences(
    saved: Sequence[ParamIdentity], current: Sequence[ParamIdentity]
) -> list[str]:
    """Human-readable differences between two parameter-set identities.

    Returns an empty list when they are the same.
    """
    saved_by_name = {p["name"]: p for p in saved}
    current_by_name = {p["name"]: p for p in current}
    diffs: list[str] = []
    missing = [n for n in saved_by_name if n not in current_by_name]
    extra = [n for n in current_by_name if n not in saved_by_name]
    if missing:
        diffs.append(f"only in the checkpoint: {', '.join(missing)}")
    if extra:
        diffs.append(f"only in the config: {', '.join(extra)}")
    for name, s in saved_by_name.items():
        c = current_by_name.get(name)
        if c is None:
            continue
        for field in ("type", "kind"):
            if s[field] != c[field]:
                diffs.append(
                    f"{name}: {field} {s[field]} in the checkpoint, {c[field]} in the config"
                )
    if not diffs:
        saved_order = [p["name"] for p in saved]
        current_order = [p["name"] for p in current]
        if saved_order != current_order:
            diffs.append(
                "same parameters in another order: checkpoint "
                f"[{', '.join(saved_order)}], config [{', '.join(current_order)}]"
            )
    return diffs
