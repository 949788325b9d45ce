#!/usr/bin/env bash
# Set up learncomm with its test extras and run the whole test suite.
# pytest's exit code 5 (no tests collected) is a failure here, never a pass.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test,local-llm
set +e
.venv/bin/python -m pytest "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$code"
