"""Providers with in-memory exporters that a test owns, and helpers to read what they got."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chatspan import ChatspanInstrumentor
from tests.support.otlp_encoding import assert_otlp_encodable


@dataclass
class Recording:
    """What one instrumented test recorded."""

    exporter: InMemorySpanExporter = field(default_factory=InMemorySpanExporter)
    reader: InMemoryMetricReader = field(default_factory=InMemoryMetricReader)

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def only_span(self) -> ReadableSpan:
        spans = self.spans()
        assert len(spans) == 1, [s.name for s in spans]
        return spans[0]

    def metrics(self) -> dict[str, list[Any]]:
        """Metric name -> its data points."""
        data = self.reader.get_metrics_data()
        found: dict[str, list[Any]] = {}
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found

    def exemplars(self, *names: str) -> dict[str, list[list[tuple[int, int]]]]:
        """Metric name -> for each of its points, the (trace id, span id) of each of its exemplars.

        Collected once: the SDK empties its exemplar reservoirs at every collection.
        """
        metrics = self.metrics()
        return {
            name: [[(e.trace_id, e.span_id) for e in point.exemplars] for point in metrics[name]]
            for name in names
        }

    def assert_exemplars_of(self, span: ReadableSpan, *names: str) -> None:
        """Each point of each metric named keeps exactly one exemplar, and it points at `span`."""
        context = span.context
        assert context is not None
        for name, points in self.exemplars(*names).items():
            assert points and points == [[(context.trace_id, context.span_id)]] * len(points), (name, points)

    def everything_exported(self) -> str:
        """Every span as JSON, for searching for what must never appear."""
        return "\n".join(span.to_json() for span in self.spans())


@contextmanager
def instrumented() -> Iterator[Recording]:
    """Instrument with fresh providers for the length of the block; always uninstruments."""
    recording = Recording()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(recording.exporter))
    meter_provider = MeterProvider(metric_readers=[recording.reader])
    instrumentor = ChatspanInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        yield recording
    finally:
        instrumentor.uninstrument()
        # Every span and metric the suite records must be valid OTLP (one bad value fails a batch).
        spans, metrics = recording.spans(), recording.reader.get_metrics_data()
        tracer_provider.shutdown()
        meter_provider.shutdown()
    assert_otlp_encodable(spans, metrics)


def attributes(span: ReadableSpan) -> dict[str, Any]:
    """The span's attributes as a plain dict (tuples kept as the SDK stores them)."""
    return dict(span.attributes or {})


def parsed_json(value: object) -> Any:
    assert isinstance(value, str)
    return json.loads(value)


def point_attributes(points: list[Any]) -> list[Mapping[str, Any]]:
    return [dict(point.attributes) for point in points]
