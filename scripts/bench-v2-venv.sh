#!/usr/bin/env bash
# Create (or bring up to date) the second bench venv: the contrib openai-v2 instrumentation.
#
#   scripts/bench-v2-venv.sh [VENV_DIR]     default: <repo>/.venv-bench-v2
#
# opentelemetry-instrumentation-openai-v2 registers the same `openai` entry-point name as the
# official opentelemetry-instrumentation-genai-openai, so the two never share a venv. On openai 3 it
# also needs `httpx` (it imports it; openai 3 itself moved to httpx2) and opentelemetry-util-genai 1.1b0.
# bench/instructions.py runs its openai-v2 child in this venv's python.
#
# Environment:
#   PYTHON          interpreter to create the venv with (default: python3)
#   OPENAI_SPEC     openai requirement (default: the version in <repo>/.venv)
#   V2_SPEC         the contrib instrumentation (default: opentelemetry-instrumentation-openai-v2==2.4b0)
#
# Idempotent: rerunning reuses the venv and only installs what changed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$repo/.venv-bench-v2}"
python="${PYTHON:-python3}"
v2="${V2_SPEC:-opentelemetry-instrumentation-openai-v2==2.4b0}"

if [[ -z "${OPENAI_SPEC:-}" ]]; then
    dev_openai="$("$repo/.venv/bin/python" -c 'import openai; print(openai.__version__)' 2>/dev/null || true)"
    OPENAI_SPEC="openai${dev_openai:+==$dev_openai}"
fi

if [[ ! -x "$venv/bin/python" ]]; then
    echo "bench-v2-venv: creating $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
fi

echo "bench-v2-venv: installing chatspan (editable), $OPENAI_SPEC, $v2"
# chatspan is installed too: the bench script imports its mapping to build the canned bodies.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -e "$repo" "$OPENAI_SPEC" "$v2" httpx "opentelemetry-util-genai==1.1b0"

"$venv/bin/python" - <<'PY'
import importlib.metadata as md

from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor  # noqa: F401

names = ("openai", "opentelemetry-instrumentation-openai-v2", "opentelemetry-util-genai", "opentelemetry-sdk")
print("bench-v2-venv: ready:", ", ".join(f"{name} {md.version(name)}" for name in names))
PY
