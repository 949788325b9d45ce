#!/usr/bin/env bash
# Set up learncomm and run the default scenario (community): results in results/, summary on screen,
# and last the path of the run's dashboard (results/<run>/dashboard.html; results/index.html lists every run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/learncomm run community "$@"
