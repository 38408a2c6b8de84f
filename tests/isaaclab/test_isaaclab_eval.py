"""adr-eval of Isaac Lab rsl_rl policies (Isaac-Cartpole-Adr on Newton, CPU): per-env values
read back from the articulation, frozen ADR, common random numbers, a bit-identical CSV,
and bad input refused in one line before anything is built."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from isaaclab.envs import ManagerBasedRLEnv
from isaaclab.utils import class_to_dict
from isaaclab_rl.entrypoints.common import write_run_manifest
from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper
from rsl_rl.runners import OnPolicyRunner

from adr_app.cli import eval as eval_cli
from adr_app.evaluation import isaaclab_rollout
from adr_app.evaluation.isaaclab_policy import ISAACLAB_TASKS
from adr_app.evaluation.isaaclab_rollout import evaluate_isaaclab, isaaclab_eval_cfgs
from adr_app.evaluation.lab_policy import LabPolicy, lab_checkpoint_ranges, load_lab_policy
from adr_app.evaluation.spec import EvalSpec, build_cells, parse_grid, parse_sweep
from adr_domain.eval_cells import Cell
from adr_lab.isaaclab import adr_term
from adr_lab.isaaclab.tasks.cartpole import TASK_ID
from eval_helpers import eval_refusal, forbid_building
from isaaclab_cli import train_env
from isaaclab_env import OPERATION, built, expected_field, readbacks

E = 2
EPISODE_S = 0.05
"""Episodes of 3 to 4 steps (the task steps every 1/60 s)."""
WARP_CPU_ONLY = {
    "Warp CUDA warning: Could not find or load the NVIDIA CUDA driver. "
    "GPU execution will not be available."
}
"""What Warp prints when Isaac Lab imports it on a machine without CUDA (not adr-eval's)."""
SWEEP = "pole_mass=0.5:3:3"
GRID = "hinge_friction=0:0.05:2,cart_damping=0.5:2:2"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An rsl_rl run of the task as ``isaaclab train`` leaves it: model_0 (untrained) and
    model_1 (one PPO iteration of 8 envs, AdrPPO), and the run manifest naming the task."""
    d = tmp_path_factory.mktemp("logs") / "rsl_rl" / "cartpole_adr" / "2026-01-01_00-00-00"
    env_cfg, agent_cfg = isaaclab_eval_cfgs(TASK_ID, 8, 0, None, "cpu")
    agent_cfg.algorithm.class_name = "adr_lab.isaaclab.rsl_rl:AdrPPO"
    agent_cfg.num_steps_per_env = 4
    agent_cfg.obs_groups = {"actor": ["policy"], "critic": ["policy"]}
    with built(env_cfg) as env:
        runner = OnPolicyRunner(RslRlVecEnvWrapper(env), class_to_dict(agent_cfg), None, "cpu")
        runner.save(str(d / "model_0.pt"))
        runner.learn(1)
        runner.save(str(d / "model_1.pt"))
    write_run_manifest(str(d), library="rsl_rl", task=TASK_ID, metadata={"agent": "rsl_rl"})
    return d


def _load(path: Path, label: str | None = None) -> LabPolicy:
    return load_lab_policy(path, label=label, tasks=ISAACLAB_TASKS)


def _cells(spec: EvalSpec, policy: LabPolicy) -> tuple[Cell, ...]:
    return build_cells(spec, policy.adr_config, lab_checkpoint_ranges(policy.adr_config))


def _check_fields(env: ManagerBasedRLEnv, cells: tuple[Cell, ...], own: dict[str, Any]) -> None:
    """Every env's pole mass, hinge friction and cart damping, read from the articulation's
    data, are its cell's value (or lie in its range); so is its observation noise."""
    held = dict(readbacks(env))
    held["observation_noise"] = adr_term(env).engine.get("observation_noise")
    for c, cell in enumerate(cells):
        span = slice(c * E, (c + 1) * E)
        for name, (lo, hi) in cell.resolve(own).items():
            low, high = (torch.full((E,), v) for v in (lo, hi))
            if name in OPERATION:
                low, high = expected_field(name, low), expected_field(name, high)
            got = held[name][span].float()
            if lo == hi:
                torch.testing.assert_close(got, low, rtol=1e-6, atol=1e-7, msg=cell.label)
            else:
                assert bool(((got >= low - 1e-6) & (got <= high + 1e-6)).all()), cell.label


def test_the_run_manifest_names_the_task_of_a_run_directory(run_dir: Path) -> None:
    policy = _load(run_dir)
    assert policy.path == run_dir / "model_1.pt"
    assert policy.task_name == TASK_ID
    assert set(policy.ranges) == set(OPERATION) | {"observation_noise"}


def test_every_env_holds_its_cells_values_while_it_plays_and_both_policies_start_alike(
    run_dir: Path,
) -> None:
    """Read back from the articulation at every step; ADR bounds never move (frozen)."""
    policies = [_load(run_dir / "model_0.pt", "a"), _load(run_dir / "model_1.pt", "b")]
    spec = EvalSpec(sets=("checkpoint",), sweeps=(parse_sweep(SWEEP),), grids=(parse_grid(GRID),))
    cells = _cells(spec, policies[1])
    seen: list[int] = []
    bounds: list[torch.Tensor] = []

    def hook(env: ManagerBasedRLEnv, step: int, running: torch.Tensor) -> None:
        playing = policies[seen.count(0) - (step != 0)]  # a rollout starts at step 0
        _check_fields(env, cells, playing.ranges)
        engine = adr_term(env).engine
        assert not engine.cfg.update_adr_ranges
        bounds.append(engine.bounds.clone())
        seen.append(step)

    evaluation = evaluate_isaaclab(
        policies, cells, episodes=E, seed=0, episode_length_s=EPISODE_S, hook=hook
    )
    steps = evaluation.results[0].steps
    assert seen == list(range(steps)) * 2 and steps >= 3
    assert all(torch.equal(b, bounds[0]) for b in bounds)
    first, second = evaluation.results
    assert torch.equal(first.initial_obs, second.initial_obs)
    assert torch.equal(first.length, torch.full((len(cells) * E,), steps))
    assert set(first.objective.tolist()) <= {0.0, 1.0}
    assert evaluation.objective_name.startswith("Survived")


def _cli(run_dir: Path, out: Path, *extra: str) -> None:
    args = ["--sweep", SWEEP, "--set", "init", "--episodes", str(E), "--seed", "3"]
    args += ["--episode-length-s", str(EPISODE_S), "--out", str(out), "--quiet", "--no-plots"]
    eval_cli.main([str(run_dir), *args, *extra])


def test_the_cli_writes_the_same_csv_bytes_for_the_same_seed(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli(run_dir, tmp_path / "a")
    out = capsys.readouterr().out
    assert "objective [95% CI]" in out and "[INFO]" not in out
    _cli(run_dir, tmp_path / "b")
    first = (tmp_path / "a" / "results.csv").read_bytes()
    assert first == (tmp_path / "b" / "results.csv").read_bytes()
    rows = list(csv.DictReader(first.decode().splitlines()))
    assert [r["policy"] for r in rows] == ["2026-01-01_00-00-00/model_1"] * 4
    assert (tmp_path / "a" / "results.json").is_file()


@pytest.fixture
def nothing_built(monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_building(monkeypatch, isaaclab_rollout, "ManagerBasedRLEnv")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--sweep", "pole_length=1:2:2"], "unknown parameter 'pole_length'"),
        (["--set", "init", "--task", "Nope-Task"], "no Isaac Lab task of that id"),
        (["--set", "init", "--task", "Isaac-Cartpole"], "0 ADR curriculum terms"),
    ],
)
def test_bad_input_exits_2_with_one_line_before_anything_is_built(
    run_dir: Path,
    extra: list[str],
    message: str,
    nothing_built: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert message in eval_refusal([str(run_dir), *extra], capsys)


def test_the_command_in_this_venv_refuses_a_value_outside_the_limits_in_one_line(
    run_dir: Path, tmp_path: Path
) -> None:
    """``python -m adr_app.cli.eval`` as a user runs it (this venv's packages only)."""
    command = [
        sys.executable,
        "-m",
        "adr_app.cli.eval",
        str(run_dir),
        "--sweep",
        "pole_mass=0.1:1:2",
    ]
    result = subprocess.run(
        command, cwd=tmp_path, env=train_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.strip().splitlines() if line not in WARP_CPU_ONLY]
    assert len(lines) == 1 and "pole_mass=0.1 is outside its limits" in lines[0], result.stderr
    assert not (tmp_path / "eval_out").exists()


def test_without_a_manifest_the_task_is_the_one_logging_to_the_experiment(
    run_dir: Path, tmp_path: Path
) -> None:
    moved = tmp_path / "model_1.pt"
    moved.write_bytes((run_dir / "model_1.pt").read_bytes())
    assert _load(moved).task_name == TASK_ID
