"""Each layer imports only the layers below it and its allowed third-party packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from paths import SRC

LAYERS = ["adr_domain", "adr_infra", "adr_isaac", "adr_lab", "adr_app"]
# The layers each layer may import (besides itself): adr_isaac and adr_lab are
# siblings above adr_infra, and only adr_app sits above both.
BELOW = {
    "adr_domain": set(),
    "adr_infra": {"adr_domain"},
    "adr_isaac": {"adr_domain", "adr_infra"},
    "adr_lab": {"adr_domain", "adr_infra"},
    "adr_app": {"adr_domain", "adr_infra", "adr_isaac", "adr_lab"},
}
# Third-party packages each layer may import (besides the standard library
# and the layers below it).
ALLOWED = {
    "adr_domain": {"torch", "pydantic", "attrs"},
    "adr_infra": {"torch", "pydantic", "attrs", "h5py", "numpy"},
    "adr_isaac": {"torch", "pydantic", "attrs", "numpy", "isaacgym", "isaacgymenvs"},
    "adr_lab": {
        "torch",
        "pydantic",
        "attrs",
        "numpy",
        "mjlab",
        "mujoco",
        "mujoco_warp",
        "warp",
        "rsl_rl",
        "rl_games",
        "isaaclab",
        "isaaclab_tasks",
        "isaaclab_newton",
        "newton",
        "gymnasium",
    },
    "adr_app": None,  # the outermost layer may import anything
}
FORBIDDEN_IN_DOMAIN = {
    "h5py",
    "hydra",
    "omegaconf",
    "rl_games",
    "isaacgym",
    "isaacgymenvs",
    "numpy",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _stdlib() -> set[str]:
    import sys

    return set(sys.stdlib_module_names) | {"__future__"}


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_lower_layers_and_allowed_packages(layer: str) -> None:
    """No module of a layer imports an outer layer or an unlisted third-party package."""
    lower = BELOW[layer] | {layer}
    outer = set(LAYERS) - lower
    allowed = ALLOWED[layer]
    stdlib = _stdlib()
    files = sorted((SRC / layer).rglob("*.py"))
    assert files, f"no modules found in {layer}"
    for path in files:
        for name in _imports(path):
            assert name not in outer, f"{path.relative_to(SRC)} imports outer layer {name}"
            if allowed is None or name in stdlib or name in lower:
                continue
            assert name in allowed, (
                f"{path.relative_to(SRC)} imports {name}, not allowed in {layer}"
            )


@pytest.mark.parametrize(("layer", "sibling"), [("adr_isaac", "adr_lab"), ("adr_lab", "adr_isaac")])
def test_isaac_gym_and_manager_based_layers_never_import_each_other(
    layer: str, sibling: str
) -> None:
    """adr_isaac and adr_lab are siblings: neither imports the other."""
    for path in sorted((SRC / layer).rglob("*.py")):
        assert sibling not in _imports(path), f"{path.relative_to(SRC)} imports {sibling}"


def test_domain_never_touches_io_frameworks_or_global_randomness() -> None:
    """adr_domain imports no h5py/hydra/rl_games/isaacgym and never uses random or print."""
    for path in sorted((SRC / "adr_domain").rglob("*.py")):
        names = _imports(path)
        assert not names & FORBIDDEN_IN_DOMAIN, f"{path.name} imports {names & FORBIDDEN_IN_DOMAIN}"
        assert "random" not in names, f"{path.name} imports the global random module"
        tree = ast.parse(path.read_text())
        calls = {
            node.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert "print" not in calls, f"{path.name} calls print"
        assert "open" not in calls, f"{path.name} opens files"


def test_domain_draws_random_numbers_only_from_its_own_generators() -> None:
    """Every torch random call in adr_domain passes generator= (never the global RNG)."""
    random_fns = {"rand", "randn", "randint", "randperm", "bernoulli", "multinomial", "normal"}
    for path in sorted((SRC / "adr_domain").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in random_fns
            ):
                keywords = {k.arg for k in node.keywords}
                assert "generator" in keywords, (
                    f"{path.name}:{node.lineno} draws without generator="
                )


# The rooms of adr_app and the rooms each may import (``adr_app.errors`` is open to
# all): the embedded task stands alone; the command lines sit on top of everything.
APP_ROOMS = {
    "tasks": set(),
    "config": {"tasks", "isaacgym"},
    "isaacgym": {"config"},
    "runs": {"config"},
    "rlgames": {"config", "isaacgym", "runs", "tasks"},
    "evaluation": {"tasks"},
    "cli": {"config", "evaluation", "isaacgym", "runs", "rlgames", "tasks"},
}


def _modules_imported(path: Path) -> set[str]:
    """The dotted names of every module ``path`` imports (lazy imports included)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def _app_rooms_imported(path: Path) -> set[str]:
    modules = _modules_imported(path)
    return {m.split(".")[1] for m in modules if m.startswith("adr_app.") and m != "adr_app.errors"}


def test_every_module_of_the_app_lives_in_a_room() -> None:
    """adr_app holds only its rooms and errors.py: a new module goes into a room."""
    loose = sorted(
        p.name for p in (SRC / "adr_app").glob("*.py") if p.name not in ("__init__.py", "errors.py")
    )
    assert not loose, f"modules outside a room of adr_app: {loose}"
    assert {
        p.name for p in (SRC / "adr_app").iterdir() if p.is_dir() and p.name != "__pycache__"
    } == set(APP_ROOMS)


@pytest.mark.parametrize("room", sorted(APP_ROOMS))
def test_app_rooms_import_only_the_rooms_they_build_on(room: str) -> None:
    """No room of adr_app imports a room it does not build on (the command lines are on top)."""
    allowed = APP_ROOMS[room] | {room}
    for path in sorted((SRC / "adr_app" / room).rglob("*.py")):
        wrong = _app_rooms_imported(path) - allowed
        assert not wrong, f"{path.relative_to(SRC)} imports adr_app rooms {sorted(wrong)}"


# The simulators of adr_app.evaluation (they need separate venvs), what imports one, and
# the only modules that may: the rest of the room imports in either venv.
SIMULATORS = {
    "mjlab": (("mjlab", "adr_lab.mjlab", "adr_lab.tasks"), {"lab_policy.py", "lab_rollout.py"}),
    "Isaac Lab": (
        ("isaaclab", "isaaclab_tasks", "isaaclab_rl", "isaaclab_newton", "adr_lab.isaaclab"),
        {"isaaclab_policy.py", "isaaclab_rollout.py"},
    ),
}


def _imports_any(path: Path, packages: tuple[str, ...]) -> bool:
    return any(m == p or m.startswith(f"{p}.") for m in _modules_imported(path) for p in packages)


@pytest.mark.parametrize("simulator", sorted(SIMULATORS))
def test_each_simulator_is_imported_only_by_its_own_evaluation_modules(simulator: str) -> None:
    """mjlab only in evaluation/lab_*.py, Isaac Lab only in evaluation/isaaclab_*.py."""
    packages, homes = SIMULATORS[simulator]
    importing = {
        p.name for p in (SRC / "adr_app" / "evaluation").glob("*.py") if _imports_any(p, packages)
    }
    assert importing == homes, f"modules importing {simulator}: {sorted(importing)}"
