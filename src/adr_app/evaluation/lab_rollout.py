"""One vectorized rollout of an mjlab policy over every cell of a test set.

The task's env is built with ``C x E`` envs (``C`` cells, ``E`` episodes
each) and its ADR term frozen (``update_adr_ranges: false``). Every env's
value of every parameter is pinned through the term's engine
(:meth:`~adr_domain.ADREngine.pin`) before one seeded reset, at which the
term's model-field event writes the pinned values into the MuJoCo Warp model
(``env.sim.model``) and the reset events draw the initial states. The rsl_rl
policy, loaded from the checkpoint with mjlab's own runner, then acts
deterministically until every env has finished its first episode; the
episode's score is the task's ADR objective, taken as the ADR term scores it
(:class:`FirstEpisodes`).

Common random numbers: the env seed (initial states, reset events), the ADR
term's seed (its noise stream: action and observation noise) and the env
values' uniforms are functions of ``seed`` alone, the same for every policy.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

import attrs
import torch
from mjlab.envs import ManagerBasedRlEnv, ManagerBasedRlEnvCfg
from mjlab.rl import MjlabOnPolicyRunner, RslRlVecEnvWrapper
from mjlab.tasks.registry import load_env_cfg, load_rl_cfg

from adr_app.evaluation.evaluate import Evaluation, Hook, Progress, check_policies, play_all
from adr_app.evaluation.lab_policy import LabPolicy, task_spec
from adr_app.evaluation.rollout import RolloutResult
from adr_domain.eval_cells import Cell, Range, draw_env_values
from adr_lab.mjlab import AdrCurriculum, AdrSpec
from adr_lab.mjlab.terms import adr_terms
from adr_lab.objectives import ManagerEnv, Objective

__all__ = ["FirstEpisodes", "LabStepHook", "evaluate_lab", "lab_env_cfg", "play_lab_cells"]

LabStepHook = Callable[[ManagerBasedRlEnv, int, torch.Tensor], None]
"""Called after the pinned reset and before every step with the env, the step and the
``(N,)`` bool envs still in their first episode (for progress, and for tests to read
the model)."""


def _frozen(spec: AdrSpec, seed: int) -> AdrSpec:
    adr = {**spec.adr.model_dump(mode="json"), "update_adr_ranges": False}
    return attrs.evolve(spec, adr=adr, seed=seed)


def lab_env_cfg(
    task: str, num_envs: int, seed: int, episode_length_s: float | None = None
) -> ManagerBasedRlEnvCfg:
    """The task's (training) env config for an evaluation: ``num_envs`` envs, seeded,
    every ADR term frozen and seeded with ``seed``; optionally shorter episodes."""
    cfg = load_env_cfg(task)
    cfg.scene.num_envs = num_envs
    cfg.seed = seed
    if episode_length_s is not None:
        cfg.episode_length_s = episode_length_s
    for terms in (cfg.curriculum, cfg.events):
        for term in terms.values():
            params = getattr(term, "params", None)
            if isinstance(params, dict) and isinstance(params.get("spec"), AdrSpec):
                params["spec"] = _frozen(params["spec"], seed)
    return cfg


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


def _one_term(env: ManagerBasedRlEnv) -> AdrCurriculum:
    terms = list(adr_terms(env).values())
    if len(terms) != 1:
        raise ValueError(f"the task's env has {len(terms)} ADR curriculum terms; need one")
    return terms[0]


def _pin(term: AdrCurriculum, values: Mapping[str, torch.Tensor]) -> None:
    engine = term.engine
    for name, v in values.items():
        if name not in engine.tensor_param_names:
            raise ValueError(f"ADR parameter {name!r} has a range_path: it cannot be pinned")
        engine.pin(name, v.to(engine.device))


def _policy(policy: LabPolicy, env: RslRlVecEnvWrapper, device: str) -> Any:
    """mjlab's runner of the task with the checkpoint's actor loaded; its inference policy."""
    cfg = asdict(load_rl_cfg(policy.task_name))
    with contextlib.redirect_stdout(io.StringIO()):  # rsl_rl prints the networks
        runner = MjlabOnPolicyRunner(env, cfg, log_dir=None, device=device)
        runner.load(str(policy.path), load_cfg={"actor": True}, map_location=device)
    return runner.get_inference_policy(device)


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
    wrapper: RslRlVecEnvWrapper, act: Any, recorder: FirstEpisodes, hook: LabStepHook | None
) -> tuple[_Episodes, torch.Tensor, int]:
    env = wrapper.unwrapped
    obs = wrapper.get_observations()
    initial = obs["actor"].detach().cpu().clone()
    episodes = _Episodes.start(env.num_envs)
    steps, limit = 0, int(env.max_episode_length) + 1
    while bool(episodes.running.any()) and steps < limit:
        if hook is not None:
            hook(env, steps, episodes.running)
        with torch.no_grad():
            actions = act(obs)
        obs, reward, done, _ = wrapper.step(actions)
        steps += 1
        episodes.add(reward, done)
    missing = ~recorder.done & ~episodes.running
    if bool(episodes.running.any()) or bool(missing.any()):
        raise RuntimeError(f"{int((~recorder.done).sum())} envs ended no scored first episode")
    return episodes, initial, steps


def play_lab_cells(
    policy: LabPolicy,
    cells: Sequence[Mapping[str, Range]],
    episodes: int,
    *,
    seed: int,
    episode_length_s: float | None = None,
    hook: LabStepHook | None = None,
    device: str = "cpu",
) -> RolloutResult:
    """Play ``policy`` on every cell of its task, ``episodes`` envs per cell, in one rollout.

    Args:
        policy: the policy (:func:`~adr_app.evaluation.lab_policy.load_lab_policy`).
        cells: resolved cells, ``{name: (lo, hi)}`` for every parameter.
        episodes: ``E``, envs (episodes) per cell.
        seed: the env's, the ADR term's and the env values' seed.
        episode_length_s: episodes of this length instead of the task's.
        hook: see :data:`LabStepHook`.
        device: where env and policy run.
    """
    n = len(cells) * episodes
    cfg = lab_env_cfg(policy.task_name, n, seed, episode_length_s)
    env = ManagerBasedRlEnv(cfg, device=device)
    try:
        wrapper = RslRlVecEnvWrapper(env)
        act = _policy(policy, wrapper, device)
        term = _one_term(env)
        recorder = FirstEpisodes.wrapping(term.objective, n)
        term.objective = recorder
        generator = torch.Generator().manual_seed(seed)
        _pin(term, draw_env_values(cells, episodes, policy.adr_config, generator))
        env.reset(seed=seed)
        sums, initial, steps = _play(wrapper, act, recorder, hook)
    finally:
        env.close()
    return RolloutResult(recorder.value, sums.returns, sums.length, initial, steps)


def evaluate_lab(
    policies: Sequence[LabPolicy],
    cells: Sequence[Cell],
    *,
    episodes: int,
    seed: int,
    success_level: float | None = None,
    episode_length_s: float | None = None,
    progress: Progress | None = None,
    hook: LabStepHook | None = None,
) -> Evaluation:
    """Play every mjlab policy on every cell, ``episodes`` episodes each.

    The mjlab counterpart of :func:`~adr_app.evaluation.evaluate.evaluate`:
    the objective is the task's ADR objective; ``hook`` sees every rollout's env.

    Raises:
        ValueError: ``episodes < 1``, or the policies do not fit together.
    """
    if episodes < 1:
        raise ValueError(f"episodes: must be >= 1, got {episodes}")
    check_policies(policies)

    def play(policy: LabPolicy, resolved: list[dict[str, Range]], report: Hook) -> RolloutResult:
        def step_hook(env: ManagerBasedRlEnv, step: int, running: torch.Tensor) -> None:
            report(step, running)
            if hook is not None:
                hook(env, step, running)

        return play_lab_cells(
            policy, resolved, episodes, seed=seed, episode_length_s=episode_length_s, hook=step_hook
        )

    results = play_all(policies, cells, play, progress)
    cfg = policies[0].adr_config
    level = cfg.adr_objective_threshold_high if success_level is None else success_level
    name = repr(task_spec(policies[0].task_name).objective)
    return Evaluation(tuple(policies), tuple(cells), episodes, seed, float(level), results, name)
