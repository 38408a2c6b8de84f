"""ADR values in real MuJoCo Warp model fields (mjlab Cartpole, CPU, few envs)."""

from __future__ import annotations

import pytest
import torch
from mjlab.envs import ManagerBasedRlEnv

from adr_domain import WorkerType
from adr_lab.mjlab import adr_term
from lab_helpers import TEST_BINDINGS, build, cartpole_cfg, expected, run, small_adr, written

F32 = {"rtol": 1e-6, "atol": 1e-7}
"""Model fields are float32: compare with float32 tolerance."""


def _check_every_env(env: ManagerBasedRlEnv, extended: bool) -> int:
    """Assert every env's bound fields against the current ranges; return boundary workers seen."""
    engine = adr_term(env).engine
    pinned = engine.next_limits if extended else engine.bounds
    types, modes = engine.worker_types.tolist(), engine.adr_modes.tolist()
    boundary = 0
    for binding in TEST_BINDINGS:
        n = engine.params.index(binding.param)
        lo, hi = engine.bounds[n].tolist()
        values = engine.get(binding.param)
        torch.testing.assert_close(written(env, binding), expected(env, binding, values), **F32)
        for env_id, (kind, mode) in enumerate(zip(types, modes, strict=True)):
            value = float(values[env_id])
            if kind == WorkerType.BOUNDARY and mode // 2 == n:
                assert value == pytest.approx(float(pinned[n, mode % 2]), rel=1e-6)
                boundary += 1
            else:
                assert lo - 1e-6 <= value <= hi + 1e-6, (binding.param, env_id, value, lo, hi)
    return boundary


@pytest.mark.parametrize("extended", [False, True], ids=["at-bound", "at-next-limit"])
def test_boundary_workers_play_their_bound_and_rollout_workers_lie_in_the_range(
    extended: bool,
) -> None:
    """After resets each boundary worker's model field equals its bound, others lie in range."""
    adr = small_adr(adr_extended_boundary_sample=extended, adr_queue_threshold_length=50)
    env = build(cartpole_cfg(12, adr=adr))
    env.reset()
    seen = 0
    for _ in range(3):
        run(env, 4)
        seen += _check_every_env(env, extended)
    assert seen > 0, "no boundary worker was ever reset"


def test_a_full_queue_of_good_results_widens_the_bound_and_later_resets_play_the_new_bound() -> (
    None
):
    """Good results fill a queue, its bound moves out, and boundary workers reset later play it."""
    env = build(cartpole_cfg(12, objective=lambda env, ids: torch.ones(ids.numel())))
    engine = adr_term(env).engine
    init = engine.bounds.clone()
    env.reset()
    moved_at = None
    for step in range(60):
        run(env, 1)
        if moved_at is None and (engine.bounds != init).any():
            moved_at = step
            widened = engine.bounds.clone()
        if moved_at is not None and step > moved_at + 8:
            break
    assert moved_at is not None, "no bound moved"
    assert (widened[:, 0] <= init[:, 0]).all() and (widened[:, 1] >= init[:, 1]).all()
    _check_every_env(env, extended=False)
    # Some boundary worker now plays a bound that lies beyond the initial range.
    types, modes = engine.worker_types, engine.adr_modes
    outside = 0
    for binding in TEST_BINDINGS:
        n = engine.params.index(binding.param)
        for side in (0, 1):
            beyond = engine.bounds[n, side] != init[n, side]
            players = (types == WorkerType.BOUNDARY) & (modes == 2 * n + side)
            outside += int(beyond) * int(players.sum())
    assert outside > 0


def test_tensor_parameters_without_a_field_are_readable_per_env() -> None:
    """Noise scales bound to no field are read with engine.get(name, env_ids), in range."""
    env = build(cartpole_cfg(6))
    engine = adr_term(env).engine
    ids = torch.tensor([1, 4])
    values = engine.get("action_noise", ids)
    assert values.shape == (2,)
    torch.testing.assert_close(values, engine.get("action_noise")[ids])
