"""The embedded default task: vectorized cube reorientation in pure torch.

A DeXtreme-like analogue that runs fast on a CPU: each of ``N`` envs holds a
rigid cube (isotropic inertia) driven by 3-D torques towards random goal
orientations. Reaching the goal (rotation distance below a tolerance) counts
a success and draws a new goal; an episode ends at its timeout or after too
many steps without success. The ADR objective is the number of consecutive
successes of the episode that just ended.

Realism comes from 14 ADR tensor parameters in the DeXtreme taxonomy, read
per env from an :class:`~adr_domain.ADREngine` (see :data:`REORIENT_ADR_PARAMS`).

One step, in order:

1. Actions ``a`` ``(N, 3)`` (clipped to ``[-1, 1]``) enter a per-env latency
   queue; the command is the action of ``action_latency`` steps ago.
2. With probability ``action_delay_prob`` the command is dropped and the
   previous command is kept (the actuator missed an update).
3. Affine action noise: ``s * cmd + b + w``; ``s = 1 + N(0, affine_action_scaling)``
   and ``b ~ N(0, affine_action_additive)`` per episode, ``w ~ N(0,
   affine_action_white)`` per step (ADR sets the standard deviations).
4. Action moving average ``u = alpha * noisy + (1 - alpha) * u_prev``,
   clipped to ``[-1, 1]``; ``alpha`` anneals over steps (task-level state).
5. Torque ``actuator_effort * max_torque * u``; angular velocity integrates
   exactly under damping ``object_damping`` and inertia
   ``base_inertia * object_mass * object_inertia``; the orientation follows.
6. Success, reward and termination; finished envs report their consecutive
   successes to ``engine.update`` (which resamples their ADR values), then
   start a new episode with fresh per-episode noise.
7. Observation: the cube pose is refreshed every ``cube_pose_refresh_rate``
   steps (random phase per episode), with affine noise like the actions'; with
   probability ``cube_obs_delay_prob`` the previous observed pose is kept.

Observation ``(N, 21)``: observed pose quaternion (4), goal (4), rotation from
the observed pose to the goal (4, ``w >= 0``), angular velocity times
``velObsScale`` (3), last policy action (3), last applied command ``u`` (3).
Quaternions are ``(x, y, z, w)``; the angular velocity is in the world frame.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

import attrs
import torch

from adr_app.tasks.adr_params import REORIENT_ADR_PARAMS, checked_adr_config
from adr_app.tasks.config import ReorientConfig
from adr_app.tasks.quat import canonical, quat_conjugate, quat_mul, random_quat, rotation_distance
from adr_app.tasks.reorient_physics import checked_actions, reorient_reward, spin
from adr_app.tasks.reorient_state import (
    NUM_ACTIONS,
    OBS_DIM,
    ReorientStateful,
    allocate_task_buffers,
)
from adr_domain import (
    ADREngine,
    BoundaryExchange,
    UpdateReport,
    is_int,
)

__all__ = ["ReorientTask", "StepResult"]

logger = logging.getLogger(__name__)


@attrs.frozen(eq=False)
class StepResult:
    """What one :meth:`ReorientTask.step` produced (``N`` envs; tensors on the task's device).

    Attributes:
        obs: ``(N, 21)`` float32 observations (a copy; finished envs already
            show their next episode).
        reward: ``(N,)`` float32.
        done: ``(N,)`` bool, episodes that ended in this step.
        time_out: ``(N,)`` bool, episodes that ended by timeout only (the
            learner may bootstrap their value).
        episode_successes: ``(N,)`` float32 consecutive successes of each env
            at the end of the step, before any reset (for done envs: the count
            of the episode that just ended, which ADR received).
        num_finished: number of envs that finished.
        adr_report: what the engine's update did, or None when it was not
            updated (no env finished, and no distributed exchange).
    """

    obs: torch.Tensor
    reward: torch.Tensor
    done: torch.Tensor
    time_out: torch.Tensor
    episode_successes: torch.Tensor
    num_finished: int
    adr_report: UpdateReport | None


class ReorientTask(ReorientStateful):
    """``num_envs`` cubes reoriented by torque, randomized by ADR.

    Args:
        cfg: the task config (validated :class:`ReorientConfig` or a mapping
            with ``env`` and ``task.adr``).
        num_envs: number of envs; default ``cfg.env.num_envs``.
        device: device of every tensor.
        seed: seeds the task's own generator (and the ADR engine's streams
            unless ``adr_seed`` is given); the global torch RNG is never used.
        adr_seed: seed of the ADR engine; default ``seed``. In a distributed
            run every rank passes the same ``adr_seed`` and its own ``seed``.
        adr_exchange: the collective through which the ADR engines of a
            distributed run share boundary results (see
            :class:`~adr_domain.BoundaryExchange`); None for one process. With
            an exchange the engine is updated at every step, finished envs or
            not, so that every rank takes part in every collective.

    Raises:
        ConfigError: an invalid config, or an ADR parameter set other than
            :data:`REORIENT_ADR_PARAMS` (the message names the problem).

    Attributes:
        cfg: the config.
        adr: the ADR engine (read per-env values with ``adr.get(name)``).
        num_envs: ``N``.
        device: the device.
        frame: steps taken.
        action_moving_average: the current moving-average weight ``alpha``.
        consecutive_successes: moving average of finished episodes'
            consecutive successes (IsaacGymEnvs' ``consecutive_successes``).
    """

    num_actions: Final = NUM_ACTIONS
    obs_dim: Final = OBS_DIM

    def __init__(
        self,
        cfg: ReorientConfig | Mapping[str, Any],
        *,
        num_envs: int | None = None,
        device: torch.device | str = "cpu",
        seed: int = 0,
        adr_seed: int | None = None,
        adr_exchange: BoundaryExchange | None = None,
    ) -> None:
        self.cfg = ReorientConfig.from_mapping(cfg)
        env = self.cfg.env
        n = env.num_envs if num_envs is None else num_envs
        if not is_int(n) or n <= 0:
            raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
        adr_seed = seed if adr_seed is None else adr_seed
        for name, value in (("seed", seed), ("adr_seed", adr_seed)):
            if not is_int(value):
                raise ValueError(f"{name} must be an int, got {value!r}")
        adr_cfg = checked_adr_config(self.cfg.adr)
        self.num_envs = n
        self.device = dev = torch.device(device)
        self.adr = ADREngine(
            adr_cfg,
            n,
            device=dev,
            seed=adr_seed,
            exchange=adr_exchange,
        )
        self._update_every_step = adr_exchange is not None
        self._gen = torch.Generator(device=dev)
        # A stream of its own, seeded apart from the engine's streams.
        self._gen.manual_seed((int(seed) * 7919 + 104729) % (2**63))
        self._queue_size = int(adr_cfg.params["action_latency"].limits[1] or 0) + 1

        self.frame = 0
        self._queue_head = 0
        self.action_moving_average = self.cfg.env.actions_moving_average.alpha_at(0)
        self.consecutive_successes = 0.0
        self._arange = torch.arange(n, device=dev)
        self._buffers = b = allocate_task_buffers(n, self._queue_size, dev)
        self.rot, self.ang_vel, self.goal_rot = b["rot"], b["ang_vel"], b["goal_rot"]
        self.progress, self.successes = b["progress"], b["successes"]
        self.steps_without_success = b["steps_without_success"]
        self.action_queue, self.prev_command = b["action_queue"], b["prev_command"]
        self.applied_action, self.last_action = b["applied_action"], b["last_action"]
        self.action_scaling, self.action_additive = b["action_scaling"], b["action_additive"]
        self.pose_scaling, self.pose_additive = b["pose_scaling"], b["pose_additive"]
        self.pose_refresh_offset = b["pose_refresh_offset"]
        self.pose_refreshed, self.pose_observed = b["pose_refreshed"], b["pose_observed"]
        self.obs_buf = b["obs"]
        self.reset()

    # ------------------------------------------------------------------ API

    def __repr__(self) -> str:
        return (
            f"ReorientTask(num_envs={self.num_envs}, device={self.device}, "
            f"frame={self.frame}, adr_params={len(REORIENT_ADR_PARAMS)})"
        )

    def reset(self) -> torch.Tensor:
        """Start a new episode in every env (no ADR update: nothing finished).

        Per-env ADR values stay as the engine holds them. With
        ``staggerInitialProgress`` each env starts at a random step of its
        episode. The step counter and the moving average are unchanged.

        Returns:
            ``(N, 21)`` float32 observations (a copy).
        """
        all_envs = self._arange
        self._reset_envs(all_envs, stagger=self.cfg.env.stagger_initial_progress)
        self._observe(torch.ones(self.num_envs, dtype=torch.bool, device=self.device))
        return self.obs_buf.clone()

    def observations(self) -> torch.Tensor:
        """``(N, 21)`` float32 the current observations (a copy), without stepping."""
        return self.obs_buf.clone()

    def step(self, actions: torch.Tensor) -> StepResult:
        """Advance every env by one step; finished envs report to ADR and restart.

        Args:
            actions: ``(N, 3)`` floating torques in ``[-1, 1]`` (clipped).

        Returns:
            The step's observations, rewards, terminations and ADR report.

        Raises:
            ValueError: naming ``actions`` when it is not a floating ``(N, 3)``
                tensor. Nothing changes then.
        """
        a = checked_actions(actions, self.num_envs, self.device)
        env = self.cfg.env
        self.action_moving_average = env.actions_moving_average.alpha_at(self.frame)
        applied = self._actuate(a)
        spin(self.rot, self.ang_vel, applied, self.adr, env)

        # Success, reward, termination.
        self.frame += 1
        self.progress.add_(1)
        dist = rotation_distance(self.rot, self.goal_rot)
        success = dist <= env.success_tolerance
        self.successes.add_(success)
        self.steps_without_success.add_(1).masked_fill_(success, 0)
        timed_out = self.progress >= env.episode_length
        failed = self.steps_without_success >= env.max_steps_without_success
        done = timed_out | failed
        reward = reorient_reward(env, dist, success, failed, a)
        episode_successes = self.successes.clone()
        num_finished, report = self._end_episodes(done)
        new_goal_ids = (success & ~done).nonzero().squeeze(1)
        if new_goal_ids.numel():
            self.goal_rot[new_goal_ids] = random_quat(
                int(new_goal_ids.numel()), self._gen, self.device
            )
        self._observe(done)
        return StepResult(
            obs=self.obs_buf.clone(),
            reward=reward,
            done=done,
            time_out=timed_out & ~failed,
            episode_successes=episode_successes,
            num_finished=num_finished,
            adr_report=report,
        )

    # ------------------------------------------------------------------ internals

    def _actuate(self, a: torch.Tensor) -> torch.Tensor:
        """Steps 1-4: ``(N, 3)`` the command ``u`` applied this step (buffers written)."""
        adr = self.adr
        # Latency: a ring buffer whose head advances once per step for all envs.
        size = self._queue_size
        self._queue_head = head = (self._queue_head + 1) % size
        self.action_queue[:, head] = a
        latency = adr.get("action_latency").clamp(0, size - 1)
        slot = torch.remainder(head - latency, size)
        command = self.action_queue[self._arange, slot]
        draws = torch.rand(self.num_envs, generator=self._gen, device=self.device)
        white = torch.randn((self.num_envs, NUM_ACTIONS), generator=self._gen, device=self.device)
        dropped = (draws < adr.get("action_delay_prob")).unsqueeze(1)
        command = torch.where(dropped, self.prev_command, command)
        self.prev_command.copy_(command)
        white_std = adr.get("affine_action_white").clamp(min=0.0).unsqueeze(1)
        noisy = torch.addcmul(self.action_additive, self.action_scaling, command)
        noisy = torch.addcmul(noisy, white_std, white)
        alpha = self.action_moving_average
        applied = torch.lerp(self.applied_action, noisy, alpha).clamp_(-1.0, 1.0)
        self.applied_action.copy_(applied)
        self.last_action.copy_(a)
        return applied

    def _end_episodes(self, done: torch.Tensor) -> tuple[int, UpdateReport | None]:
        """Step 6's end: finished envs report to ADR and restart with their new values.

        Returns:
            The number of finished envs and the engine's report (None when the
            engine was not updated).
        """
        done_ids = done.nonzero().squeeze(1)
        num_finished = int(done_ids.numel())
        report: UpdateReport | None = None
        if num_finished or self._update_every_step:
            # The engine records the results and resamples these envs' values
            # before they are re-initialised with them.
            report = self.adr.update(done_ids, self.successes)
        if num_finished:
            mean = float(self.successes.index_select(0, done_ids).mean().item())
            w = self.cfg.env.aver_factor
            self.consecutive_successes = w * mean + (1.0 - w) * self.consecutive_successes
            self._reset_envs(done_ids, stagger=False)
        return num_finished, report

    def _reset_envs(self, ids: torch.Tensor, *, stagger: bool) -> None:
        """Start a new episode in envs ``ids`` with their current ADR values."""
        k = int(ids.numel())
        gen, dev = self._gen, self.device
        self.rot[ids] = random_quat(k, gen, dev)
        self.goal_rot[ids] = random_quat(k, gen, dev)
        if stagger:
            start = torch.randint(0, self.cfg.env.episode_length, (k,), generator=gen, device=dev)
            self.progress[ids] = start
        else:
            self.progress[ids] = 0
        for buf in (self.ang_vel, self.action_queue, self.prev_command):
            buf[ids] = 0.0
        for buf in (self.applied_action, self.last_action, self.successes):
            buf[ids] = 0.0
        self.steps_without_success[ids] = 0
        noise = torch.randn((k, 2 * NUM_ACTIONS + 8), generator=gen, device=dev)

        def std(name: str) -> torch.Tensor:
            return self.adr.get(name).index_select(0, ids).clamp(min=0.0).unsqueeze(1)

        self.action_scaling[ids] = 1.0 + std("affine_action_scaling") * noise[:, 0:3]
        self.action_additive[ids] = std("affine_action_additive") * noise[:, 3:6]
        self.pose_scaling[ids] = 1.0 + std("affine_cube_pose_scaling") * noise[:, 6:10]
        self.pose_additive[ids] = std("affine_cube_pose_additive") * noise[:, 10:14]
        rate = self.adr.get("cube_pose_refresh_rate").index_select(0, ids).clamp(min=1)
        phase = torch.rand(k, generator=gen, device=dev)
        self.pose_refresh_offset[ids] = torch.minimum((phase * rate).long(), rate - 1)

    def _observe(self, fresh: torch.Tensor) -> None:
        """Fill the observation buffer; ``fresh`` ``(N,)`` bool envs see their true
        (noisy) pose now, whatever their refresh phase and delay."""
        adr, gen, dev, n = self.adr, self._gen, self.device, self.num_envs
        draws = torch.rand(n, generator=gen, device=dev)
        white = torch.randn((n, 4), generator=gen, device=dev)
        rate = adr.get("cube_pose_refresh_rate").clamp(min=1)
        refresh = (torch.remainder(self.progress + self.pose_refresh_offset, rate) == 0) | fresh
        white_std = adr.get("affine_cube_pose_white").clamp(min=0.0).unsqueeze(1)
        noisy = torch.addcmul(self.pose_additive, self.pose_scaling, self.rot)
        noisy = torch.addcmul(noisy, white_std, white)
        self.pose_refreshed.copy_(torch.where(refresh.unsqueeze(1), noisy, self.pose_refreshed))
        delayed = (draws < adr.get("cube_obs_delay_prob")) & ~fresh
        self.pose_observed.copy_(
            torch.where(delayed.unsqueeze(1), self.pose_observed, self.pose_refreshed)
        )
        seen = torch.nn.functional.normalize(self.pose_observed, dim=1)
        relative = canonical(quat_mul(self.goal_rot, quat_conjugate(seen)))
        torch.cat(
            (
                self.pose_observed,
                self.goal_rot,
                relative,
                self.ang_vel * self.cfg.env.vel_obs_scale,
                self.last_action,
                self.applied_action,
            ),
            dim=1,
            out=self.obs_buf,
        )
