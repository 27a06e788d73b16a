"""A finished batch -> one trace: its root span over the batch's life, a child span per line.

Lines map through the same functions as live and stored calls (chat completions, responses);
ids derive from the batch id and each line's `custom_id`, so a re-run never duplicates a span.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import error_attributes, http_attributes
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util.types import AttributeValue

from chatspan import semconv
from chatspan.backfill.spans import MAX_SECONDS, SCOPE, SOURCE_BACKFILL, frozen_attributes, nanos
from chatspan.mapping._values import as_count, as_float, as_int, as_text, field
from chatspan.mapping.batches import batch_object_attributes
from chatspan.mapping.completion import completion_attributes, usage_attributes
from chatspan.mapping.messages import input_message_attributes, output_message_attributes
from chatspan.mapping.request import (
    PROVIDER_OPENAI,
    opt_in_request_attributes,
    request_attributes,
    span_name,
)
from chatspan.mapping.response_messages import response_input_attributes, response_output_attributes
from chatspan.mapping.responses import (
    response_error_attributes,
    response_object_attributes,
    responses_request_attributes,
    responses_usage_attributes,
)
from chatspan.mapping.traceparent import parse_traceparent

# A batch's phases, by the field that says when it entered each (the root span's events).
_BATCH_PHASES = (
    "in_progress_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)
_TERMINAL_TIMES = ("completed_at", "failed_at", "expired_at", "cancelled_at")
_CHAT_ENDPOINT = "/v1/chat/completions"
_RESPONSES_ENDPOINT = "/v1/responses"
_OPERATIONS = {"/v1/embeddings": gen_ai.GenAiOperationNameValues.EMBEDDINGS.value}


def batch_span_ids(batch_id: str, custom_id: str | None = None) -> tuple[int, int]:
    """Derive (trace id, span id) of a batch's root span (no `custom_id`) or of one of its lines.

    The trace id comes from the batch id alone, so every line of a batch joins one trace; a line's
    span id from the batch id and its `custom_id` (unique within a batch), the same on every run.
    """
    root = hashlib.sha256(b"chatspan.batch\x00" + batch_id.encode("utf-8", "surrogatepass")).digest()
    trace_id = int.from_bytes(root[:16], "big") or 1
    if custom_id is None:
        return trace_id, int.from_bytes(root[16:24], "big") or 1
    return trace_id, _line_span_id(_line_id_prefix(batch_id), custom_id)


def _line_id_prefix(batch_id: str) -> bytes:
    return b"chatspan.batch.line\x00" + batch_id.encode("utf-8", "surrogatepass") + b"\x00"


def _line_span_id(prefix: bytes, custom_id: str) -> int:
    digest = hashlib.sha256(prefix + custom_id.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") or 1


_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


def batch_end_time(batch: Any) -> int | None:
    """When a batch reached its terminal status (unix seconds), None while it has not."""
    for name in _TERMINAL_TIMES:
        moment = as_count(field(batch, name))
        if moment is not None:
            return moment
    return None


def batch_span(batch: Any, *, resource: Resource) -> ReadableSpan:
    """Build the root span `batch {id}` of a finished batch (SDK object or JSON), created to terminal time.

    One event per phase the batch entered; a failed batch carries its validation errors and status
    ERROR. With `chatspan.traceparent` in its metadata (CHATSPAN_LINK_STORED), the span links to
    the live `batch create` span: a link, not a parent, since the batch outlives that call.
    """
    batch_id = as_text(field(batch, "id")) or ""
    trace_id, span_id = batch_span_ids(batch_id)
    attributes: dict[str, AttributeValue] = {gen_ai.GEN_AI_PROVIDER_NAME: PROVIDER_OPENAI}
    attributes.update(batch_object_attributes(batch))
    model = as_text(field(batch, "model"))
    if model:
        attributes[gen_ai.GEN_AI_RESPONSE_MODEL] = model
    attributes.update(responses_usage_attributes(field(batch, "usage")))
    attributes[semconv.CHATSPAN_SOURCE] = SOURCE_BACKFILL
    status = Status(StatusCode.UNSET)
    if field(batch, "status") == "failed":
        errors = [_validation_error(error) for error in field(field(batch, "errors"), "data") or ()]
        if errors:
            attributes[semconv.OPENAI_BATCH_ERRORS] = errors
        first = field((field(field(batch, "errors"), "data") or [None])[0], "code")
        attributes[error_attributes.ERROR_TYPE] = as_text(first) or "failed"
        status = Status(StatusCode.ERROR, errors[0] if errors else "the batch failed")
    created = as_count(field(batch, "created_at"))
    start = nanos(created)
    end = max(start, nanos(batch_end_time(batch)))
    events = sorted(
        (
            Event(
                semconv.OPENAI_BATCH_PHASE_EVENT_PREFIX + name.removesuffix("_at"),
                timestamp=nanos(moment),
            )
            for name in _BATCH_PHASES
            if (moment := as_count(field(batch, name))) is not None
        ),
        key=lambda event: event.timestamp,
    )
    metadata = field(batch, "metadata")
    linked = (
        parse_traceparent(metadata.get(semconv.TRACEPARENT_METADATA_KEY))
        if isinstance(metadata, dict)
        else None
    )
    return ReadableSpan(
        name=f"batch {batch_id}",
        context=SpanContext(trace_id, span_id, is_remote=False, trace_flags=_SAMPLED),
        parent=None,
        resource=resource,
        attributes=frozen_attributes(attributes),
        events=events,
        links=[Link(linked)] if linked is not None else [],
        kind=SpanKind.CLIENT,
        status=status,
        start_time=start,
        end_time=end,
        instrumentation_scope=SCOPE,
    )


def batch_line_span(
    line: dict[str, Any],
    batch: Any,
    *,
    resource: Resource,
    capture_content: bool,
    request: dict[str, Any] | None = None,
) -> ReadableSpan:
    """Build the child span of one output or error line of `batch` (see `BatchLines.span`)."""
    return BatchLines.of(batch, resource=resource, capture_content=capture_content).span(line, request)


@dataclass(frozen=True)
class BatchLines:
    """Builds the line spans of one batch; what they share is worked out once, not once per line."""

    batch_id: str
    endpoint: object
    model: object
    end_time: int | None
    parent: SpanContext
    line_id_prefix: bytes
    resource: Resource
    capture_content: bool

    @classmethod
    def of(cls, batch: Any, *, resource: Resource, capture_content: bool) -> BatchLines:
        """The line spans of `batch` (SDK object or JSON), with content capture on or off."""
        batch_id = as_text(field(batch, "id")) or ""
        trace_id, root_id = batch_span_ids(batch_id)
        return cls(
            batch_id=batch_id,
            endpoint=field(batch, "endpoint"),
            model=field(batch, "model"),
            end_time=batch_end_time(batch),
            parent=SpanContext(trace_id, root_id, is_remote=False, trace_flags=_SAMPLED),
            line_id_prefix=_line_id_prefix(batch_id),
            resource=resource,
            capture_content=capture_content,
        )

    def span(self, line: dict[str, Any], request: dict[str, Any] | None = None) -> ReadableSpan:
        """Build the child span of one output or error line, a child of the batch's root span.

        Chat completion bodies map like a stored completion (`chat {model}`, timed at `created`),
        `/v1/responses` bodies through the Responses mapping, other endpoints to a minimal span
        (status, ids, usage). Error lines and non-2xx responses have status ERROR with
        `error.type` (the code). `request` is the body of the input line with the same
        `custom_id`: the request's parameters, and with content capture its messages. A line
        without its own time sits at the batch's end.
        """
        batch_id = self.batch_id
        capture_content = self.capture_content
        custom_id = as_text(line.get("custom_id")) or ""
        endpoint = self.endpoint
        response = line.get("response")
        status_code = as_int(field(response, "status_code"))
        body = field(response, "body") if isinstance(response, dict) else None
        body = body if isinstance(body, dict) else None
        error = line.get("error")
        succeeded = (
            error is None and status_code is not None and 200 <= status_code < 300 and body is not None
        )
        asked = request if isinstance(request, dict) else {}
        model = field(body, "model") or asked.get("model") or self.model

        created: float | None
        if endpoint == _CHAT_ENDPOINT:
            attributes = _chat_line_attributes(asked, model, body if succeeded else None, capture_content)
            name = span_name(model)
            created = as_count(field(body, "created")) if succeeded else None
        elif endpoint == _RESPONSES_ENDPOINT:
            answer = body if succeeded else None
            attributes = _responses_line_attributes(asked, model, answer, capture_content)
            name = span_name(model)
            created = as_float(field(body, "created_at")) if succeeded else None
        else:
            operation = _OPERATIONS.get(str(endpoint), as_text(endpoint) or "request")
            attributes = {
                gen_ai.GEN_AI_OPERATION_NAME: operation,
                gen_ai.GEN_AI_PROVIDER_NAME: PROVIDER_OPENAI,
            }
            model_text = as_text(model)
            if model_text:
                attributes[gen_ai.GEN_AI_REQUEST_MODEL] = model_text
                if succeeded:
                    attributes[gen_ai.GEN_AI_RESPONSE_MODEL] = model_text
            if succeeded:
                attributes.update(usage_attributes(field(body, "usage")))
            name = f"{operation} {model_text}" if model_text else operation
            created = None

        request_id = as_text(field(response, "request_id"))
        if request_id:
            attributes[semconv.OPENAI_REQUEST_ID] = request_id
        attributes[semconv.OPENAI_BATCH_ID] = batch_id
        attributes[semconv.OPENAI_BATCH_CUSTOM_ID] = custom_id
        line_id = as_text(line.get("id"))
        if line_id:
            attributes[semconv.OPENAI_BATCH_REQUEST_ID] = line_id
        if status_code is not None:
            attributes[http_attributes.HTTP_RESPONSE_STATUS_CODE] = status_code
        attributes[semconv.CHATSPAN_SOURCE] = SOURCE_BACKFILL

        status = _UNSET
        if not succeeded:
            reported = error if isinstance(error, dict) else field(body, "error")
            failure = response_error_attributes(reported)
            if failure.get(error_attributes.ERROR_TYPE) == "failed" and status_code is not None:
                # No code given: the HTTP status says it.
                failure[error_attributes.ERROR_TYPE] = str(status_code)
            attributes.update(failure)
            message = failure.get(semconv.OPENAI_RESPONSE_ERROR_MESSAGE)
            status = Status(StatusCode.ERROR, str(message) if message else None)

        seconds = created if created is not None and 0 <= created < MAX_SECONDS else self.end_time
        timestamp = nanos(seconds)
        parent = self.parent
        return ReadableSpan(
            name=name,
            context=SpanContext(
                parent.trace_id,
                _line_span_id(self.line_id_prefix, custom_id),
                is_remote=False,
                trace_flags=_SAMPLED,
            ),
            parent=parent,
            resource=self.resource,
            attributes=frozen_attributes(attributes),
            kind=SpanKind.CLIENT,
            status=status,
            start_time=timestamp,
            end_time=timestamp,
            instrumentation_scope=SCOPE,
        )


_UNSET = Status(StatusCode.UNSET)


def _chat_line_attributes(
    request: dict[str, Any], model: object, body: dict[str, Any] | None, capture_content: bool
) -> dict[str, AttributeValue]:
    """A chat line as a stored completion maps: the request's parameters, then the completion's."""
    attributes = request_attributes({**request, "model": request.get("model") or model})
    # The input line may say `stream`, but a batch never streams: its answer is one body.
    attributes.pop(gen_ai.GEN_AI_REQUEST_STREAM, None)
    if body is not None:
        attributes.update(completion_attributes(body))
    if capture_content:
        attributes.update(opt_in_request_attributes(request.get("tools"), request.get("user")))
        messages = request.get("messages")
        if isinstance(messages, list):
            attributes.update(input_message_attributes(messages))
        if body is not None:
            attributes.update(output_message_attributes(field(body, "choices") or ()))
    return attributes


def _responses_line_attributes(
    request: dict[str, Any], model: object, body: dict[str, Any] | None, capture_content: bool
) -> dict[str, AttributeValue]:
    """A `/v1/responses` line as a stored response maps."""
    asked = {key: value for key, value in request.items() if value is not None}
    asked["model"] = asked.get("model") or model
    attributes = responses_request_attributes(asked)
    attributes.pop(gen_ai.GEN_AI_REQUEST_STREAM, None)
    if body is not None:
        attributes.update(response_object_attributes(body))
    if capture_content:
        if request:
            attributes.update(
                response_input_attributes(
                    {"input": request.get("input"), "instructions": request.get("instructions")}
                )
            )
        if body is not None:
            attributes.update(response_output_attributes(body))
    return attributes


def _validation_error(error: Any) -> str:
    """One validation error of a failed batch as text: `line N: code: message`."""
    parts = [
        f"line {line}" if (line := as_count(field(error, "line"))) is not None else None,
        as_text(field(error, "code")),
        as_text(field(error, "message")),
    ]
    return ": ".join(part for part in parts if part) or "invalid input"
