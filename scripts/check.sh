#!/usr/bin/env bash
# Static checks: ruff (lint and format), import-linter (the layers of docs/architecture.md), mypy.
# Run by scripts/test.sh before the tests; on its own: bash scripts/check.sh (after scripts/setup.sh test).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
py=.venv/bin
"$py/ruff" check sim agents roles learncomm tests benchmarks
"$py/ruff" format --check sim agents roles learncomm tests benchmarks
# import-linter and mypy find modules on disk, but sim/, agents/ and roles/ install as
# learncomm.sim, learncomm.agents and learncomm.roles (pyproject.toml's package-dir). A folder
# of links in that shape lets both see the installed names; run from there so the repository's
# own learncomm/ folder does not shadow it.
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir "$tree/learncomm"
cp learncomm/*.py "$tree/learncomm/"
for d in sim agents roles; do ln -s "$repo/$d" "$tree/learncomm/$d"; done
(cd "$tree" && "$repo/$py/lint-imports" "$repo/pyproject.toml")
(cd "$tree" && "$repo/$py/mypy" --config-file "$repo/pyproject.toml" --cache-dir "$repo/.mypy_cache" -p learncomm)
echo "static checks passed"
