#!/usr/bin/env bash
# Set up .venv (first time only) and run the whole ACCO pipeline (python -m acco run):
#   Step 1 (costs of every scenario) -> Step 2 (tables) -> Step 3 (best strategies, baselines, plots).
#   ./run.sh [--sweep inputs/sweeps/default.yaml] [--out outputs] [--jobs N] [--force] ...   (./run.sh --help)
# Exit code: 0 done, 1 some scenarios failed (the tables hold the rest), 2 bad input, 3 environment, 130/143 interrupted.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup_venv.sh
exec .venv/bin/python -m acco run "$@"
