#!/usr/bin/env bash
# Set up .venv (first time only) and run the whole ACCO pipeline on the default sweep:
#   Step 1 (costs of every scenario) -> Step 2 (tables) -> Step 3 (best strategies, baselines, plots).
# Arguments go to Step 1 (e.g. --jobs 2, --force); --sweep FILE and --out DIR go to all three steps:
#   ./run.sh --sweep inputs/sweeps/paper.yaml --out outputs/paper
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup_venv.sh
PY=.venv/bin/python
shared=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --sweep|--out) shared+=("${args[i]}" "${args[i+1]:-}") ;;
    --sweep=*|--out=*) shared+=("${args[i]}") ;;
  esac
done
status=0
"$PY" DfStackCutAndXform_mp_misc.py "$@" || status=$?
if [ "$status" -ge 2 ]; then exit "$status"; fi   # 1 = some scenarios failed: report what is there
"$PY" explore_pickle_compile_readings.py "${shared[@]}" || [ $? -eq 1 ]
"$PY" explore_pickle_hierarchy_cache_allocation.py "${shared[@]}"
exit "$status"
