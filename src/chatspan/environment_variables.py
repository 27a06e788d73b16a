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


OTEL_SEMCONV_STABILITY_OPT_IN = "OTEL_SEMCONV_STABILITY_OPT_IN"
"""A comma-separated list, read as the official OpenTelemetry instrumentations read it: with
`gen_ai_latest_experimental` in it, chatspan emits the GenAI conventions as they stand in their own
repository (`gen_ai.client.inference.*` metrics, usage counters per token type,
`gen_ai.usage.cache_write.input_tokens`) instead of the earlier names. Default: the earlier names."""

GEN_AI_LATEST_EXPERIMENTAL = "gen_ai_latest_experimental"


def opts_in_to_latest_gen_ai(value: str | None) -> bool:
    """Whether an OTEL_SEMCONV_STABILITY_OPT_IN value asks for the latest GenAI conventions."""
    return value is not None and GEN_AI_LATEST_EXPERIMENTAL in (part.strip() for part in value.split(","))
