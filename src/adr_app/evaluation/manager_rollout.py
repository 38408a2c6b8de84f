"""The rollout of manager-based ADR tasks (mjlab, Isaac Lab) that needs neither framework.

A framework's rollout (:mod:`~adr_app.evaluation.lab_rollout` for mjlab,
:mod:`~adr_app.evaluation.isaaclab_rollout` for Isaac Lab) builds the task's
env with ``C x E`` envs (``C`` cells, ``E`` episodes each), its ADR term
frozen and seeded, and loads the policy with rsl_rl's runner
(:func:`inference_policy`); then :func:`play_pinned` does the rest the same
way for both: it wraps the term's objective (:class:`FirstEpisodes`), pins
every env's value of every parameter through the term's engine
(:meth:`~adr_domain.ADREngine.pin`), resets the env once with the seed (the
term writes the pinned values into the simulator, the reset events draw the
initial states) and plays deterministically until every env has finished its
first episode. :class:`ManagerEvaluation` runs one such rollout per policy.

Common random numbers: the env seed (initial states, reset events), the ADR
term's seed (its noise stream) and the env values' uniforms are functions of
``seed`` alone, the same for every policy.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs
import torch

from adr_app.evaluation.evaluate import Evaluation, Hook, Progress, check_policies, play_all
from adr_app.evaluation.lab_policy import LabPolicy
from adr_app.evaluation.rollout import RolloutResult
from adr_domain import ADRConfig, ADREngine
from adr_domain.eval_cells import Cell, Range, draw_env_values
from adr_lab.objectives import ManagerEnv, Objective

__all__ = [
    "AdrTermLike",
    "FirstEpisodes",
    "LoadedActor",
    "ManagerEvaluation",
    "PlayCells",
    "RslRlEnv",
    "inference_policy",
    "play_pinned",
]

StepHook = Callable[[Any, int, torch.Tensor], None]
"""Called after the pinned reset and before every step with the (unwrapped) env, the
step and the ``(N,)`` bool envs still in their first episode."""


class PlayCells(Protocol):
    """A framework's rollout of one policy on resolved cells (e.g.
    :func:`~adr_app.evaluation.lab_rollout.play_lab_cells`)."""

    def __call__(
        self,
        policy: LabPolicy,
        cells: Sequence[Mapping[str, Range]],
        episodes: int,
        *,
        seed: int,
        episode_length_s: float | None,
        hook: StepHook | None,
    ) -> RolloutResult:
        """Play ``policy`` on every cell of its task, ``episodes`` envs per cell, in one rollout.

        Args:
            policy: the policy (:func:`~adr_app.evaluation.lab_policy.load_lab_policy`).
            cells: resolved cells, ``{name: (lo, hi)}`` for every parameter.
            episodes: ``E``, envs (episodes) per cell.
            seed: the env's, the ADR term's and the env values' seed.
            episode_length_s: episodes of this length instead of the task's.
            hook: see :data:`StepHook`.
        """
        ...


class AdrTermLike(Protocol):
    """What the rollout uses of a framework's ADR curriculum term."""

    objective: Objective

    @property
    def engine(self) -> ADREngine: ...


class RslRlEnv(Protocol):
    """What the rollout uses of a framework's rsl_rl ``VecEnv`` wrapper."""

    @property
    def unwrapped(self) -> Any: ...
    def get_observations(self) -> Any: ...
    def step(self, actions: torch.Tensor) -> tuple[Any, torch.Tensor, torch.Tensor, Any]: ...


@attrs.define(eq=False)
class FirstEpisodes:
    """The ADR term's objective, keeping each env's score of its first finished episode.

    Attributes:
        objective: the task's objective (what the term scores episodes with).
        value: ``(N,)`` float64 each env's first score (0 until then).
        done: ``(N,)`` bool envs whose first episode has been scored.
    """

    objective: Objective
    value: torch.Tensor
    done: torch.Tensor

    @classmethod
    def wrapping(cls, objective: Objective, num_envs: int) -> FirstEpisodes:
        """A recorder of ``num_envs`` envs around ``objective``."""
        return cls(
            objective,
            torch.zeros(num_envs, dtype=torch.float64),
            torch.zeros(num_envs, dtype=torch.bool),
        )

    def __call__(self, env: ManagerEnv, env_ids: torch.Tensor) -> torch.Tensor:
        """Score ``env_ids`` with the objective; keep the scores of first episodes."""
        scores = self.objective(env, env_ids)
        ids = env_ids.cpu()
        first = ~self.done[ids]
        if isinstance(scores, torch.Tensor) and scores.shape == env_ids.shape:
            self.value[ids[first]] = scores.detach().cpu().double()[first]
            self.done[ids[first]] = True
        return scores


@attrs.frozen(eq=False)
class LoadedActor:
    """A checkpoint's actor, deterministic.

    Attributes:
        act: rsl_rl's inference policy (observations -> ``(N, A)`` actions).
        groups: the observation groups the actor reads (rsl_rl's ``obs_groups["actor"]``).
    """

    act: Callable[[Any], torch.Tensor]
    groups: tuple[str, ...]

    def observation(self, obs: Any) -> torch.Tensor:
        """``(N, D)`` float32 what the actor reads of ``obs``, on the CPU."""
        return torch.cat([obs[g].detach().cpu() for g in self.groups], dim=-1)


def inference_policy(make_runner: Callable[[], Any], policy: LabPolicy, device: str) -> LoadedActor:
    """The deterministic actor of ``policy``'s checkpoint, loaded (actor only) into the rsl_rl
    runner ``make_runner`` builds for the task's env."""
    with contextlib.redirect_stdout(io.StringIO()):  # rsl_rl prints the networks
        runner = make_runner()
        runner.load(str(policy.path), load_cfg={"actor": True}, map_location=device)
    groups = tuple(runner.cfg["obs_groups"]["actor"])
    return LoadedActor(runner.get_inference_policy(device), groups)


def _pin(engine: ADREngine, values: Mapping[str, torch.Tensor]) -> None:
    for name, v in values.items():
        if name not in engine.tensor_param_names:
            raise ValueError(f"ADR parameter {name!r} has a range_path: it cannot be pinned")
        engine.pin(name, v.to(engine.device))


@attrs.define
class _Episodes:
    """Per-env sums of the first episode as the rollout goes."""

    running: torch.Tensor
    returns: torch.Tensor
    length: torch.Tensor

    @classmethod
    def start(cls, n: int) -> _Episodes:
        return cls(
            torch.ones(n, dtype=torch.bool),
            torch.zeros(n, dtype=torch.float64),
            torch.zeros(n, dtype=torch.long),
        )

    def add(self, reward: torch.Tensor, done: torch.Tensor) -> None:
        self.returns += torch.where(self.running, reward.detach().cpu().double(), 0.0)
        self.length += self.running.long()
        self.running &= ~done.cpu().bool()


def _play(
    wrapper: RslRlEnv, actor: LoadedActor, recorder: FirstEpisodes, hook: StepHook | None
) -> tuple[_Episodes, torch.Tensor, int]:
    env = wrapper.unwrapped
    obs = wrapper.get_observations()
    initial = actor.observation(obs)
    episodes = _Episodes.start(env.num_envs)
    steps, limit = 0, int(env.max_episode_length) + 1
    while bool(episodes.running.any()) and steps < limit:
        if hook is not None:
            hook(env, steps, episodes.running)
        with torch.no_grad():
            actions = actor.act(obs)
        obs, reward, done, _ = wrapper.step(actions)
        steps += 1
        episodes.add(reward, done)
    missing = ~recorder.done & ~episodes.running
    if bool(episodes.running.any()) or bool(missing.any()):
        raise RuntimeError(f"{int((~recorder.done).sum())} envs ended no scored first episode")
    return episodes, initial, steps


def play_pinned(
    wrapper: RslRlEnv,
    actor: LoadedActor,
    term: AdrTermLike,
    cells: Sequence[Mapping[str, Range]],
    episodes: int,
    cfg: ADRConfig,
    *,
    seed: int,
    hook: StepHook | None = None,
) -> RolloutResult:
    """Pin every env to its cell, reset once with ``seed``, play every env's first episode.

    Args:
        wrapper: the built env of ``len(cells) * episodes`` envs in rsl_rl's wrapper.
        actor: the policy (:func:`inference_policy`).
        term: the env's frozen ADR curriculum term.
        cells: resolved cells, ``{name: (lo, hi)}`` for every parameter.
        episodes: ``E``, envs (episodes) per cell; env ``i`` is in cell ``i // E``.
        cfg: the task's ADR config.
        seed: the reset's and the env values' seed.
        hook: see :data:`StepHook`.
    """
    n = len(cells) * episodes
    recorder = FirstEpisodes.wrapping(term.objective, n)
    term.objective = recorder
    generator = torch.Generator().manual_seed(seed)
    _pin(term.engine, draw_env_values(cells, episodes, cfg, generator))
    wrapper.unwrapped.reset(seed=seed)
    sums, initial, steps = _play(wrapper, actor, recorder, hook)
    return RolloutResult(recorder.value, sums.returns, sums.length, initial, steps)


@attrs.frozen
class ManagerEvaluation:
    """``adr-eval``'s Python API for one framework's ADR tasks: one ``play_cells`` rollout
    per policy, scored with the task's ADR objective (``objective_of(task)``, its repr
    naming it in tables and plots)."""

    play_cells: PlayCells
    objective_of: Callable[[str], object]

    def __call__(
        self,
        policies: Sequence[LabPolicy],
        cells: Sequence[Cell],
        *,
        episodes: int,
        seed: int,
        success_level: float | None = None,
        episode_length_s: float | None = None,
        progress: Progress | None = None,
        hook: StepHook | None = None,
    ) -> Evaluation:
        """Play every policy on every cell, ``episodes`` episodes each.

        The counterpart of :func:`~adr_app.evaluation.evaluate.evaluate`: the
        success level defaults to the task's ``adr_objective_threshold_high``;
        ``hook`` sees every rollout's env before every step.

        Raises:
            ValueError: ``episodes < 1``, or the policies do not fit together.
        """
        if episodes < 1:
            raise ValueError(f"episodes: must be >= 1, got {episodes}")
        check_policies(policies)

        def play(
            policy: LabPolicy, resolved: list[dict[str, Range]], report: Hook
        ) -> RolloutResult:
            def step_hook(env: Any, step: int, running: torch.Tensor) -> None:
                report(step, running)
                if hook is not None:
                    hook(env, step, running)

            return self.play_cells(
                policy,
                resolved,
                episodes,
                seed=seed,
                episode_length_s=episode_length_s,
                hook=step_hook,
            )

        results = play_all(policies, cells, play, progress)
        cfg = policies[0].adr_config
        level = cfg.adr_objective_threshold_high if success_level is None else success_level
        name = repr(self.objective_of(policies[0].task_name))
        return Evaluation(
            tuple(policies), tuple(cells), episodes, seed, float(level), results, name
        )
