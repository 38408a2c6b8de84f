"""ADR for Isaac Lab: one curriculum term over the shared engine glue.

Typed against Isaac Lab's documented manager API (``isaaclab.managers``:
``ManagerTermBase``, ``CurriculumTermCfg``, ``SceneEntityCfg``;
``isaaclab.envs.ManagerBasedRLEnv``). Isaac Lab calls a curriculum term as
``term(env, env_ids, **params)`` at the start of ``_reset_idx``, before the
scene reset and the reset events, then rebuilds ``extras["log"]`` and calls
``term.reset(env_ids)``. So :class:`AdrCurriculumTerm`:

* on ``__call__``: updates the engine with the finished envs
  (:func:`adr_lab.core.update_on_reset`), then applies every
  :class:`IsaacLabBinding` to the reset envs: Isaac Lab's randomization
  functions take a range, so each is called once for the envs drawing from
  the current range and once per group of boundary workers with ``(b, b)``;
* on ``reset``: puts the ``adr/...`` keys into the new ``extras["log"]``.

Usage::

    from isaaclab.envs import mdp
    from isaaclab.managers import CurriculumTermCfg, SceneEntityCfg
    from adr_lab import Survived
    from adr_lab.isaaclab import AdrCurriculumTerm, IsaacLabBinding

    curriculum.adr = CurriculumTermCfg(func=AdrCurriculumTerm, params={
        "adr": adr_block, "objective": Survived(),
        "bindings": [IsaacLabBinding("object_mass", mdp.randomize_rigid_body_mass,
            "mass_distribution_params", SceneEntityCfg("object"), {"operation": "scale"})]})

Not run against a real Isaac Lab here (it needs Isaac Sim): the tests drive
this module through a fake of the manager surface above.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import torch
from isaaclab.envs import ManagerBasedRLEnv
from isaaclab.managers import CurriculumTermCfg, ManagerTermBase, SceneEntityCfg

from adr_lab.core import (
    AdrCore,
    ManagerEnvIds,
    publish_log,
    resolve_env_ids,
    start_core,
    update_on_reset,
)
from adr_lab.objectives import Objective

__all__ = ["AdrCurriculumTerm", "IsaacLabBinding"]


@attrs.frozen
class IsaacLabBinding:
    """One ADR parameter applied through an Isaac Lab event function.

    Attributes:
        param: the ADR parameter.
        func: the event function, ``func(env, env_ids, asset_cfg=..., <range_arg>=(lo, hi),
            **params)``, e.g. ``mdp.randomize_rigid_body_mass`` (or an instance of
            a class-based event term).
        range_arg: the function's range argument, e.g. ``"mass_distribution_params"``.
        asset_cfg: the asset and its bodies/joints (resolved when the term is built).
        params: the function's other arguments (``operation``, ``distribution``, ...).
    """

    param: str
    func: Callable[..., Any]
    range_arg: str
    asset_cfg: SceneEntityCfg
    params: Mapping[str, Any] = attrs.field(factory=dict)


class AdrCurriculumTerm(ManagerTermBase):  # type: ignore[misc]
    """The ADR curriculum term of an Isaac Lab ``ManagerBasedRLEnv``.

    Params of its ``CurriculumTermCfg``: ``adr`` (the ``task.adr`` block),
    ``objective``, and optionally ``bindings`` and ``seed``.

    Attributes:
        core: the engine glue (``core.engine`` is the engine).
    """

    def __init__(self, cfg: CurriculumTermCfg, env: ManagerBasedRLEnv) -> None:
        super().__init__(cfg, env)
        params = cfg.params
        self.objective: Objective = params["objective"]
        device = torch.device(env.device)
        seed = int(params.get("seed", 0))
        self.core = start_core(params["adr"], env, device, seed, self.objective)
        self.bindings = [_resolved(b, env, self.core) for b in params.get("bindings", ())]
        self._apply(torch.arange(env.num_envs, device=device))

    def __call__(
        self,
        env: ManagerBasedRLEnv,
        env_ids: ManagerEnvIds,
        adr: Mapping[str, Any],
        objective: Objective,
        bindings: Sequence[IsaacLabBinding] = (),
        seed: int = 0,
    ) -> None:
        """Update the engine with the finished envs among ``env_ids``; apply their new values."""
        update_on_reset(self.core, self.objective, env, env_ids)
        self._apply(resolve_env_ids(env_ids, env.num_envs, self.core.engine.device))

    def reset(self, env_ids: ManagerEnvIds = None) -> None:
        """Publish the ``adr/...`` keys into the reset's fresh ``extras["log"]``."""
        publish_log(self._env.extras, self.core)

    def state_dict(self) -> dict[str, Any]:
        """The env-state entries of ADR (engine state, reference ranges, noise stream)."""
        return self.core.state_dict()

    def load_state_dict(self, state: Mapping[str, Any], *, shared_only: bool = False) -> None:
        """Restore :meth:`state_dict` output, then re-apply every env's values."""
        self.core.stage_state_dict(state, shared_only=shared_only)()
        self._apply(torch.arange(self.core.num_envs, device=self.core.engine.device))

    def _apply(self, env_ids: torch.Tensor) -> None:
        """Call each binding's function once per range group of ``env_ids``."""
        for b in self.bindings:
            for ids, value_range in self.core.value_groups(env_ids, b.param):
                kwargs = {**b.params, b.range_arg: value_range}
                b.func(self._env, ids, asset_cfg=b.asset_cfg, **kwargs)


def _resolved(binding: IsaacLabBinding, env: ManagerBasedRLEnv, core: AdrCore) -> IsaacLabBinding:
    """The binding with its scene entity resolved, once its parameter has proven to exist."""
    if binding.param not in core.engine.param_names:
        raise ValueError(
            f"ADR binding of {binding.range_arg!r}: no ADR parameter {binding.param!r} "
            f"(known: {', '.join(core.engine.param_names)})"
        )
    asset_cfg = copy.deepcopy(binding.asset_cfg)
    try:
        asset_cfg.resolve(env.scene)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"ADR binding of parameter {binding.param!r}: {exc}") from None
    return attrs.evolve(binding, asset_cfg=asset_cfg)
