"""ADR for mjlab: manager terms, model-field bindings, the rsl_rl runner.

.. code-block:: python

    from adr_lab.mjlab import AdrSpec, FieldBinding, attach_adr
    from adr_lab import RewardSum

    attach_adr(env_cfg, AdrSpec(adr=adr_block, objective=RewardSum("upright"),
        bindings=[FieldBinding("pole_mass", "body_mass", SceneEntityCfg("cartpole",
            body_names=("pole_1",)))]))
"""

from adr_lab.mjlab.fields import DR_FUNCTIONS, FieldBinding, actuator_gear
from adr_lab.mjlab.terms import (
    AdrCurriculum,
    AdrModelFields,
    AdrSpec,
    AdrStepSync,
    adr_engine,
    adr_term,
    attach_adr,
)

__all__ = [
    "DR_FUNCTIONS",
    "AdrCurriculum",
    "AdrModelFields",
    "AdrSpec",
    "AdrStepSync",
    "FieldBinding",
    "actuator_gear",
    "adr_engine",
    "adr_term",
    "attach_adr",
]
