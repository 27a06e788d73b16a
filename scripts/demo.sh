#!/usr/bin/env bash
# The main job on the embedded default: the example app, zero-code instrumented, against the local
# OpenAI-compatible server (started by the app when no OPENAI_BASE_URL/OPENAI_API_KEY is set).
# Spans go to the console, and also over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
# usage: scripts/demo.sh VENV
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$1
exporters=console
if [ -n "${OTEL_EXPORTER_OTLP_ENDPOINT:-}${OTEL_EXPORTER_OTLP_TRACES_ENDPOINT:-}" ]; then
  exporters=console,otlp
fi
export OTEL_SERVICE_NAME=${OTEL_SERVICE_NAME:-chatspan-demo}
export OTEL_TRACES_EXPORTER=${OTEL_TRACES_EXPORTER:-$exporters}
export OTEL_METRICS_EXPORTER=${OTEL_METRICS_EXPORTER:-none}
export OTEL_LOGS_EXPORTER=${OTEL_LOGS_EXPORTER:-none}
exec "$venv/bin/opentelemetry-instrument" "$venv/bin/python" examples/app.py
