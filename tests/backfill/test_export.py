from __future__ import annotations

from collections.abc import Sequence

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from chatspan.backfill.export import ExportFailed, VerifiedExport
from chatspan.backfill.spans import stored_span

SPANS = [
    stored_span({"id": f"c{i}", "created": 1, "model": "m"}, resource=Resource({}), capture_content=False)
    for i in range(3)
]


class Scripted(SpanExporter):
    """Answers each export with the next scripted result (an exception is raised)."""

    def __init__(self, *results: SpanExportResult | Exception) -> None:
        self.results = list(results)
        self.batches: list[list[ReadableSpan]] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.batches.append(list(spans))
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result


def test_success_first_time() -> None:
    exporter = Scripted(SpanExportResult.SUCCESS)
    VerifiedExport(exporter, sleep=lambda _: None).export(SPANS)
    assert exporter.batches == [SPANS]


def test_failures_are_retried_with_growing_backoff() -> None:
    delays: list[float] = []
    exporter = Scripted(SpanExportResult.FAILURE, RuntimeError("boom"), SpanExportResult.SUCCESS)
    VerifiedExport(exporter, first_delay=0.5, sleep=delays.append).export(SPANS)
    assert len(exporter.batches) == 3
    assert delays == [0.5, 1.0]


def test_gives_up_with_a_clear_error() -> None:
    delays: list[float] = []
    exporter = Scripted(*[SpanExportResult.FAILURE] * 4)
    with pytest.raises(ExportFailed, match="did not accept 3 spans after 4 attempts"):
        VerifiedExport(exporter, attempts=4, first_delay=1, max_delay=2, sleep=delays.append).export(SPANS)
    assert delays == [1, 2, 2]


def test_empty_batch_sends_nothing() -> None:
    exporter = Scripted()
    VerifiedExport(exporter).export([])
    assert exporter.batches == []
