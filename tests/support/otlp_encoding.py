"""Encode what a test recorded with the OTLP protobuf encoders, and fail on anything they refuse.

The encoders raise on some invalid values (an int beyond int64 in a timestamp, a lone surrogate in
a span name) and log-and-drop others (the same in an attribute): both count as a failure here,
since either way a user's backend loses data.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics.export import MetricsData
from opentelemetry.sdk.trace import ReadableSpan

_ENCODER_LOGGER = "opentelemetry.exporter.otlp.proto.common"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def assert_otlp_encodable(spans: Sequence[ReadableSpan], metrics: MetricsData | None = None) -> int:
    """Encode `spans` (and `metrics`) as an OTLP exporter would; return the encoded size in bytes."""
    records = _Records()
    logger = logging.getLogger(_ENCODER_LOGGER)
    logger.addHandler(records)
    try:
        size = len(encode_spans(spans).SerializeToString()) if spans else 0
        if metrics is not None:
            size += len(encode_metrics(metrics).SerializeToString())
    finally:
        logger.removeHandler(records)
    assert not records.messages, f"the OTLP encoder dropped values: {records.messages}"
    return size
