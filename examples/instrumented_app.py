"""The tour of app.py, instrumented in code instead of by `opentelemetry-instrument`.

    python examples/instrumented_app.py

Builds the providers by hand, as an application that configures OpenTelemetry itself does, and
hands them to `ChatspanInstrumentor().instrument(...)`: spans to OTLP/HTTP when
OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set, and always one line per span on the
console; metrics kept in memory and summed up at the end. Then it runs app.py's tour unchanged,
uninstruments, and shuts the providers down, which flushes what is left to export.
Where the calls go is app.py's rule: OPENAI_BASE_URL / OPENAI_API_KEY, else an in-process devserver.
"""

from __future__ import annotations

import os
import sys

import app
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

from chatspan import ChatspanInstrumentor

SERVICE = "chatspan-instrumented-example"


def span_line(span: ReadableSpan) -> str:
    """One console line per span instead of the console exporter's JSON."""
    attributes = span.attributes or {}
    duration = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    status = f" {span.status.status_code.name}" if not span.status.is_ok else ""
    return (
        f"  span  {span.name}  {duration:.1f} ms  request {attributes.get('openai.request.id', '-')}"
        f"  retries {attributes.get('openai.retries', '-')}{status}\n"
    )


def main() -> int:
    """Instrument, run the tour, report the metrics, shut down; returns the tour's exit code."""
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(formatter=span_line)))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        # Imported only when used: the exporter reads its endpoint and headers from OTEL_* itself.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    metrics = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[metrics])

    instrumentor = ChatspanInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        code = app.main()
    finally:
        instrumentor.uninstrument()
    print_metrics(metrics)
    tracer_provider.shutdown()
    meter_provider.shutdown()
    return code


def print_metrics(reader: InMemoryMetricReader) -> None:
    """Each metric chatspan recorded, with how many points (model and error combinations) it has."""
    data = reader.get_metrics_data()
    if data is None:
        return
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                points = list(metric.data.data_points)
                print(f"  metric  {metric.name} ({metric.unit}): {len(points)} point(s)")


if __name__ == "__main__":
    sys.exit(main())
