"""W3C traceparent <-> stored-completion metadata, for trace-linked storage.

The live span writes its traceparent into a `store=True` request's metadata; the backfill reads it
back to put the stored completion into the original trace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from opentelemetry.trace import SpanContext, TraceFlags

from chatspan.semconv import TRACEPARENT_METADATA_KEY

MAX_METADATA_PAIRS = 16
"""OpenAI accepts at most this many metadata pairs."""

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def format_traceparent(context: SpanContext) -> str:
    """Format a span context as a version-00 W3C traceparent."""
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def parse_traceparent(value: object) -> SpanContext | None:
    """Parse a version-00 traceparent into a remote span context; None when malformed or all-zero."""
    if not isinstance(value, str):
        return None
    match = _TRACEPARENT.match(value.strip())
    if match is None:
        return None
    trace_id, span_id = int(match.group(1), 16), int(match.group(2), 16)
    if trace_id == 0 or span_id == 0:
        return None
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(int(match.group(3), 16)))


def metadata_with_traceparent(metadata: object, context: SpanContext) -> dict[str, str] | None:
    """Return a copy of `metadata` with the traceparent added, or None when it must not be added.

    Not added when the span context is invalid (tracing is off), when the user already uses the key
    (never overwritten), when metadata is not a mapping, or when it already holds the maximum of pairs.
    """
    if not context.is_valid:
        return None
    if metadata is None:
        return {TRACEPARENT_METADATA_KEY: format_traceparent(context)}
    if not isinstance(metadata, Mapping) or TRACEPARENT_METADATA_KEY in metadata:
        return None
    if len(metadata) >= MAX_METADATA_PAIRS:
        return None
    return {**metadata, TRACEPARENT_METADATA_KEY: format_traceparent(context)}
