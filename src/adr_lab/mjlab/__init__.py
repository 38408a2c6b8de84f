"""ADR for mjlab: manager terms, model-field bindings, the rsl_rl runner.

.. code-block:: python

    from adr_lab.mjlab import AdrSpec, FieldBinding, attach_adr
    from adr_lab import RewardSum

    attach_adr(env_cfg, AdrSpec(adr=adr_block, objective=RewardSum("upright"),
        bindings=[FieldBinding("pole_mass", "body_mass", SceneEntityCfg("cartpole",
            body_names=("pole_1",)))]))

mjlab is imported before any module of this package: importing mjlab loads
the packages of its ``mjlab.tasks`` entry point, ours among them
(:mod:`adr_lab.tasks`), which import this package's modules. Were mjlab first
imported from inside one of them (``adr_lab.mjlab.fields``), that module
would be half-initialized when the tasks need it, and the ADR tasks would be
missing from mjlab's registry.
"""

import mjlab  # noqa: F401  (first: see above)

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
