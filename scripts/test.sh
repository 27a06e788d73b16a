#!/usr/bin/env bash
# The whole test command: lint and type-check once, then the pytest suite on the newest openai
# (in VENV) and on every pinned version of the matrix (in .venv-openai-VERSION).
# usage: scripts/test.sh VENV [OPENAI_VERSION ...]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$1
shift
mkdir -p test-output

echo "== ruff"
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
echo "== mypy"
"$venv/bin/mypy"

status=0
run_suite() {
  local dir=$1
  local label
  label=$("$dir/bin/python" -c 'import openai; print("openai-" + openai.__version__)')
  echo "== pytest on $label"
  if ! "$dir/bin/python" -m pytest -q -p no:cacheprovider --junitxml="test-output/junit-$label.xml" \
      --basetemp="test-output/tmp-$label" tests; then
    status=1
  fi
}

run_suite "$venv"
for version in "$@"; do
  run_suite ".venv-openai-$version"
done
exit $status
