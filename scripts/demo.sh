#!/usr/bin/env bash
# `make demo`: the example app and a backfill, traced into a real viewer, on a fresh machine with no
# API key and no Docker. Everything listens on 127.0.0.1 only.
#
#   scripts/demo.sh VENV          (make demo: scripts/demo.sh .venv)
#
# 1. chatspan.devserver with 300 seeded stored completions (the OpenAI API instead when
#    OPENAI_API_KEY is set; CHATSPAN_MODEL picks the model, default gpt-4o-mini);
# 2. Arize Phoenix as the trace viewer, from its own venv (created here on first use), unless
#    OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) already names one, e.g. the Jaeger stack
#    of examples/jaeger (set OTEL_EXPORTER_OTLP_PROTOCOL=grpc for a gRPC endpoint);
# 3. opentelemetry-instrument python examples/app.py; 4. chatspan backfill;
# 5. one line per span the viewer received, and the URL to open.
# Phoenix keeps running afterwards; `make demo-stop` (scripts/demo-stop.sh) ends it.
#
# Environment: CHATSPAN_DEMO_DIR (pid files, logs, Phoenix's data; default .demo),
# CHATSPAN_DEMO_PORT (Phoenix's port, default 6006 or any free one; 0: any free one),
# CHATSPAN_PHOENIX_VENV (default .venv-phoenix).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:?usage: scripts/demo.sh VENV}
phoenix_venv=${CHATSPAN_PHOENIX_VENV:-.venv-phoenix}

# A second `make demo` replaces the first: stop what the previous one left running.
scripts/demo-stop.sh --quiet

if [ -z "${OTEL_EXPORTER_OTLP_ENDPOINT:-}${OTEL_EXPORTER_OTLP_TRACES_ENDPOINT:-}" ]; then
  if [ ! -x "$phoenix_venv/bin/python" ]; then
    echo "First run: installing Arize Phoenix into $phoenix_venv (its own venv; about 1-2 minutes) ..."
  fi
  # Idempotent and quick when Phoenix is already there.
  scripts/phoenix-venv.sh "$phoenix_venv" >/dev/null
fi
exec "$venv/bin/python" -m scripts.demo_run --venv "$venv" --phoenix-venv "$phoenix_venv"
