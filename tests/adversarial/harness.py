"""What every adversarial child shares: instrumenting with counting providers, and clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import openai
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider

from chatspan import ChatspanInstrumentor
from tests.adversarial.accounting import CountingProcessor, encoding_problems

CLIENT_TIMEOUT = 3.0
"""Seconds of the SDK's HTTP timeout: every hostile case that stalls ends within it."""


@dataclass
class Instrumented:
    """chatspan instrumented with a counting tracer provider and an in-memory metric reader."""

    processor: CountingProcessor
    tracer_provider: TracerProvider
    reader: InMemoryMetricReader = field(default_factory=InMemoryMetricReader)

    def snapshot(self) -> tuple[int, int, int]:
        """(started, ended, finished kept) now."""
        processor = self.processor
        return processor.started, processor.ended, len(processor.finished)

    def problems_since(self, before: tuple[int, int, int], *, raised: bool) -> list[str]:
        """What is wrong with the spans of the one call made since `before`."""
        started, ended, kept = self.snapshot()
        problems = []
        if started - before[0] != 1:
            problems.append(f"spans started: {started - before[0]} (one logical call)")
        if ended - before[1] != started - before[0]:
            problems.append(f"spans ended: {ended - before[1]} of {started - before[0]} started")
        spans: list[ReadableSpan] = self.processor.finished[before[2] : kept]
        if raised:
            unset = [s.name for s in spans if s.status.status_code.name != "ERROR"]
            if unset or not spans:
                problems.append(f"the application saw an error but the span status is not ERROR: {unset}")
        problems += encoding_problems(spans, None)
        return problems

    def statuses_since(self, before: tuple[int, int, int]) -> list[str]:
        """The status codes (`UNSET`, `OK`, `ERROR`) of the spans ended since `before`."""
        return [span.status.status_code.name for span in self.processor.finished[before[2] :]]

    def metric_problems(self) -> list[str]:
        """What the OTLP encoder refuses in the metrics recorded so far."""
        return encoding_problems([], self.reader.get_metrics_data())


def instrument(*, keep: bool, metrics: bool = True) -> Instrumented:
    """Instrument chatspan (for the life of the child) with counting, exporter-free providers.

    `metrics=False` gives chatspan the no-op meter provider instead of the SDK's.
    """
    processor = CountingProcessor(keep=keep)
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(processor)
    instrumented = Instrumented(processor=processor, tracer_provider=tracer_provider)
    meter_provider = MeterProvider(metric_readers=[instrumented.reader]) if metrics else NoOpMeterProvider()
    ChatspanInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    return instrumented


def clients(base_url: str, *, asynchronous: bool) -> tuple[Any, Any]:
    """(a client that never retries, one that retries once) against `base_url`."""
    make: Any = openai.AsyncOpenAI if asynchronous else openai.OpenAI
    plain = make(base_url=base_url, api_key="sk-hostile", max_retries=0, timeout=CLIENT_TIMEOUT)
    retrying = make(base_url=base_url, api_key="sk-hostile", max_retries=1, timeout=CLIENT_TIMEOUT)
    return plain, retrying
