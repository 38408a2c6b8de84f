"""adr-eval: pinned per-env values, common random numbers, reproducible results, and
bad input refused in one line before anything is built."""

from __future__ import annotations

import csv
import importlib
import json
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from adr_app.cli import eval as eval_cli
from adr_app.evaluation.evaluate import Evaluation, evaluate
from adr_app.evaluation.policy import EvalPolicy, load_policy
from adr_app.evaluation.report import summarize, to_csv
from adr_app.evaluation.spec import EvalSpec, build_cells, parse_sweep
from adr_app.tasks.reorient import ReorientTask
from adr_app.tasks.reorient_state import NUM_ACTIONS, OBS_DIM
from adr_domain.eval_cells import Cell
from adr_infra import RunLayout
from eval_helpers import task_config, train_params, write_policy_checkpoint

# The module (the package re-exports its function `evaluate` under the same name).
evaluate_module = importlib.import_module("adr_app.evaluation.evaluate")

SHORT = {"episodeLength": 24, "maxStepsWithoutSuccess": 8}
E = 3


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two untrained policies: `a` at init ranges, `b` trained on wider masses."""
    d = tmp_path_factory.mktemp("policies")
    return {
        "a": write_policy_checkpoint(d / "a.pth", seed=1),
        "b": write_policy_checkpoint(d / "b.pth", seed=2, ranges={"object_mass": (0.5, 3.0)}),
    }


def policy(path: Path, label: str) -> EvalPolicy:
    return load_policy(path, train_params(), obs_dim=OBS_DIM, num_actions=NUM_ACTIONS, label=label)


def cells_of(spec: EvalSpec, p: EvalPolicy) -> tuple[Cell, ...]:
    return build_cells(spec, p.adr_config, lambda path: {})


def run(policies: list[EvalPolicy], cells: tuple[Cell, ...], seed: int = 0) -> Evaluation:
    return evaluate(policies, cells, episodes=E, task_cfg=task_config(**SHORT), seed=seed)


def test_every_env_holds_its_cells_values_while_it_plays(
    checkpoints: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read back from the task at every step: pinned values equal the cell's, ranges hold."""
    a = policy(checkpoints["a"], "a")
    spec = EvalSpec(sets=("init",), sweeps=(parse_sweep("object_mass=0.2:5:3"),))
    cells = cells_of(spec, a)
    seen: list[dict[str, torch.Tensor]] = []

    def record(task: ReorientTask, running: torch.Tensor) -> None:
        seen.append({n: task.adr.get(n).double().clone() for n in task.adr.param_names})
        seen[-1]["running"] = running.clone()

    original = evaluate_module.play_cells
    monkeypatch.setattr(
        evaluate_module, "play_cells", lambda *args, **kw: original(*args, **{**kw, "hook": record})
    )
    run([a], cells)
    assert len(seen) > 1
    for values in seen:
        running = values["running"]
        for c, cell in enumerate(cells):
            envs = torch.arange(c * E, (c + 1) * E)
            envs = envs[running[envs]]
            for name, (lo, hi) in cell.ranges.items():
                got = values[name][envs]
                assert torch.all((got >= lo - 1e-6) & (got <= hi + 1e-6)), (cell.label, name)
            for name, v in cell.coords.items():
                assert torch.allclose(values[name][envs], torch.tensor(v, dtype=torch.float64))


def test_two_policies_play_the_same_cells_env_seeds_and_initial_states(
    checkpoints: dict[str, Path],
) -> None:
    """Common random numbers: equal initial observations and equal quantiles of own ranges."""
    a, b = policy(checkpoints["a"], "a"), policy(checkpoints["b"], "b")
    cells = cells_of(EvalSpec(sets=("init", "checkpoint")), a)
    evaluation = run([a, b], cells)
    first, second = evaluation.results
    assert torch.equal(first.initial_obs, second.initial_obs)
    assert evaluation.cells == cells
    # Each policy's `checkpoint` cell uses its own object_mass range with the same uniforms.
    assert a.ranges["object_mass"] != b.ranges["object_mass"]


def test_the_same_seed_gives_a_bit_identical_csv(checkpoints: dict[str, Path]) -> None:
    """Two evaluations with one seed write the same bytes; another seed differs."""
    a, b = policy(checkpoints["a"], "a"), policy(checkpoints["b"], "b")
    cells = cells_of(EvalSpec(sets=("scaled:4",), sweeps=(parse_sweep("action_latency=0:6:3"),)), a)
    once, twice = to_csv(summarize(run([a, b], cells))), to_csv(summarize(run([a, b], cells)))
    assert once == twice
    assert once != to_csv(summarize(run([a, b], cells, seed=1)))


def test_paired_rows_report_the_difference_to_the_first_policy(
    checkpoints: dict[str, Path],
) -> None:
    """The reference has no difference; the other's is the mean of the paired differences."""
    a, b = policy(checkpoints["a"], "a"), policy(checkpoints["b"], "b")
    evaluation = run([a, b], cells_of(EvalSpec(sets=("init",)), a))
    ref, other = summarize(evaluation)
    assert ref.diff is None and other.diff is not None
    expected = (evaluation.objective(1, 0) - evaluation.objective(0, 0)).mean()
    assert other.diff.mean == pytest.approx(float(expected))


def cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a rollout was built")

    monkeypatch.setattr(evaluate_module, "play_cells", never)
    eval_cli.main(argv)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--sweep", "mass_of_moon=0:1:3"], "unknown parameter 'mass_of_moon'"),
        (["--sweep", "object_mass=0.1:5:9"], "object_mass=0.1 is outside its limits"),
        (["--grid", "object_mass=1:2:2,actuator_effort=0:1:2"], "actuator_effort=0 is outside"),
        ([], "empty test set"),
        (["--set", "hardest"], "unknown range set 'hardest'"),
        (["--sweep", "object_mass=1:2"], "expected PARAM=LO:HI:N"),
    ],
)
def test_bad_test_sets_exit_2_with_one_line_before_anything_is_built(
    checkpoints: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    extra: list[str],
    message: str,
) -> None:
    """Unknown parameter, point outside its limits, empty test set: exit 2, one line."""
    with pytest.raises(SystemExit) as info:
        cli([str(checkpoints["a"]), "--out", str(tmp_path / "out"), *extra], monkeypatch)
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "out").exists()


def test_an_empty_test_set_file_is_refused(
    checkpoints: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """A test-set file with no entries is an empty test set."""
    empty = tmp_path / "empty.yaml"
    empty.write_text("sets: []\n")
    with pytest.raises(SystemExit) as info:
        cli([str(checkpoints["a"]), "--test-set", str(empty)], monkeypatch)
    assert info.value.code == 2 and "empty test set" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task_name": "Cartpole"}, "policies of different tasks"),
        ({"task_cfg": "wider_limits"}, "policies of different ADR parameter sets"),
    ],
)
def test_policies_of_different_tasks_or_parameter_sets_are_refused(
    checkpoints: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    kwargs: dict[str, Any],
    message: str,
) -> None:
    """Side by side only within one task and one parameter set: exit 2, one line."""
    if kwargs.get("task_cfg") == "wider_limits":
        cfg = task_config()
        cfg["task"]["adr"]["params"]["object_mass"]["limits"] = [0.1, 9.0]
        kwargs = {"task_cfg": cfg}
    other = write_policy_checkpoint(tmp_path / "other.pth", seed=3, **kwargs)
    with pytest.raises(SystemExit) as info:
        cli([str(checkpoints["a"]), str(other), "--set", "init"], monkeypatch)
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and message in err, err


def short_task_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(task_config(**SHORT)))
    return path


def two_episodes_into(tmp_path: Path) -> list[str]:
    """The options of a quick command writing into tmp_path/out."""
    task = str(short_task_yaml(tmp_path))
    return ["--episodes", "2", "--task-config", task, "--out", str(tmp_path / "out")]


def test_the_command_writes_a_table_csv_json_and_labelled_plots(
    checkpoints: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two policies, a range set, a sweep and a grid: every output is written."""
    out = tmp_path / "out"
    eval_cli.main(
        [
            f"a={checkpoints['a']}",
            f"b={checkpoints['b']}",
            "--set",
            "init",
            "--sweep",
            "object_mass=0.5:2:2",
            "--grid",
            "object_mass=0.5:2:2,actuator_effort=0.5:2:2",
            *two_episodes_into(tmp_path),
        ]
    )
    captured = capsys.readouterr()
    assert "object_mass=0.5,actuator_effort=2" in captured.out
    assert "episodes done" in captured.err
    rows = list(csv.DictReader((out / "results.csv").read_text().splitlines()))
    assert len(rows) == 2 * (1 + 2 + 4)
    assert {r["policy"] for r in rows} == {"a", "b"}
    meta = json.loads((out / "results.json").read_text())["meta"]
    assert [p["label"] for p in meta["policies"]] == ["a", "b"]
    for name in ("sweep_object_mass.png", "grid_object_mass_actuator_effort.png", "hist_init.png"):
        assert (out / name).stat().st_size > 0


def test_over_training_evaluates_every_checkpoint_of_a_run_at_its_npd(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each periodic checkpoint is a policy; its NPD is that of its own ranges."""
    layout = RunLayout("exp", tmp_path / "runs").create()
    widths = {1: (0.9, 1.1), 2: (0.5, 2.0)}
    for epoch, mass in widths.items():
        path = layout.periodic_path(epoch, 0.0)
        write_policy_checkpoint(path, seed=epoch, ranges={"object_mass": mass})
    out = tmp_path / "out"
    eval_cli.main(
        [
            "--over-training",
            "exp",
            "--train-dir",
            str(tmp_path / "runs"),
            "--set",
            "init",
            *two_episodes_into(tmp_path),
        ]
    )
    rows = list(csv.DictReader((out / "results.csv").read_text().splitlines()))
    assert [r["policy"] for r in rows] == ["ep1", "ep2"]
    assert float(rows[1]["policy_npd"]) > float(rows[0]["policy_npd"])
    assert (out / "over_training_exp.png").stat().st_size > 0
