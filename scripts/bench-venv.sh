#!/usr/bin/env bash
# Create (or bring up to date) the venv that bench/overhead.py runs in.
#
#   scripts/bench-venv.sh [VENV_DIR]        default: <repo>/.venv-bench
#
# The official OpenAI instrumentation lives here and not in the dev venv: installed there, it would
# register an `opentelemetry_instrumentor` entry point and activate next to chatspan under
# `opentelemetry-instrument`, in the examples and the end-to-end tests.
#
# Environment:
#   PYTHON          interpreter to create the venv with (default: python3)
#   OPENAI_SPEC     openai requirement (default: the version in <repo>/.venv, so the benchmark
#                   measures the SDK the tests run against; plain `openai` when there is no dev venv)
#   OFFICIAL_SPEC   the official instrumentation (default: opentelemetry-instrumentation-genai-openai==1.3b0)
#
# Idempotent: rerunning reuses the venv and only installs what changed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$repo/.venv-bench}"
python="${PYTHON:-python3}"
official="${OFFICIAL_SPEC:-opentelemetry-instrumentation-genai-openai==1.3b0}"

if [[ -z "${OPENAI_SPEC:-}" ]]; then
    # Same openai as the dev venv; a bare `openai` otherwise (chatspan's extra bounds it from below).
    dev_openai="$("$repo/.venv/bin/python" -c 'import openai; print(openai.__version__)' 2>/dev/null || true)"
    OPENAI_SPEC="openai${dev_openai:+==$dev_openai}"
fi

# bench/instructions.py counts instructions with callgrind (Debian's valgrind).
if ! command -v valgrind >/dev/null 2>&1; then
    echo "bench-venv: installing valgrind (Debian) for bench/instructions.py"
    apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
fi

if [[ ! -x "$venv/bin/python" ]]; then
    echo "bench-venv: creating $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
fi

echo "bench-venv: installing chatspan (editable), $OPENAI_SPEC, $official"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -e "$repo" "$OPENAI_SPEC" "$official"

# Fail here, not halfway through a benchmark, when an install went wrong.
"$venv/bin/python" - <<'EOF'
import importlib.metadata as md

import chatspan  # noqa: F401
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor  # noqa: F401

names = ("openai", "opentelemetry-instrumentation-genai-openai", "opentelemetry-sdk", "chatspan")
print("bench-venv: ready:", ", ".join(f"{name} {md.version(name)}" for name in names))
EOF
echo "bench-venv: run the benchmark with $venv/bin/python $repo/bench/overhead.py"
