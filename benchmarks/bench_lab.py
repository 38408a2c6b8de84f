"""ADR on mjlab Cartpole and Isaac Lab Cartpole (both MuJoCo Warp on the CPU), side by side.

For ``Mjlab-Cartpole-Balance-Adr`` (mjlab 1.6.0, in this process) and
``Isaac-Cartpole-Adr`` (Isaac Lab 3.0 on Newton, run as
``benchmarks/bench_lab_isaaclab.py`` in ``.venv-isaaclab``: the two pin
different warp versions), with one torch thread:

* when ADR first widens a bound beyond its ``init_range`` (iteration, env
  steps, wall seconds since training started), training ``--train-envs``
  envs with each task's PPO settings (mjlab: sim2real-adr's rsl_rl runner;
  Isaac Lab: rsl_rl's ``OnPolicyRunner`` on isaaclab_rl's
  ``RslRlVecEnvWrapper``), at most ``--iterations`` iterations;
* ADR's share of the env step time at each of ``--envs``: a fresh env stepped
  ``--steps`` times (after 50 warm-up steps, episode clocks spread over an
  episode) with a fixed random policy, timing ADR's own functions in place
  (curriculum term: objective and engine update; the writes ADR does at
  reset) against the whole ``env.step``. Reported apart: what those writes
  make the simulator recompute (mjlab: ``recompute_constants``; Newton: the
  solver's model-change notifications) and ADR's noise terms.

Usage::

    python benchmarks/bench_lab.py --envs 256 1024 --iterations 40
    python benchmarks/bench_lab.py --skip-isaaclab      # mjlab only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import torch

import bench_lab_mjlab

ROOT = Path(__file__).resolve().parents[1]
ISAACLAB_PYTHON = ROOT / ".venv-isaaclab" / "bin" / "python"
ISAACLAB_SCRIPT = Path(__file__).with_name("bench_lab_isaaclab.py")
JSON_PREFIX = "BENCH_LAB_JSON "
ISAACLAB_TIMEOUT_S = 1800


def _isaaclab(args: argparse.Namespace) -> dict[str, Any]:
    """The Isaac Lab figures, from ``bench_lab_isaaclab.py`` in ``.venv-isaaclab``."""
    command = [
        str(ISAACLAB_PYTHON),
        str(ISAACLAB_SCRIPT),
        "--envs",
        *map(str, args.envs),
        "--steps",
        str(args.steps),
        "--train-envs",
        str(args.train_envs),
        "--iterations",
        str(args.iterations),
    ]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # its own venv's packages
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=ISAACLAB_TIMEOUT_S, check=False
    )
    lines = [s for s in done.stdout.splitlines() if s.startswith(JSON_PREFIX)]
    if done.returncode or not lines:
        tail = (done.stdout + done.stderr)[-3000:]
        raise RuntimeError(f"bench_lab_isaaclab.py failed ({done.returncode}):\n{tail}")
    figures: dict[str, Any] = json.loads(lines[-1][len(JSON_PREFIX) :])
    return figures


def _mjlab(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"share": [bench_lab_mjlab.share(n, args.steps) for n in args.envs]}
    if args.iterations:
        figures["train"] = bench_lab_mjlab.train(args.train_envs, args.iterations)
    return figures


def _widening(train: dict[str, Any] | None) -> list[str]:
    """Rows of the first-widening table for one side."""
    if train is None:
        return ["-"] * 4
    first = train["first"]
    widened = f"{train['params_widened']}/{train['num_params']}"
    if first is None:
        return [f"not within {train['iterations_cap']} iterations", "-", "-", widened]
    return [str(first["iteration"]), f"{first['env_steps']:,}", f"{first['seconds']:.0f}", widened]


def _share_rows(share: list[dict[str, Any]], envs: int) -> dict[str, str]:
    """Per row name, the figure of the side's measurement at ``envs`` envs."""
    found = [s for s in share if s["envs"] == envs]
    if not found:
        return {}
    s = found[0]
    rows = {
        "env.step (ms)": f"{s['step_ms']:.1f}",
        "envs reset per step": f"{s['resets_per_step']:.1f}",
        "ADR share of env.step": f"{s['adr_share']:.2%}",
    }
    parts = {**s["adr_parts"], **s["other_parts"]}
    rows.update({f"  {name}": f"{value:.2%}" for name, value in parts.items()})
    return rows


def _table(rows: list[tuple[str, str, str]]) -> str:
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(
        f"{a:<{width[0]}}  {b:>{width[1]}}  {c:>{width[2]}}".rstrip() for a, b, c in rows
    )


def report(mjlab: dict[str, Any], isaaclab: dict[str, Any] | None, envs: list[int]) -> str:
    """The side-by-side table (Isaac Lab column ``-`` when it was skipped)."""
    rows: list[tuple[str, str, str]] = [("", "mjlab Cartpole", "Isaac Lab Cartpole")]
    names = ["first widening: iteration", "  env steps", "  wall seconds", "  widened at stop"]
    m_train = _widening(mjlab.get("train"))
    i_train = _widening(isaaclab.get("train") if isaaclab else None)
    rows += list(zip(names, m_train, i_train, strict=True))
    for n in envs:
        rows.append((f"{n} envs, random policy", "", ""))
        m = _share_rows(mjlab["share"], n)
        i = _share_rows(isaaclab["share"], n) if isaaclab else {}
        rows += [(name, m.get(name, "-"), i.get(name, "-")) for name in {**m, **i}]
    return _table(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--steps", type=int, default=300, help="timed env steps per env count")
    parser.add_argument("--train-envs", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=40, help="training cap; 0: no training")
    parser.add_argument("--skip-isaaclab", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", UserWarning)

    isaaclab = None
    if args.skip_isaaclab:
        print("Isaac Lab skipped (--skip-isaaclab)")
    elif not ISAACLAB_PYTHON.exists():
        print(f"Isaac Lab skipped: no {ISAACLAB_PYTHON} (bash scripts/isaaclab_venv.sh builds it)")
    else:
        print("Isaac Lab half (subprocess in .venv-isaaclab) ...", flush=True)
        isaaclab = _isaaclab(args)
    print("mjlab half ...", flush=True)
    mjlab = _mjlab(args)
    if args.json:
        print(json.dumps({"mjlab": mjlab, "isaaclab": isaaclab}, indent=2))
    print()
    print(report(mjlab, isaaclab, args.envs))
    if isaaclab is None:
        print("(Isaac Lab column empty: its half did not run)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
