"""A stored completion or response -> one finished span: deterministic ids, timed at its creation.

The list holds no duration, so the span is zero-length and says where it came from
(`chatspan.source`=`backfill`). Its attributes come from the same mapping as a live span's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags
from opentelemetry.util.types import AttributeValue

from chatspan import semconv
from chatspan.mapping._values import as_count, as_float, as_text, field
from chatspan.mapping.completion import completion_attributes
from chatspan.mapping.messages import input_message_attributes, output_message_attributes
from chatspan.mapping.request import (
    opt_in_request_attributes,
    request_attributes,
    span_name,
)
from chatspan.mapping.response_messages import response_input_attributes, response_output_attributes
from chatspan.mapping.responses import (
    response_object_attributes,
    responses_request_attributes,
)
from chatspan.mapping.traceparent import parse_traceparent
from chatspan.version import __version__

SOURCE_BACKFILL = "backfill"
MAX_SECONDS = 2**63 // 1_000_000_000
"""The first unix second OTLP's uint64 nanoseconds cannot carry."""
SCOPE = InstrumentationScope("chatspan.backfill", __version__, "https://opentelemetry.io/schemas/1.37.0")

# Stored completions repeat the request fields that the live path reads from create()'s arguments.
_REQUEST_FIELDS = (
    "seed",
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "service_tier",
    "metadata",
    "response_format",
)


def span_ids(completion_id: str) -> tuple[int, int]:
    """Derive (trace id, span id) from a completion id: the same completion always gives the same span."""
    # surrogatepass: an id with a lone surrogate (a JSON escape) still hashes, to the same ids each run.
    digest = hashlib.sha256(
        b"chatspan.backfill\x00" + completion_id.encode("utf-8", "surrogatepass")
    ).digest()
    # Ids of all zeros are invalid in W3C trace context; a sha256 prefix of zeros is only theoretical.
    trace_id = int.from_bytes(digest[:16], "big") or 1
    span_id = int.from_bytes(digest[16:24], "big") or 1
    return trace_id, span_id


def stored_span(
    completion: Any,
    *,
    resource: Resource,
    capture_content: bool,
    messages: Sequence[Any] | None = None,
) -> ReadableSpan:
    """Build the finished span of one stored completion (an SDK object or its JSON dict).

    When its metadata carries `chatspan.traceparent`, the span joins that trace as a child of the
    live span and is named `stored chat {model}`.
    """
    completion_id = str(field(completion, "id"))
    model = field(completion, "model")
    request = {name: field(completion, name) for name in _REQUEST_FIELDS}
    request["model"] = model
    request["store"] = True
    attributes: dict[str, AttributeValue] = request_attributes(request)
    # Whether the call streamed is not stored; the live mapping's "absent means False" would lie here.
    attributes.pop(gen_ai.GEN_AI_REQUEST_STREAM, None)
    attributes.update(completion_attributes(completion))
    request_id = as_text(field(completion, "request_id"))
    if request_id:
        attributes[semconv.OPENAI_REQUEST_ID] = request_id
    attributes[semconv.CHATSPAN_SOURCE] = SOURCE_BACKFILL
    if capture_content:
        attributes.update(
            opt_in_request_attributes(field(completion, "tools"), field(completion, "input_user"))
        )
        if messages is not None:
            attributes.update(input_message_attributes(messages))
        attributes.update(output_message_attributes(field(completion, "choices") or ()))

    created = as_count(field(completion, "created"))
    return _record_span(completion_id, model, attributes, created, field(completion, "metadata"), resource)


# Response fields that repeat the request's arguments (what the live span reads from create()).
_RESPONSE_REQUEST_FIELDS = (
    "temperature",
    "top_p",
    "max_output_tokens",
    "reasoning",
    "previous_response_id",
    "conversation",
    "service_tier",
    "store",
    "background",
    "truncation",
    "tools",
    "metadata",
    "text",
)


def response_span(
    response: Any,
    *,
    resource: Resource,
    capture_content: bool,
    input_items: Sequence[Any] | None = None,
) -> ReadableSpan:
    """Build the finished span of one stored Response (SDK object or JSON), timed at `created_at`.

    The same attributes as the live span of its create call, by the same mapping (tokens included:
    this span stands for the call, not for a fetch of it); content with capture on.
    """
    response_id = str(field(response, "id"))
    model = field(response, "model")
    request = {name: field(response, name) for name in _RESPONSE_REQUEST_FIELDS}
    request["model"] = model
    attributes = responses_request_attributes({k: v for k, v in request.items() if v is not None})
    attributes.pop(gen_ai.GEN_AI_REQUEST_STREAM, None)
    attributes.update(response_object_attributes(response))
    attributes[semconv.CHATSPAN_SOURCE] = SOURCE_BACKFILL
    if capture_content:
        attributes.update(
            response_input_attributes(
                {"input": list(input_items or ()), "instructions": field(response, "instructions")}
            )
        )
        attributes.update(response_output_attributes(response))
    created = as_float(field(response, "created_at"))
    seconds = created if created is not None and 0 <= created < MAX_SECONDS else None
    return _record_span(response_id, model, attributes, seconds, field(response, "metadata"), resource)


def _record_span(
    record_id: str,
    model: object,
    attributes: dict[str, AttributeValue],
    created: float | None,
    metadata: object,
    resource: Resource,
) -> ReadableSpan:
    """The zero-length span of one stored record: deterministic ids, the live trace when linked."""
    trace_id, span_id = span_ids(record_id)
    parent = (
        parse_traceparent(metadata.get(semconv.TRACEPARENT_METADATA_KEY))
        if isinstance(metadata, dict)
        else None
    )
    name = span_name(model)
    if parent is not None:
        trace_id = parent.trace_id
        name = f"stored {name}"
    # OTLP times are uint64 nanoseconds: a `created` beyond that would fail the whole batch's export.
    timestamp = nanos(created)
    return ReadableSpan(
        name=name,
        context=SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED)),
        parent=parent,
        resource=resource,
        attributes=frozen_attributes(attributes),
        kind=SpanKind.CLIENT,
        start_time=timestamp,
        end_time=timestamp,
        instrumentation_scope=SCOPE,
    )


def nanos(seconds: float | None) -> int:
    """Unix seconds as OTLP's uint64 nanoseconds; 0 (unknown) when absent or out of range."""
    if seconds is None or not 0 <= seconds < MAX_SECONDS:
        return 0
    return int(seconds * 1_000_000_000)


def frozen_attributes(attributes: dict[str, AttributeValue]) -> MappingProxyType[str, AttributeValue]:
    """Attributes as a finished span keeps them, skipping the SDK's per-value cleaning.

    The mapping only makes valid values (a tenth of a backfill's CPU went to re-checking them);
    sequences become tuples, as on a live span. `attributes` is the span's own: it is kept, not copied.
    """
    for key, value in attributes.items():
        if isinstance(value, list):
            attributes[key] = tuple(value)  # a value replaced, none added: the walk stays valid
    return MappingProxyType(attributes)
