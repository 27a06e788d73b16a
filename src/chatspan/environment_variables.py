"""Every environment variable chatspan reads, one constant each.

Values are read when `instrument()` runs, so a process sets them before starting.
"""

from __future__ import annotations

OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""`true` records `gen_ai.input.messages`, `gen_ai.output.messages` and `gen_ai.system_instructions`
(message content) on spans. Default `false`: content never leaves the process."""

CHATSPAN_STREAM_INCLUDE_USAGE = "CHATSPAN_STREAM_INCLUDE_USAGE"
"""`true` adds `stream_options={"include_usage": true}` to streaming calls that did not ask for it,
so every stream reports token usage. The extra usage chunk is consumed by chatspan and never reaches
the application. Default `false`."""

CHATSPAN_LINK_STORED = "CHATSPAN_LINK_STORED"
"""`true` adds the span's W3C traceparent to the `metadata` of `store=True` calls under the key
`chatspan.traceparent`, so a later `chatspan backfill` can put the stored completion into the
original trace. Never overwrites a user key; skipped when metadata already holds 16 pairs.
Default `false`."""


def env_flag(value: str | None) -> bool:
    """Read a boolean environment value the way OpenTelemetry does: only `true` (any case) is on."""
    return value is not None and value.strip().lower() == "true"
