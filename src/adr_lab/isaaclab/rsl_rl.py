"""rsl_rl's PPO that brings the complete ADR state into Isaac Lab's own rsl_rl runs.

Isaac Lab 3.0 builds only rsl_rl's stock ``OnPolicyRunner`` (its
``create_rsl_rl_runner`` accepts no runner subclass), but that runner
resolves the *algorithm* from ``algorithm.class_name`` (a ``"module:Class"``
string works) and builds it in its ``__init__``. So an agent config with
``algorithm.class_name = "adr_lab.isaaclab.rsl_rl:AdrPPO"`` (:data:`ADR_PPO`)
makes ``isaaclab train`` / ``play`` save, restore and preempt ADR runs with
no change to Isaac Lab: :meth:`AdrPPO.construct_algorithm` binds the env's
one ADR term and hands the runner building it the ``save``, ``load`` and
``learn`` of :mod:`adr_lab.isaaclab.runner` (atomic checkpoints with the ADR
state and a checksum; exact restore; ADR's check once per iteration; SIGTERM,
SIGINT, SIGUSR1 save the iteration reached and exit 75).

The stock runner with the stock ``PPO`` loads these files unchanged (it
ignores the ``env_state`` and ``adr_kit`` entries).
"""

from __future__ import annotations

from typing import Any

from rsl_rl.algorithms import PPO

from adr_lab.isaaclab.env_state import only_adr_term
from adr_lab.isaaclab.runner import AdrRunnerParts, adopt_runner, building_runner
from adr_lab.isaaclab.term import AdrCurriculumTerm

__all__ = ["ADR_PPO", "AdrPPO"]

ADR_PPO = "adr_lab.isaaclab.rsl_rl:AdrPPO"
"""The ``algorithm.class_name`` that names :class:`AdrPPO` in an rsl_rl agent config."""


class AdrPPO(PPO):  # type: ignore[misc]
    """rsl_rl's PPO whose runner saves, restores and preempts the env's ADR state (module doc).

    Built by rsl_rl's ``OnPolicyRunner`` through :meth:`construct_algorithm`
    (name it with ``algorithm.class_name =`` :data:`ADR_PPO`); its updates are PPO's.

    Attributes:
        adr: the env's ADR curriculum term (None until built by a runner).
        runner_parts: what the runner building it was given.
    """

    adr: AdrCurriculumTerm | None = None
    runner_parts: AdrRunnerParts | None = None

    @staticmethod
    def construct_algorithm(obs: Any, env: Any, cfg: dict[str, Any], device: str) -> AdrPPO:
        """PPO's construction, bound to the ADR term of ``env`` (an rsl_rl ``VecEnv``),
        from the ``__init__`` of the ``OnPolicyRunner`` it then adopts.

        Raises:
            ValueError: the env has no ADR curriculum term or several (before
                any model is built).
            TypeError: not called by an ``OnPolicyRunner``'s ``__init__``, or
                ``cfg["algorithm"]["class_name"]`` names no :class:`AdrPPO`.
        """
        runner = building_runner()
        if runner is None:
            raise TypeError(
                f"AdrPPO ({ADR_PPO}) is built by rsl_rl's OnPolicyRunner, which it gives "
                "ADR's save, load and learn; build the runner with this agent config"
            )
        unwrapped = env.unwrapped
        term = only_adr_term(unwrapped, f"AdrPPO ({ADR_PPO})", "algorithm.class_name 'PPO'")
        alg = PPO.construct_algorithm(obs, env, cfg, device)
        if not isinstance(alg, AdrPPO):
            raise TypeError(
                f"algorithm.class_name {cfg['algorithm'].get('class_name')!r} built a "
                f"{type(alg).__name__}, not an AdrPPO: name {ADR_PPO!r}"
            )
        alg.adr = term
        alg.runner_parts = adopt_runner(runner, unwrapped, term)
        term.join_run()  # under torchrun: the group the runner has just made
        return alg
