"""Complete ADR resume through the rsl_rl runner: exact across processes, readable by all."""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from mjlab.rl import MjlabOnPolicyRunner, RslRlVecEnvWrapper

import lab_resume_worker
from adr_app.cli import ckpt as ckpt_cli
from adr_domain import WorkerType
from adr_infra import (
    CheckpointError,
    CorruptCheckpointError,
    IncompatibleCheckpointError,
    load_checkpoint,
    summarize,
)
from adr_lab.mjlab import AdrSpec, adr_term, attach_adr
from adr_lab.mjlab.runner import AdrOnPolicyRunner
from adr_lab.tasks.cartpole import cartpole_adr_runner_cfg
from app_helpers import run_app, trees_equal
from lab_helpers import TEST_BINDINGS, build, cartpole_cfg, run, small_adr, written
from paths import SUPPORT

WORKER = SUPPORT / "lab_resume_worker.py"


def _runner(env: RslRlVecEnvWrapper, cls: type = AdrOnPolicyRunner) -> MjlabOnPolicyRunner:
    return cls(env, asdict(cartpole_adr_runner_cfg()), log_dir=None, device="cpu")


def _good(env: object, ids: torch.Tensor) -> torch.Tensor:
    return torch.ones(ids.numel())


def _trained(tmp_path: Path, **adr: object) -> tuple[RslRlVecEnvWrapper, Path]:
    """An env whose ADR has widened some bounds, and its checkpoint."""
    env = RslRlVecEnvWrapper(build(cartpole_cfg(8, adr=small_adr(**adr), objective=_good)))
    run(env.unwrapped, 24)
    engine = adr_term(env.unwrapped).engine
    assert (engine.bounds != engine.params.init).any(), "no bound moved before saving"
    path = tmp_path / "model_7.pt"
    runner = _runner(env)
    runner.current_learning_iteration = 7
    runner.save(str(path))
    return env, path


def _worker(*args: object) -> None:
    result = run_app([sys.executable, str(WORKER), *map(str, args)], SUPPORT, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.slow
def test_n_steps_save_fresh_process_load_m_steps_equals_n_plus_m_straight(tmp_path: Path) -> None:
    """ADR state and bound model fields after resuming in a new process equal the straight run."""
    ckpt = tmp_path / "model_0.pt"
    straight = lab_resume_worker.straight(str(ckpt), 12, 15)
    _worker(ckpt, tmp_path / "resumed.pt", 15)
    resumed = torch.load(tmp_path / "resumed.pt", weights_only=True)
    assert straight["counter"] == resumed["counter"] == 27
    assert trees_equal(straight["state"], resumed["state"]) == []
    saved = load_checkpoint(ckpt).env_state
    assert saved is not None
    moved = resumed["state"]["adr"]["bounds"] != saved["adr"]["bounds"]
    assert moved.any(), "no bound moved after the checkpoint: the comparison proves little"
    assert resumed["state"]["adr"]["step"] > saved["adr"]["step"]


def test_the_runner_restores_ranges_queues_workers_and_model_fields(tmp_path: Path) -> None:
    """A new env loading the checkpoint holds the saved engine state and writes the saved fields."""
    env, path = _trained(tmp_path)
    saved = adr_term(env.unwrapped).state_dict()
    fresh = RslRlVecEnvWrapper(build(cartpole_cfg(8, objective=_good)))
    runner = _runner(fresh)
    runner.load(str(path))
    term = adr_term(fresh.unwrapped)
    assert trees_equal(term.state_dict(), saved) == []
    assert runner.current_learning_iteration == 7
    for binding in TEST_BINDINGS:
        torch.testing.assert_close(
            written(fresh.unwrapped, binding), written(env.unwrapped, binding)
        )


def test_mjlabs_stock_runner_loads_the_checkpoint(tmp_path: Path) -> None:
    """MjlabOnPolicyRunner restores the policy, the iteration and the step counter from our file."""
    env, path = _trained(tmp_path)
    actor = load_checkpoint(path).policy["actor_state_dict"]
    fresh = RslRlVecEnvWrapper(build(cartpole_cfg(8)))
    stock = _runner(fresh, MjlabOnPolicyRunner)
    stock.load(str(path))
    assert stock.current_learning_iteration == 7
    assert fresh.unwrapped.common_step_counter == env.unwrapped.common_step_counter
    assert trees_equal(dict(stock.alg.get_policy().state_dict()), dict(actor)) == []


def test_adr_ckpt_inspects_the_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The file verifies (checksum), and adr-ckpt shows every parameter's current range."""
    env, path = _trained(tmp_path)
    engine = adr_term(env.unwrapped).engine
    summary = summarize(load_checkpoint(path))
    assert [p.name for p in summary.params] == list(engine.param_names)
    for row, bounds in zip(summary.params, engine.bounds.tolist(), strict=True):
        assert row.range == tuple(bounds)
        assert row.init_range is not None
    assert summary.epoch == 7
    assert ckpt_cli.main(["inspect", str(path)]) == 0
    assert "pole_mass" in capsys.readouterr().out


def test_a_damaged_checkpoint_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    """A flipped byte fails the checksum; the loading env's ADR state stays as it was."""
    _, path = _trained(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    fresh = RslRlVecEnvWrapper(build(cartpole_cfg(8)))
    before = adr_term(fresh.unwrapped).state_dict()
    with pytest.raises(CorruptCheckpointError):
        _runner(fresh).load(str(path))
    assert trees_equal(adr_term(fresh.unwrapped).state_dict(), before) == []


def test_adr_load_from_checkpoint_false_restores_everything_but_ranges_and_queues(
    tmp_path: Path,
) -> None:
    """With the flag off, ranges and queues start from init_range; values and fields come back."""
    env, path = _trained(tmp_path)
    saved = adr_term(env.unwrapped).state_dict()["adr"]
    fresh = RslRlVecEnvWrapper(
        build(cartpole_cfg(8, adr=small_adr(adr_load_from_checkpoint=False)))
    )
    _runner(fresh).load(str(path))
    engine = adr_term(fresh.unwrapped).engine
    assert torch.equal(engine.bounds, engine.params.init)
    assert int(engine.queue_lengths.sum()) == 0
    assert (engine.worker_types != WorkerType.BOUNDARY).all()
    for name, values in saved["tensor_values"].items():
        assert torch.equal(engine.get(name), values)
    for binding in TEST_BINDINGS:
        torch.testing.assert_close(
            written(fresh.unwrapped, binding), written(env.unwrapped, binding)
        )


def test_another_number_of_envs_restores_the_shared_curriculum_and_plays_in_its_ranges(
    tmp_path: Path,
) -> None:
    """play with 3 envs takes the saved ranges; its envs' values and fields lie in them."""
    env, path = _trained(tmp_path)
    saved = adr_term(env.unwrapped).engine.bounds.clone()
    play = RslRlVecEnvWrapper(build(cartpole_cfg(3, adr=small_adr(update_adr_ranges=False))))
    _runner(play).load(str(path), load_cfg={"actor": True}, map_location="cpu")
    engine = adr_term(play.unwrapped).engine
    assert torch.equal(engine.bounds, saved)
    for binding in TEST_BINDINGS:
        n = engine.params.index(binding.param)
        values = engine.get(binding.param)
        assert ((values >= saved[n, 0] - 1e-6) & (values <= saved[n, 1] + 1e-6)).all()


def test_a_checkpoint_of_another_parameter_set_is_refused_naming_the_file(tmp_path: Path) -> None:
    """Loading into an env whose ADR has other parameters fails naming the path and the change."""
    _, path = _trained(tmp_path)
    adr = small_adr()
    adr["params"]["pole_length"] = {"init_range": [1.0, 1.0], "delta": 0.1}
    other = RslRlVecEnvWrapper(build(cartpole_cfg(8, adr=adr)))
    with pytest.raises(IncompatibleCheckpointError, match="pole_length") as info:
        _runner(other).load(str(path))
    assert str(path) in str(info.value)


def test_a_converted_h5_checkpoint_is_refused_naming_the_file_and_the_pt_it_needs(
    tmp_path: Path,
) -> None:
    """adr-ckpt convert's .h5 is refused in one line naming it, not with an UnpicklingError."""
    _, path = _trained(tmp_path)
    h5 = tmp_path / "model_7.h5"
    assert ckpt_cli.main(["convert", str(path), str(h5)]) == 0
    fresh = RslRlVecEnvWrapper(build(cartpole_cfg(8)))
    before = adr_term(fresh.unwrapped).state_dict()
    with pytest.raises(CheckpointError, match=r"\.pt") as info:
        _runner(fresh).load(str(h5))
    assert str(h5) in str(info.value) and "\n" not in str(info.value)
    assert trees_equal(adr_term(fresh.unwrapped).state_dict(), before) == []


def test_another_number_of_envs_warns_naming_both_counts_and_what_was_restored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Loading 8 envs' checkpoint into 3 envs says so at WARNING: counts, curriculum, redraw."""
    _, path = _trained(tmp_path)
    play = RslRlVecEnvWrapper(build(cartpole_cfg(3)))
    with caplog.at_level(logging.WARNING, logger="adr_lab"):
        _runner(play).load(str(path), load_cfg={"actor": True})
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = record.getMessage()
    assert "8 envs" in message and "has 3" in message
    assert "ranges" in message and "drawn afresh" in message


def test_two_adr_terms_in_one_env_are_refused_when_the_runner_starts(tmp_path: Path) -> None:
    """The runner refuses a second ADR term, naming both, before training (not at first save)."""
    cfg = cartpole_cfg(4)
    noise = {"init_range": [0.0, 0.0], "limits": [0.0, 0.1], "delta": 0.01}
    adr = {**small_adr(), "params": {"more_noise": noise}}
    second = AdrSpec(adr=adr, objective=_good, name="adr_b")
    env = RslRlVecEnvWrapper(build(attach_adr(cfg, second)))
    with pytest.raises(ValueError, match=r"one ADR curriculum term.*'adr', 'adr_b'"):
        _runner(env)
