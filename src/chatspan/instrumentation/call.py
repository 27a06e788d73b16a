"""One logical chat call: its span, its metrics, and the single place where both end."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import error_attributes, server_attributes
from opentelemetry.trace import Span, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from chatspan import semconv
from chatspan.instrumentation.metrics import Instruments
from chatspan.mapping.completion import completion_attributes, response_attributes
from chatspan.mapping.headers import header_attributes, parse_count
from chatspan.mapping.messages import output_message_attributes

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
    """The span and measurements of one `create()`/`parse()` call, ended exactly once."""

    __slots__ = (
        "_ended",
        "_input_tokens",
        "_metric_attributes",
        "_output_tokens",
        "_started",
        "injected_usage",
        "span",
        "telemetry",
    )

    def __init__(
        self,
        telemetry: Telemetry,
        span: Span,
        request_attributes: Mapping[str, AttributeValue],
        *,
        injected_usage: bool,
    ) -> None:
        self.telemetry = telemetry
        self.span = span
        self.injected_usage = injected_usage
        self._started = time.perf_counter()
        self._ended = False
        self._input_tokens: int | None = None
        self._output_tokens: int | None = None
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
        if isinstance(retries_taken, int):
            attrs[semconv.OPENAI_RETRIES] = retries_taken
        self.span.set_attributes(attrs)
        instruments = self.telemetry.instruments
        processing = attrs.get(semconv.OPENAI_PROCESSING_DURATION)
        if isinstance(processing, float):
            instruments.processing_duration.record(processing, self._metric_attributes)
        requests_left = attrs.get(semconv.OPENAI_RATELIMIT_REQUESTS_REMAINING)
        if isinstance(requests_left, int):
            instruments.requests_remaining.set(requests_left, self._metric_attributes)
        tokens_left = attrs.get(semconv.OPENAI_RATELIMIT_TOKENS_REMAINING)
        if isinstance(tokens_left, int):
            instruments.tokens_remaining.set(tokens_left, self._metric_attributes)

    def complete(self, completion: Any) -> None:
        """End the call with a whole `ChatCompletion`."""
        if self._ended:
            return
        attrs = completion_attributes(completion)
        if self.telemetry.capture_content:
            choices = getattr(completion, "choices", None) or ()
            attrs.update(output_message_attributes(choices))
        self.finish(attrs)

    def complete_stream(
        self,
        *,
        response_fields: Mapping[str, Any],
        first_chunk_after: float | None,
        choices: Iterable[Any],
    ) -> None:
        """End the call with what a stream's chunks carried."""
        if self._ended:
            return
        attrs = response_attributes(**response_fields)
        if first_chunk_after is not None:
            attrs[gen_ai.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = first_chunk_after
        if self.telemetry.capture_content:
            attrs.update(output_message_attributes(choices))
        self.finish(attrs)

    def record_first_chunk(self, after: float) -> None:
        """Record the time-to-first-chunk metric (the span attribute comes at the end)."""
        self.telemetry.instruments.time_to_first_chunk.record(after, self._metric_attributes)

    def finish(self, attrs: dict[str, AttributeValue]) -> None:
        """Set the final response attributes, record the metrics, end the span."""
        if self._ended:
            return
        self.span.set_attributes(attrs)
        model = attrs.get(gen_ai.GEN_AI_RESPONSE_MODEL)
        if model is not None:
            self._metric_attributes[gen_ai.GEN_AI_RESPONSE_MODEL] = model
        input_tokens = attrs.get(gen_ai.GEN_AI_USAGE_INPUT_TOKENS)
        output_tokens = attrs.get(gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS)
        self._input_tokens = input_tokens if isinstance(input_tokens, int) else None
        self._output_tokens = output_tokens if isinstance(output_tokens, int) else None
        self.end()

    def fail(self, error: BaseException) -> None:
        """End the call with the error the SDK raised (the caller re-raises it unchanged)."""
        if self._ended:
            return
        error_type = _error_type(error)
        response = getattr(error, "response", None)
        headers = getattr(response, "headers", None)
        if headers is not None:
            request = guarded("reading the failed request", lambda: getattr(response, "request", None), None)
            retry_header = getattr(getattr(request, "headers", None), "get", lambda _key: None)
            self.record_http_response(headers, parse_count(retry_header("x-stainless-retry-count")))
        self.span.set_attribute(error_attributes.ERROR_TYPE, error_type)
        self.span.record_exception(error)
        self.span.set_status(Status(StatusCode.ERROR, error_type))
        self._metric_attributes[error_attributes.ERROR_TYPE] = error_type
        self.end()

    def end(self) -> None:
        """End the span and record duration and token metrics; later calls do nothing."""
        if self._ended:
            return
        self._ended = True
        instruments = self.telemetry.instruments
        attributes = self._metric_attributes
        instruments.operation_duration.record(self.elapsed(), attributes)
        if self._input_tokens is not None:
            instruments.token_usage.record(
                self._input_tokens, {**attributes, gen_ai.GEN_AI_TOKEN_TYPE: "input"}
            )
        if self._output_tokens is not None:
            instruments.token_usage.record(
                self._output_tokens, {**attributes, gen_ai.GEN_AI_TOKEN_TYPE: "output"}
            )
        self.span.end()


def _error_type(error: BaseException) -> str:
    status = getattr(error, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool):
        return str(status)
    return type(error).__qualname__
