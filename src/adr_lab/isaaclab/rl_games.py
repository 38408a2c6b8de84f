"""rl_games carrying the complete ADR state through Isaac Lab's own rl_games checkpoints.

rl_games saves ``vec_env.get_env_state()`` as the checkpoint's ``env_state``
and hands it back to ``vec_env.set_env_state`` on resume (``--checkpoint``)
and to the player's env in ``play``. Isaac Lab 3.0's ``isaaclab train
--rl_library rl_games`` registers its wrapped env as rl_games' env ``rlgpu``
through ``RlGamesGpuEnv``, which forwards neither call, so stock Isaac Lab
checkpoints hold ``env_state=None``. The env is found by the agent config's
``params.config.env_name`` in rl_games' own registries, so an agent config
naming :data:`ADR_ENV_NAME` gets an :class:`AdrRlGamesEnv` around Isaac Lab's
wrapper instead, with no change to Isaac Lab or rl_games:

* :meth:`AdrRlGamesEnv.get_env_state` returns the ADR term's state and the
  env's ``common_step_counter``, with its checksum inside
  (:data:`~adr_lab.isaaclab.env_state.ADR_CHECKSUM_KEY`). rl_games writes the
  file itself with ``torch.save``: the write is rl_games', not atomic; the
  ADR part is verified when loaded.
* :meth:`AdrRlGamesEnv.set_env_state` verifies the checksum and checks the
  whole ADR state against the env before ADR or the env change, then restores
  it. (rl_games calls it after it loaded the policy and the optimizer, so a
  refused ADR state stops a resume with the policy already loaded in memory.)
  ``adr_load_from_checkpoint: false`` keeps the init ranges; another number
  of envs (``play``) restores the shared curriculum only.
* :meth:`AdrRlGamesEnv.set_train_info`, which rl_games calls at the start of
  every epoch, runs the engine's deferred input checks once per epoch.

:func:`adr_agent_cfg` names :data:`ADR_ENV_NAME` in an agent config and
registers it; a task's ``rl_games_cfg_entry_point`` that returns its output
(see :mod:`adr_lab.isaaclab.tasks.cartpole_rl_games`) is all ``isaaclab
train`` / ``play`` need. Stock rl_games players (``env_name: rlgpu``) load
these checkpoints unchanged: Isaac Lab's wrapper ignores ``env_state``.

A distributed resume (rl_games' ``multi_gpu``) is not handled here: only rank 0
saves, and rl_games makes its process group after the env is built, so the ADR
term joins it after the first step (``AdrCurriculumTerm.join_run``), which
starts the engine afresh and drops an ADR state restored before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from isaaclab.envs import ManagerBasedRLEnv
from rl_games.common import env_configurations, vecenv

from adr_domain import Commit
from adr_infra.tree import tree_digest
from adr_lab.isaaclab.env_state import (
    ADR_CHECKSUM_KEY,
    adr_env_state,
    only_adr_term,
    stage_adr_env_state,
    verified_env_state,
)
from adr_lab.rsl_rl_checkpoint import NO_COMMIT

__all__ = [
    "ADR_ENV_NAME",
    "ISAACLAB_ENV_NAME",
    "AdrRlGamesEnv",
    "adr_agent_cfg",
    "register_adr_env",
]

ADR_ENV_NAME = "rlgpu_adr"
"""The rl_games ``env_name`` of an Isaac Lab env whose checkpoints carry its ADR state."""
ISAACLAB_ENV_NAME = "rlgpu"
"""The rl_games ``env_name`` under which Isaac Lab registers its wrapped env."""
ADR_VECENV_TYPE = "AdrIsaacRlgWrapper"
"""The rl_games vecenv type that builds an :class:`AdrRlGamesEnv`."""
SOURCE = "rl_games checkpoint"
"""How errors name the file: rl_games hands the env the loaded state, not its path
(``isaaclab train`` / ``play`` print the path just before loading)."""


class AdrRlGamesEnv:
    """Isaac Lab's rl_games env wrapper, plus the env's ADR state for rl_games' checkpoints.

    Every attribute other than the env-state calls is the wrapped one's.

    Attributes:
        env: Isaac Lab's ``RlGamesVecEnvWrapper``.
        adr_env: the Isaac Lab env underneath.
        adr: its ADR curriculum term.
    """

    def __init__(self, env: Any) -> None:
        """Wrap ``env`` (an ``RlGamesVecEnvWrapper``).

        Raises:
            ValueError: the env has no ADR curriculum term or several.
        """
        self.env = env
        self.adr_env: ManagerBasedRLEnv = env.unwrapped
        self.adr = only_adr_term(
            self.adr_env, f"rl_games env {ADR_ENV_NAME!r}", f"env_name {ISAACLAB_ENV_NAME!r}"
        )
        self._restored: Commit = NO_COMMIT

    def __getattr__(self, name: str) -> Any:
        return getattr(self.env, name)

    def step(self, actions: Any) -> Any:
        """The wrapped env's step."""
        return self.env.step(actions)

    def reset(self) -> Any:
        """The wrapped env's reset; the first after :meth:`set_env_state` keeps the restored ADR.

        rl_games' training resets every env once it has restored a checkpoint,
        which a run that never stopped does not do; so ADR's state (its update
        count, the noise stream) is put back as restored once that reset is done.
        """
        observations = self.env.reset()
        self._restored()
        self._restored = NO_COMMIT
        return observations

    def set_train_info(self, env_frames: Any, *args: Any, **kwargs: Any) -> None:
        """At the start of every training epoch: the engine's deferred input checks.

        The first call hands the checks from the engine's every-N-updates
        schedule to the epochs (a ``play`` keeps the schedule).

        Raises:
            ValueError: a bad objective value or env id reached the engine during
                the last epoch's rollout (kept out of the ADR state).
        """
        self.env.set_train_info(env_frames, *args, **kwargs)
        self.adr.core.check_every = None
        self.adr.core.check()

    def get_env_state(self) -> dict[str, Any]:
        """The env's ADR state and step counter, with their checksum (checked first).

        Raises:
            ValueError: a bad objective value or env id reached the engine since
                the last check (nothing is saved).
        """
        self.adr.core.check()
        env_state = adr_env_state(self.adr_env, self.adr)
        return {**env_state, ADR_CHECKSUM_KEY: tree_digest(env_state)}

    def set_env_state(self, env_state: Mapping[str, Any] | None) -> None:
        """Restore :meth:`get_env_state` output, checked completely first.

        Raises:
            CheckpointError: the ADR state is damaged (checksum) or does not fit
                this env; ADR and the env have not changed.
        """
        saved = dict(env_state) if isinstance(env_state, Mapping) else None
        checksum = saved.pop(ADR_CHECKSUM_KEY, None) if saved is not None else None
        verified = verified_env_state(saved, checksum, SOURCE)
        self._restored = stage_adr_env_state(self.adr_env, self.adr, verified, SOURCE)
        self._restored()


def _isaaclab_env(**kwargs: Any) -> Any:
    """The env Isaac Lab registered as :data:`ISAACLAB_ENV_NAME`.

    Raises:
        LookupError: Isaac Lab registered none (``isaaclab_rl.rl_games.register_rl_games_env``).
    """
    config = env_configurations.configurations.get(ISAACLAB_ENV_NAME)
    if config is None:
        raise LookupError(
            f"rl_games env {ADR_ENV_NAME!r} wraps the env Isaac Lab registers as "
            f"{ISAACLAB_ENV_NAME!r}, and none is registered: register the wrapped env "
            "with isaaclab_rl.rl_games.register_rl_games_env first"
        )
    return config["env_creator"](**kwargs)


def _adr_env(**kwargs: Any) -> AdrRlGamesEnv:
    """rl_games' ``env_creator`` of :data:`ADR_ENV_NAME` (players call it)."""
    return AdrRlGamesEnv(_isaaclab_env(**kwargs))


def _adr_vecenv(config_name: str, num_actors: int, **kwargs: Any) -> AdrRlGamesEnv:
    """rl_games' vecenv builder of :data:`ADR_VECENV_TYPE` (training agents call it)."""
    return _adr_env(**kwargs)


def register_adr_env() -> None:
    """Register :data:`ADR_ENV_NAME` in rl_games' env and vecenv registries (again: no change)."""
    vecenv.register(ADR_VECENV_TYPE, _adr_vecenv)
    env_configurations.register(
        ADR_ENV_NAME, {"vecenv_type": ADR_VECENV_TYPE, "env_creator": _adr_env}
    )


def adr_agent_cfg(agent_cfg: dict[str, Any]) -> dict[str, Any]:
    """``agent_cfg`` (an rl_games agent config) with its env named :data:`ADR_ENV_NAME`, registered.

    Returns:
        ``agent_cfg``, changed in place.
    """
    register_adr_env()
    agent_cfg["params"]["config"]["env_name"] = ADR_ENV_NAME
    return agent_cfg
