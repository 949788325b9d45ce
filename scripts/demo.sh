#!/usr/bin/env bash
# Set up learncomm and run the default scenario (community): results in results/, summary on screen.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/learncomm run community "$@"
