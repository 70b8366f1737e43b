#!/usr/bin/env bash
# Set up .venv (first time only) and run ACCO on the default inputs.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup_venv.sh
exec .venv/bin/python -m acco layer inputs/hardware/Meta_prototype_DF.yaml \
  inputs/workloads/Meta_prototype/stftCNN_fixed_unrolling_oxoy_025_1x.yaml --layer 4 \
  --temporal-mapping inputs/mappings/stftCNN_1x_layer4_Meta_prototype_DF.yaml "$@"
