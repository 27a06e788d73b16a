"""Export that proves delivery: the checkpoint may move only after this returns.

A span processor's `force_flush()` returns True even when the collector rejected the batch; the
exporter's own `SpanExportResult` is the only word on delivery, so batches go straight to it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

logger = logging.getLogger(__name__)


class ExportFailed(Exception):
    """The collector did not accept a batch after every retry."""


class VerifiedExport:
    """Send a batch and wait for the exporter's verdict, retrying with exponential backoff.

    `destination` names where the exporter sends (its endpoint), for the error message.
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        attempts: int = 5,
        first_delay: float = 0.5,
        max_delay: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        destination: str = "the collector",
    ) -> None:
        self._exporter = exporter
        self._destination = destination
        self._attempts = attempts
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._sleep = sleep

    def export(self, spans: Sequence[ReadableSpan]) -> None:
        """Deliver `spans` or raise ExportFailed; an exporter that raises counts as a failure."""
        if not spans:
            return
        delay = self._first_delay
        for attempt in range(1, self._attempts + 1):
            try:
                result = self._exporter.export(spans)
            except Exception:
                logger.debug("exporter raised on attempt %d", attempt, exc_info=True)
                result = SpanExportResult.FAILURE
            if result is SpanExportResult.SUCCESS:
                return
            if attempt < self._attempts:
                logger.info(
                    "the collector did not accept %d spans (attempt %d); retrying", len(spans), attempt
                )
                self._sleep(delay)
                delay = min(delay * 2, self._max_delay)
        raise ExportFailed(
            f"the collector did not accept {len(spans)} spans after {self._attempts} attempts "
            f"({self._destination}); "
            "nothing past the last confirmed batch is marked done: run again to resume"
        )

    def shutdown(self) -> None:
        """Shut the exporter down (closes its connections)."""
        self._exporter.shutdown()
