#!/usr/bin/env bash
# Create the virtual environment that runs Arize Phoenix for the end-to-end tests.
# Phoenix gets a venv of its own because its hundreds of dependencies (and their pins) must not
# decide which opentelemetry or openai version chatspan is tested with.
# Idempotent: does nothing when the pinned Phoenix is already installed there.
# usage: scripts/phoenix-venv.sh [DIR]   (default .venv-phoenix; PYTHON picks the interpreter)
set -euo pipefail
# Bump on purpose: tests/support/phoenix.py relies on this version's settings and REST API.
PHOENIX_VERSION=20.26.1
dir=${1:-.venv-phoenix}
python=${PYTHON:-python3}
cd "$(dirname "$0")/.."

installed_version() {
  "$dir/bin/python" - <<'EOF' 2>/dev/null || true
from importlib.metadata import PackageNotFoundError, version
try:
    print(version("arize-phoenix"))
except PackageNotFoundError:
    pass
EOF
}

if [ -x "$dir/bin/python" ] && [ "$(installed_version)" = "$PHOENIX_VERSION" ]; then
  echo "$dir: arize-phoenix $PHOENIX_VERSION already installed"
  exit 0
fi
"$python" -m venv "$dir"
"$dir/bin/python" -m pip install --quiet --upgrade pip
"$dir/bin/python" -m pip install --quiet "arize-phoenix==$PHOENIX_VERSION"
echo "$dir: arize-phoenix $(installed_version)"
