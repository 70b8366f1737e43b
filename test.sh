#!/usr/bin/env bash
# Set up .venv (first time only) and run the test suite.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup_venv.sh
exec .venv/bin/python -m pytest -q "$@"
