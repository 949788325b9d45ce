#!/usr/bin/env bash
# Set up learncomm with its test extras and run the whole test suite.
# pytest's exit code 5 (no tests collected) is a failure here, never a pass.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test,local-llm,dask
# Static checks first (ruff, import-linter, mypy; about 30-60 s cold, a few seconds with mypy's cache):
# a failure stops here, before the long test run.
bash scripts/check.sh
# The dashboard tests drive a real browser: Debian's chromium (Playwright never downloads one).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium for the dashboard browser tests (apt-get)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null \
      || echo "warning: apt-get could not install chromium; the browser tests will skip (or fail with LEARNCOMM_REQUIRE_BROWSER=1)" >&2
  else
    echo "note: chromium is not installed (install it with: sudo apt-get install -y chromium); the dashboard browser tests will skip (or fail with LEARNCOMM_REQUIRE_BROWSER=1)" >&2
  fi
fi
set +e
.venv/bin/python -m pytest "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$code"
