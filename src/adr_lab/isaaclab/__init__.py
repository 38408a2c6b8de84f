"""ADR for Isaac Lab 3.0: the curriculum term and event bindings (run on Newton, kit-less).

.. code-block:: python

    from isaaclab.envs import mdp
    from isaaclab.managers import EventTermCfg, SceneEntityCfg
    from adr_lab import Survived
    from adr_lab.isaaclab import AdrSpec, EventBinding, attach_adr

    pole_mass = EventTermCfg(func=mdp.randomize_rigid_body_mass, mode="reset", params={
        "asset_cfg": SceneEntityCfg("robot", body_names=["pole"]),
        "mass_distribution_params": (1.0, 1.0), "operation": "scale"})
    attach_adr(env_cfg, AdrSpec(adr=adr_block, objective=Survived(),
        bindings=[EventBinding("pole_mass", pole_mass, "mass_distribution_params")]))

* :mod:`adr_lab.isaaclab.term` — :class:`AdrCurriculumTerm`, :func:`adr_value`.
* :mod:`adr_lab.isaaclab.bindings` — :class:`EventBinding`: engine values
  through Isaac Lab's own event terms (mass, inertia, joint parameters,
  actuator gains, any term whose range reaches ``sample_uniform``).
* :mod:`adr_lab.isaaclab.terms` — per-env COM, shape friction and gravity on
  Newton, for the Isaac Lab terms that cannot take one value per env.
* :mod:`adr_lab.isaaclab.consumers` — ``adr_push``: pushes whose strength is
  an ADR parameter no binding writes.
* :mod:`adr_lab.isaaclab.tasks` — ``Isaac-Cartpole-Adr`` and
  ``Isaac-Velocity-Flat-Anymal-C-Adr``, registered through Isaac Lab's
  ``isaaclab.tasks`` entry point.
* :mod:`adr_lab.isaaclab.rsl_rl` — ``AdrPPO``: rsl_rl's PPO that carries the
  ADR state through Isaac Lab's own rsl_rl checkpoints (imported by name from
  the agent config, not from here).
* :mod:`adr_lab.isaaclab.rl_games` — the rl_games env ``rlgpu_adr``, which
  carries the ADR state through Isaac Lab's own rl_games checkpoints (named
  by the agent config's ``env_name``; imports rl_games).
* :mod:`adr_lab.isaaclab.env_state` — what both save of the env, its
  checksum, and the checked restore.
"""

from adr_lab.isaaclab.bindings import EventBinding
from adr_lab.isaaclab.term import (
    AdrCurriculumTerm,
    AdrSpec,
    adr_term,
    adr_term_cfgs,
    adr_value,
    attach_adr,
    find_adr_term,
    freeze_adr,
)

__all__ = [
    "AdrCurriculumTerm",
    "AdrSpec",
    "EventBinding",
    "adr_term",
    "adr_term_cfgs",
    "adr_value",
    "attach_adr",
    "find_adr_term",
    "freeze_adr",
]
