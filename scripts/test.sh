#!/usr/bin/env bash
# Installs everything the tests need into .venv (and Isaac Lab into
# .venv-isaaclab) and runs the whole suite: pytest in .venv, pytest
# tests/isaaclab in .venv-isaaclab (real Isaac Lab 3.0 on Newton, CPU), mypy
# --strict on src/, and ruff. Safe to run again (reuses both venvs).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
# torch first, pinned: any other version pulls gigabytes of CUDA packages.
pip install --quiet torch==2.13.0
pip install --quiet -c constraints.txt -e '.[dev,lab]' torch==2.13.0

export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
# tests/isaaclab needs Isaac Lab, which pins other warp/mujoco-warp than mjlab.
python -m pytest -n 2 --ignore=tests/isaaclab "$@"
./scripts/isaaclab_venv.sh
.venv-isaaclab/bin/python -m pytest tests/isaaclab
mypy --strict src
ruff check src tests benchmarks
ruff format --check src tests benchmarks
