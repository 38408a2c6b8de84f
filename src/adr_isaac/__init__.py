"""Isaac Gym adapter: IsaacGymEnvs' ``ADRVecTask`` API over the ADR engine.

``adr_isaac.compat`` needs no simulator. The Isaac Gym task base lives in a
module of its own and imports ``isaacgym`` only when used.
"""
