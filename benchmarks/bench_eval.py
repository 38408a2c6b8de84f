"""adr-eval's cost is that of its episodes, not of its cells.

Times, in one process on one CPU thread, with one policy:

* **sweep**: a 5-parameter x 9-point sweep (45 cells, others nominal) with
  ``E`` episodes per point: one rollout of ``45 x E`` envs, each pinned to its
  cell's values, every env playing one episode
  (:func:`adr_app.evaluation.evaluate.evaluate`);
* **one setting**: ``45 x E`` episodes at one setting (the policy's own
  ranges) in one rollout of the same protocol (one episode per env): the
  cost of the episodes alone, without cells;
* **player**: ``45 x E`` episodes at one setting as ``adr-train test=True``
  plays them: ``45 x E`` envs stepped until that many episodes have finished
  (short episodes restart and count twice, so it may stop earlier than a
  protocol that waits for every env's first episode).

and prints the ratios sweep / one setting (the acceptance bound is 1.3) and
sweep / player. Each is the fastest of ``--repeats`` interleaved runs (the
machine is shared).

Usage::

    python benchmarks/bench_eval.py                      # E = 64, random-weight policy
    python benchmarks/bench_eval.py --episodes 64 --checkpoint runs/x/nn/x.pth
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch

from adr_app.evaluation.evaluate import evaluate
from adr_app.evaluation.policy import EvalPolicy, build_model, load_policy, policy_npd
from adr_app.evaluation.rollout import eval_task_config
from adr_app.evaluation.spec import EvalSpec, build_cells, parse_sweep
from adr_app.tasks.reorient import ReorientTask
from adr_app.tasks.reorient_state import NUM_ACTIONS, OBS_DIM
from adr_domain import ADRConfig
from adr_domain.eval_cells import init_ranges
from bench_common import CFG, load_yaml

SWEEPS = (
    "object_mass=0.2:5:9",
    "actuator_effort=0.3:3:9",
    "object_damping=0:10:9",
    "action_delay_prob=0:0.7:9",
    "affine_action_white=0:0.5:9",
)


def random_policy(task_cfg: dict[str, Any], train: dict[str, Any]) -> EvalPolicy:
    """An untrained policy (seeded weights) at the task's init ranges."""
    torch.manual_seed(0)
    model = build_model(train, OBS_DIM, NUM_ACTIONS)
    cfg = ADRConfig.from_mapping(task_cfg["task"]["adr"])
    ranges = init_ranges(cfg)
    return EvalPolicy(
        label="random",
        path=Path("-"),
        task_name="Reorient",
        param_set_hash="-",
        adr_config=cfg,
        ranges=ranges,
        npd=policy_npd(ranges, cfg),
        epoch=None,
        model=model,
    )


def play_baseline(policy: EvalPolicy, task_cfg: dict[str, Any], episodes: int, seed: int) -> int:
    """Play ``episodes`` episodes with as many envs at the policy's ranges, as the
    player counts them; the steps taken."""
    cfg = eval_task_config(task_cfg, policy.adr_config.model_dump(mode="json"))
    task = ReorientTask(cfg, num_envs=episodes, seed=seed)
    for name, (lo, hi) in policy.ranges.items():
        engine = task.adr
        engine.bounds[engine.param_names.index(name)] = torch.tensor([lo, hi], dtype=torch.float64)
    obs, finished, steps = task.reset(), 0, 0
    while finished < episodes:
        result = task.step(policy.act(obs))
        obs, finished, steps = result.obs, finished + result.num_finished, steps + 1
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=64, help="E, episodes per point")
    parser.add_argument("--checkpoint", type=Path, help="a policy (default: random weights)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    task_cfg = load_yaml(CFG / "task" / "Reorient.yaml")
    train = load_yaml(CFG / "train" / "ReorientPPO.yaml")["params"]
    if args.checkpoint is None:
        policy = random_policy(task_cfg, train)
    else:
        policy = load_policy(args.checkpoint, train, obs_dim=OBS_DIM, num_actions=NUM_ACTIONS)
    spec = EvalSpec(sweeps=tuple(parse_sweep(s) for s in SWEEPS))
    cells = build_cells(spec, policy.adr_config, lambda path: {})
    n = len(cells) * args.episodes
    # Warm up both paths (first calls of torch kernels, rl_games' network).
    evaluate([policy], cells[:1], episodes=4, task_cfg=task_cfg, seed=0)
    play_baseline(policy, task_cfg, 4, seed=0)
    one = build_cells(EvalSpec(sets=("checkpoint",)), policy.adr_config, lambda path: {})
    times: dict[str, list[float]] = {"sweep": [], "one": [], "player": []}
    runs = {
        "sweep": lambda seed: evaluate(
            [policy], cells, episodes=args.episodes, task_cfg=task_cfg, seed=seed
        ),
        "one": lambda seed: evaluate([policy], one, episodes=n, task_cfg=task_cfg, seed=seed),
        "player": lambda seed: play_baseline(policy, task_cfg, n, seed=seed),
    }
    for repeat in range(args.repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run(repeat)
            times[name].append(time.perf_counter() - start)
    sweep, base, player = (min(times[k]) for k in ("sweep", "one", "player"))
    print(f"{len(cells)} cells x {args.episodes} episodes = {n} envs, one thread")
    print(f"sweep       (5 params x 9 points, pinned):     {sweep:.2f} s")
    print(f"one setting ({n} episodes, one per env):      {base:.2f} s")
    print(f"player      ({n} episodes counted as played): {player:.2f} s")
    print(f"ratio sweep / one setting: {sweep / base:.2f} (bound 1.3)")
    print(f"ratio sweep / player:      {sweep / player:.2f}")


if __name__ == "__main__":
    main()
