"""Span accounting for the adversarial children: started/ended counts, status and OTLP encodability.

The OTLP encoder does not raise on an invalid value: it logs "Failed to encode key ..." and drops
the attribute. `encoding_problems()` therefore listens to the encoder's logger as well as catching
what it raises, so that a surrogate or a 65-bit int is reported, not silently lost.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics.export import MetricsData
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

_ENCODER_LOGGER = "opentelemetry.exporter.otlp.proto.common"


class CountingProcessor(SpanProcessor):
    """Counts every span start and end; keeps ended spans only when `keep` (the leak run drops them)."""

    def __init__(self, *, keep: bool) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        # The fork check forks while other threads end spans: its children must not inherit a held lock.
        os.register_at_fork(after_in_child=self._reinit_lock)
        self.started = 0
        self.ended = 0
        self.finished: list[ReadableSpan] = []

    def _reinit_lock(self) -> None:
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Count a start."""
        with self._lock:
            self.started += 1

    def on_end(self, span: ReadableSpan) -> None:
        """Count an end (and keep the span when asked to)."""
        with self._lock:
            self.ended += 1
            if self._keep:
                self.finished.append(span)

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered."""
        return True


class _Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())


@contextmanager
def _encoder_complaints() -> Iterator[list[str]]:
    handler = _Collected()
    encoder_logger = logging.getLogger(_ENCODER_LOGGER)
    encoder_logger.addHandler(handler)
    propagate, encoder_logger.propagate = encoder_logger.propagate, False
    try:
        yield handler.records
    finally:
        encoder_logger.removeHandler(handler)
        encoder_logger.propagate = propagate


def encoding_problems(spans: Sequence[ReadableSpan], metrics: MetricsData | None) -> list[str]:
    """What the OTLP protobuf encoder refused (raised or logged) in these spans and metrics."""
    problems: list[str] = []
    with _encoder_complaints() as complaints:
        try:
            if spans:
                encode_spans(spans).SerializeToString()
        except Exception as error:
            problems.append(f"span encoding raised {type(error).__name__}: {error}")
        problems += [f"span encoding: {text}" for text in complaints]
        complaints.clear()
        try:
            if metrics is not None:
                encode_metrics(metrics).SerializeToString()
        except Exception as error:
            problems.append(f"metric encoding raised {type(error).__name__}: {error}")
        problems += [f"metric encoding: {text}" for text in complaints]
    return problems
