#!/usr/bin/env bash
# Builds .venv-isaaclab: Isaac Lab 3.0 (kit-less, Newton / MuJoCo Warp on the
# CPU) with sim2real-adr installed editable, for `pytest tests/isaaclab`.
# Isaac Lab and mjlab pin different warp / mujoco-warp, so they cannot share
# .venv. Safe to run again (reuses the venv; installs only what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=.venv-isaaclab
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/pip" install --quiet -c constraints-isaaclab.txt)
if ! "$VENV/bin/python" -c "import isaaclab, newton, rsl_rl" 2>/dev/null; then
    # torch first and pinned (any other version pulls gigabytes of CUDA
    # packages), repeated in every later install so nothing replaces it.
    "${PIP[@]}" torch==2.13.0
    # isaaclab 3.0.0 declares Python >=3.12 and torch 2.11; every file of it
    # runs on 3.11 with torch 2.13, so its declared dependencies are skipped
    # and the ones the kit-less Newton path needs are installed below.
    "${PIP[@]}" --no-deps --ignore-requires-python isaaclab==3.0.0
    "${PIP[@]}" torch==2.13.0 warp-lang==1.17.0 newton==1.6.1 'mujoco-warp~=3.12.0' \
        'mujoco~=3.12.0' usd-exchange==3.0.1 newton-usd-schemas gymnasium hydra-core \
        lazy_loader prettytable rich tqdm rsl-rl-lib==5.5.1
fi
# rl_games for `isaaclab train --rl_library rl_games`: Isaac Lab 3.0 names a Git
# branch of its own fork (not on PyPI); rl-games 1.6.5 from PyPI runs its
# rl_games back end. Isaac Lab's rl_games wrapper imports gym's spaces.
"${PIP[@]}" torch==2.13.0 rl-games==1.6.5 gym==0.26.2
# Our package (its entry point registers the ADR tasks), what its tools need here
# (adr-ckpt, adr-plot, adr-eval) and the test tools.
"${PIP[@]}" torch==2.13.0 attrs pydantic PyYAML numpy matplotlib h5py pytest hypothesis
"${PIP[@]}" --no-deps -e .
