"""adr-eval of mjlab ADR tasks: per-env values read back from the MuJoCo Warp model,
frozen ADR, common random numbers, the CLI's outputs, and bad input refused in one line
before anything is built."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import torch
from mjlab.envs import ManagerBasedRlEnv
from mjlab.tasks.registry import load_env_cfg

from adr_app.cli import eval as eval_cli
from adr_app.evaluation import lab_rollout
from adr_app.evaluation.evaluate import Evaluation
from adr_app.evaluation.lab_policy import LabPolicy, lab_checkpoint_ranges, load_lab_policy
from adr_app.evaluation.lab_rollout import evaluate_lab
from adr_app.evaluation.report import summarize, to_csv
from adr_app.evaluation.spec import EvalSpec, build_cells, parse_grid, parse_sweep
from adr_domain.eval_cells import Cell
from adr_lab.mjlab import AdrSpec, adr_term
from adr_lab.tasks.cartpole import BINDINGS, TASK_ID
from eval_helpers import eval_refusal, forbid_building, write_policy_checkpoint
from lab_eval_helpers import write_lab_checkpoint
from lab_helpers import POLE_FRICTION, expected, small_adr, written

E = 2
STEPS = 4
EPISODE_S = STEPS * 0.05
WIDE = {"pole_mass": (0.8, 2.0), "motor_strength": (0.9, 1.1), "action_noise": (0.0, 0.2)}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory of two untrained policies: model_0 at init ranges, model_3 wider."""
    d = tmp_path_factory.mktemp("logs") / "rsl_rl" / "cartpole_adr" / "2026-01-01_00-00-00"
    write_lab_checkpoint(d / "model_0.pt", seed=1)
    write_lab_checkpoint(d / "model_3.pt", seed=2, ranges=WIDE, iteration=3)
    return d


def cells_of(spec: EvalSpec, policy: LabPolicy) -> tuple[Cell, ...]:
    return build_cells(spec, policy.adr_config, lab_checkpoint_ranges(policy.adr_config))


def run(policies: list[LabPolicy], cells: tuple[Cell, ...], **kw: Any) -> Evaluation:
    return evaluate_lab(policies, cells, episodes=E, seed=0, episode_length_s=EPISODE_S, **kw)


def read_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text().splitlines()))


def test_a_run_directory_is_its_newest_model_and_the_task_is_inferred(run_dir: Path) -> None:
    policy = load_lab_policy(run_dir)
    assert policy.path == run_dir / "model_3.pt" and policy.epoch == 3
    assert policy.task_name == TASK_ID
    assert policy.ranges["pole_mass"] == WIDE["pole_mass"]
    assert policy.ranges["hinge_damping"] == (0.0, 0.0)


def _check_model(env: ManagerBasedRlEnv, cells: tuple[Cell, ...], own: dict[str, Any]) -> None:
    """Every env's bound model fields (per world) hold its cell's value, or lie in its range."""
    engine = adr_term(env).engine
    for binding in BINDINGS:
        got = written(env, binding)
        for c, cell in enumerate(cells):
            lo, hi = cell.resolve(own)[binding.param]
            span = slice(c * E, (c + 1) * E)
            low = expected(env, binding, torch.full((E,), lo))
            high = expected(env, binding, torch.full((E,), hi))
            if lo == hi:
                assert torch.equal(got[span], low), (cell.label, binding.param)
            else:
                assert bool(((got[span] >= low - 1e-6) & (got[span] <= high + 1e-6)).all())
    for name in ("action_noise", "observation_noise"):  # read by terms, not the model
        values = engine.get(name)
        for c, cell in enumerate(cells):
            lo, hi = cell.resolve(own)[name]
            mine = values[c * E : (c + 1) * E]
            assert bool(((mine >= lo) & (mine <= hi)).all()), (cell.label, name)


def test_every_world_of_the_model_holds_its_cells_values_while_it_plays(run_dir: Path) -> None:
    """Read back from env.sim.model at every step; ADR bounds never move (frozen)."""
    policy = load_lab_policy(run_dir / "model_3.pt")
    spec = EvalSpec(
        sets=("checkpoint",),
        sweeps=(parse_sweep("pole_mass=0.5:4:3"),),
        grids=(parse_grid("hinge_damping=0:0.05:2,motor_strength=0.5:1.5:2"),),
    )
    cells = cells_of(spec, policy)
    seen: list[int] = []
    bounds: list[torch.Tensor] = []

    def hook(env: ManagerBasedRlEnv, step: int, running: torch.Tensor) -> None:
        _check_model(env, cells, policy.ranges)
        bounds.append(adr_term(env).engine.bounds.clone())
        assert not adr_term(env).engine.cfg.update_adr_ranges
        seen.append(step)

    evaluation = run([policy], cells, hook=hook)
    assert seen == list(range(STEPS)), "the hook did not see every step"
    assert all(torch.equal(b, bounds[0]) for b in bounds)
    result = evaluation.results[0]
    assert torch.equal(result.length, torch.full((len(cells) * E,), STEPS))
    assert bool((result.objective > 0).all()) and bool((result.objective <= 1).all())


def test_common_random_numbers_and_a_bit_identical_csv(run_dir: Path) -> None:
    """Both policies start from the same states; the same seed gives the same bytes."""
    a = load_lab_policy(run_dir / "model_0.pt", label="a")
    b = load_lab_policy(run_dir / "model_3.pt", label="b")
    cells = cells_of(EvalSpec(sets=("checkpoint", "scaled:2")), a)
    first = run([a, b], cells)
    again = run([a, b], cells)
    assert torch.equal(first.results[0].initial_obs, first.results[1].initial_obs)
    assert to_csv(summarize(first)) == to_csv(summarize(again))
    assert not torch.equal(first.results[0].objective, first.results[1].objective)
    assert "RewardSum" in first.objective_name


def test_the_cli_writes_table_csv_json_and_plots(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--sweep", "pole_mass=0.5:4:2", "--set", "checkpoint", "--episodes", str(E)]
    args += ["--episode-length-s", str(EPISODE_S), "--out", str(tmp_path), "--quiet"]
    eval_cli.main([str(run_dir), f"first={run_dir / 'model_0.pt'}", *args])
    out = capsys.readouterr().out
    assert "objective [95% CI]" in out and "Setting seed" not in out
    rows = read_rows(tmp_path / "results.csv")
    assert [r["policy"] for r in rows[:2]] == ["2026-01-01_00-00-00/model_3", "first"]
    assert {r["policy_epoch"] for r in rows} == {"3", "0"} and len(rows) == 6
    for name in ("results.json", "sweep_pole_mass.png", "hist_checkpoint.png"):
        assert (tmp_path / name).is_file()


def test_over_training_evaluates_every_model_of_a_run_directory(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--over-training", str(run_dir), "--set", "init", "--episodes", "1"]
    eval_cli.main([*args, "--episode-length-s", str(EPISODE_S), "--out", str(tmp_path), "--quiet"])
    rows = read_rows(tmp_path / "results.csv")
    assert [r["policy"] for r in rows] == ["it0", "it3"]
    assert list(tmp_path.glob("over_training_*.png"))


@pytest.fixture
def nothing_built(monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_building(monkeypatch, lab_rollout, "ManagerBasedRlEnv")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--sweep", "nope=0:1:2"], "unknown parameter 'nope'"),
        (["--sweep", "pole_mass=0:1:2"], "pole_mass=0 is outside its limits"),
        (["--sweep", "hinge_damping=-0.01:0:2"], "hinge_damping=-0.01 is outside its limits"),
        (["--set", "limits", "--task", "Nope-Task"], "no such mjlab task"),
        (["--set", "init", "--task", "Mjlab-Velocity-Flat-Unitree-Go1-Adr"], "another task"),
        (["--set", "init", "--episode-length-s", "0"], "--episode-length-s must be > 0"),
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


def test_policies_of_other_tasks_or_frameworks_are_refused(
    run_dir: Path, tmp_path: Path, nothing_built: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another ADR parameter set under the same experiment, and an rl_games checkpoint."""
    cfg = load_env_cfg(TASK_ID)
    spec = cfg.curriculum["adr"].params["spec"]
    assert isinstance(spec, AdrSpec)
    cfg.curriculum["adr"].params["spec"] = AdrSpec(
        adr=small_adr(), objective=spec.objective, bindings=(*BINDINGS, POLE_FRICTION)
    )
    other = write_lab_checkpoint(tmp_path / "other" / "model_1.pt", seed=3, env_cfg=cfg)
    rl_games = write_policy_checkpoint(tmp_path / "reorient.pth", seed=1)
    for policies, message in (
        ([str(run_dir), str(other)], "not that of task Mjlab-Cartpole-Balance-Adr"),
        ([str(run_dir), str(rl_games)], "not an rsl_rl checkpoint"),
    ):
        assert message in eval_refusal([*policies, "--set", "init"], capsys)
