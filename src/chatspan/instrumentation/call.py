"""One logical model call: its span, its metrics, and the single place where both end.

A chat completion, a Responses call and a retrieve of a stored response differ only in how their
request and result map to attributes (`CallKind`); the span's lifecycle is the same.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import error_attributes, server_attributes
from opentelemetry.trace import Span, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from chatspan import semconv
from chatspan.instrumentation.metrics import Instruments, LatestInstruments
from chatspan.mapping._values import as_count
from chatspan.mapping.conventions import rename_to_latest_conventions
from chatspan.mapping.errors import exception_event_attributes
from chatspan.mapping.headers import header_attributes, parse_count

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

# Only these reach metrics: everything else on the span is too high in cardinality.
_METRIC_KEYS = (
    gen_ai.GEN_AI_OPERATION_NAME,
    gen_ai.GEN_AI_PROVIDER_NAME,
    gen_ai.GEN_AI_REQUEST_MODEL,
    server_attributes.SERVER_ADDRESS,
    server_attributes.SERVER_PORT,
)


class StreamAccumulator(Protocol):
    """What a stream proxy keeps of the chunks or events it passes on, for the span's end."""

    first_chunk_after: float | None

    def is_output(self, item: Any) -> bool:
        """Whether `item` carries output (what the time to the first chunk waits for)."""

    def add(self, item: Any) -> None:
        """Take one chunk or event into account (any field may be missing or mistyped)."""

    def attributes(self) -> dict[str, AttributeValue]:
        """The response attributes the stream told, content included when capture is on."""


@dataclass(frozen=True)
class CallKind:
    """How one API's calls map: the request, the span name, the result, a stream's items."""

    name: str
    request_attributes: Callable[[Mapping[str, Any]], dict[str, AttributeValue]]
    span_name: Callable[[Mapping[str, Any]], str]
    input_content: Callable[[Mapping[str, Any]], dict[str, AttributeValue]]
    """The request's content attributes, recorded only with content capture on."""
    result_attributes: Callable[[Any, bool], dict[str, AttributeValue]]
    """(parsed result, capture content) -> attributes; `error.type` among them marks a failure."""
    accumulator: Callable[[bool], StreamAccumulator]
    """(capture content) -> what a stream proxy of this kind accumulates."""
    stores_by_default: bool = False
    """Whether a request without `store` is stored (the Responses API's default)."""
    usage_option: bool = False
    """Whether `stream_options.include_usage` exists (CHATSPAN_STREAM_INCLUDE_USAGE applies)."""
    inference: bool = True
    """Whether the call infers (and so counts tokens), as opposed to fetching a stored result."""
    metrics: bool = True
    """Whether the GenAI metrics are recorded (not for calls that are no model operation)."""


@dataclass
class Telemetry:
    """What every wrapper of one instrumentor shares: where to record, and the switches."""

    tracer: Tracer
    instruments: Instruments
    capture_content: bool
    include_usage: bool
    link_stored: bool
    active: bool = True


def guarded(what: str, action: Callable[[], _T], default: _T) -> _T:
    """Run chatspan's own work so that its failure never reaches the application."""
    try:
        return action()
    except Exception:
        logger.debug("chatspan: %s failed; the call goes on untouched", what, exc_info=True)
        return default


class ChatCall:
    """The span and measurements of one `create()`/`parse()` call, ended exactly once.

    Attributes learnt during the call (headers) wait in `_pending` and reach the span in one
    `set_attributes` at the end: each call into the SDK span costs more than the dict merge.
    Every measurement is recorded in `context`, the call's own span's: an exemplar the SDK keeps
    points at this call's span, wherever the application iterates a stream or what span is
    current around it.
    Ending is structural: whatever raises while mapping, `end()` still records the metrics and ends
    the span, with what could be mapped.
    """

    __slots__ = (
        "_client",
        "_ended",
        "_metric_attributes",
        "_pending",
        "_started",
        "context",
        "injected_usage",
        "kind",
        "span",
        "telemetry",
    )

    def __init__(
        self,
        telemetry: Telemetry,
        span: Span,
        request_attributes: Mapping[str, AttributeValue],
        *,
        kind: CallKind,
        injected_usage: bool,
        client: object = None,
    ) -> None:
        self.telemetry = telemetry
        self.span = span
        self.context: Context = trace.set_span_in_context(span)
        self.kind = kind
        self.injected_usage = injected_usage
        # Kept to read its credentials only when an exception is recorded (they are scrubbed out).
        self._client = client
        self._started = time.perf_counter()
        self._ended = False
        self._pending: dict[str, AttributeValue] = {}
        self._metric_attributes: dict[str, AttributeValue] = {
            key: request_attributes[key] for key in _METRIC_KEYS if key in request_attributes
        }

    @property
    def ended(self) -> bool:
        """True once the span has ended."""
        return self._ended

    def elapsed(self) -> float:
        """Seconds since the call started."""
        return time.perf_counter() - self._started

    def record_http_response(self, headers: Any, retries_taken: object) -> None:
        """Record what only the HTTP response tells: timing, request id, rate-limit headroom."""
        attrs = header_attributes(headers)
        retries = as_count(retries_taken)
        if retries is not None:
            attrs[semconv.OPENAI_RETRIES] = retries
        self._pending.update(attrs)
        requests_left = attrs.get(semconv.OPENAI_RATELIMIT_REQUESTS_REMAINING)
        tokens_left = attrs.get(semconv.OPENAI_RATELIMIT_TOKENS_REMAINING)
        if requests_left is not None or tokens_left is not None:
            self.telemetry.instruments.headroom.update(self._metric_attributes, requests_left, tokens_left)

    def complete(self, result: Any) -> None:
        """End the call with its whole parsed result (a `ChatCompletion`, a `Response`)."""
        if self._ended:
            return
        attrs: dict[str, AttributeValue] | None = None
        try:
            attrs = self.kind.result_attributes(result, self.telemetry.capture_content)
        except Exception:
            logger.debug("chatspan: mapping a result failed; the span ends without it", exc_info=True)
        self.end(attrs)

    def complete_stream(self, accumulator: StreamAccumulator) -> None:
        """End the call with what a stream's chunks or events carried."""
        if self._ended:
            return
        attrs: dict[str, AttributeValue] = {}
        if accumulator.first_chunk_after is not None:
            attrs[gen_ai.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = accumulator.first_chunk_after
        try:
            attrs.update(accumulator.attributes())
        except Exception:
            logger.debug("chatspan: mapping a stream failed; the span ends without it", exc_info=True)
        self.end(attrs)

    def record_first_chunk(self, after: float) -> None:
        """Record the time-to-first-chunk metric (the span attribute comes at the end)."""
        self.telemetry.instruments.time_to_first_chunk.record(
            after, self._metric_attributes, context=self.context
        )

    def fail(self, error: BaseException) -> None:
        """End the call with the error the SDK raised (the caller re-raises it unchanged)."""
        if self._ended:
            return
        error_type = _error_type(error)
        try:
            self._record_failed_response(error)
        except Exception:
            logger.debug("chatspan: reading a failed response failed; the span still ends", exc_info=True)
        try:
            self.span.add_event("exception", exception_event_attributes(error, self._secrets()))
            self.span.set_status(Status(StatusCode.ERROR, error_type))
        except Exception:
            logger.debug("chatspan: recording an exception failed; the span ends without it", exc_info=True)
        self._metric_attributes[error_attributes.ERROR_TYPE] = error_type
        self.end({error_attributes.ERROR_TYPE: error_type})

    def _record_failed_response(self, error: BaseException) -> None:
        response = getattr(error, "response", None)
        headers = getattr(response, "headers", None)
        if headers is None:
            return
        request = guarded("reading the failed request", lambda: getattr(response, "request", None), None)
        retry_header = getattr(getattr(request, "headers", None), "get", lambda _key: None)
        self.record_http_response(headers, parse_count(retry_header("x-stainless-retry-count")))

    def _secrets(self) -> list[str]:
        """The client's own credentials, which no recorded exception may repeat."""
        client = self._client
        found = [getattr(client, "api_key", None), getattr(client, "_azure_ad_token", None)]
        return [value for value in found if isinstance(value, str)]

    def end(self, attrs: dict[str, AttributeValue] | None = None) -> None:
        """Set what is known, record duration and token metrics, end the span; later calls do nothing."""
        if self._ended:
            return
        self._ended = True
        final = self._pending
        try:
            if attrs:
                final.update(attrs)
                if self.telemetry.instruments.latest is not None:
                    rename_to_latest_conventions(final)
                error_type = attrs.get(error_attributes.ERROR_TYPE)
                if isinstance(error_type, str) and error_attributes.ERROR_TYPE not in self._metric_attributes:
                    # A result that reports its own failure (a Response whose status is failed);
                    # fail() has set the status and the metric attribute already.
                    self.span.set_status(Status(StatusCode.ERROR, error_type))
                    self._metric_attributes[error_attributes.ERROR_TYPE] = error_type
            if final:
                self.span.set_attributes(final)
        except Exception:
            logger.debug("chatspan: setting a span's attributes failed; it still ends", exc_info=True)
        try:
            self._record_metrics(final)
        except Exception:
            logger.debug("chatspan: recording a call's metrics failed; its span still ends", exc_info=True)
        finally:
            self.span.end()

    def _record_metrics(self, final: Mapping[str, AttributeValue]) -> None:
        # All recorded here, once the attributes are final: an SDK may keep the dict it is given.
        if not self.kind.metrics:
            return
        instruments = self.telemetry.instruments
        attributes = self._metric_attributes
        model = final.get(gen_ai.GEN_AI_RESPONSE_MODEL)
        if model is not None:
            attributes[gen_ai.GEN_AI_RESPONSE_MODEL] = model
        processing = final.get(semconv.OPENAI_PROCESSING_DURATION)
        if isinstance(processing, float):
            instruments.processing_duration.record(processing, attributes, context=self.context)
        latest = instruments.latest
        if latest is not None:
            self._record_latest_metrics(latest, final, attributes)
            return
        instruments.operation_duration.record(self.elapsed(), attributes, context=self.context)
        token_usage = instruments.token_usage
        if token_usage is None:
            return
        input_tokens = final.get(gen_ai.GEN_AI_USAGE_INPUT_TOKENS)
        if isinstance(input_tokens, int):
            token_usage.record(
                input_tokens, {**attributes, gen_ai.GEN_AI_TOKEN_TYPE: "input"}, context=self.context
            )
        output_tokens = final.get(gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS)
        if isinstance(output_tokens, int):
            token_usage.record(
                output_tokens, {**attributes, gen_ai.GEN_AI_TOKEN_TYPE: "output"}, context=self.context
            )

    def _record_latest_metrics(
        self,
        latest: LatestInstruments,
        final: Mapping[str, AttributeValue],
        attributes: dict[str, AttributeValue],
    ) -> None:
        if not self.kind.inference:
            # Fetching a stored response infers nothing: its duration only, and no tokens.
            self.telemetry.instruments.operation_duration.record(
                self.elapsed(), attributes, context=self.context
            )
            return
        latest.inference_duration.record(self.elapsed(), attributes, context=self.context)
        by_modality = {**attributes, semconv.GEN_AI_TOKEN_MODALITY: "unknown"}
        for key, counter, always in latest.usage:
            count = final.get(key)
            if isinstance(count, int):
                counter.add(count, by_modality, context=self.context)
            elif always:
                counter.add(0, by_modality, context=self.context)
        input_tokens = final.get(gen_ai.GEN_AI_USAGE_INPUT_TOKENS)
        if isinstance(input_tokens, int):
            latest.input_tokens.record(input_tokens, attributes, context=self.context)
        output_tokens = final.get(gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS)
        if isinstance(output_tokens, int):
            latest.output_tokens.record(output_tokens, attributes, context=self.context)


def _error_type(error: BaseException) -> str:
    status = getattr(error, "status_code", None)
    # HTTP statuses have three digits; anything else is no status (and str() of a huge int raises).
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 999:
        return str(status)
    return type(error).__qualname__
