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
    """The span and measurements of one `create()`/`parse()` call, ended exactly once.

    Attributes learnt during the call (headers) wait in `_pending` and reach the span in one
    `set_attributes` at the end: each call into the SDK span costs more than the dict merge.
    """

    __slots__ = (
        "_ended",
        "_metric_attributes",
        "_pending",
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
        if isinstance(retries_taken, int):
            attrs[semconv.OPENAI_RETRIES] = retries_taken
        self._pending.update(attrs)
        requests_left = attrs.get(semconv.OPENAI_RATELIMIT_REQUESTS_REMAINING)
        tokens_left = attrs.get(semconv.OPENAI_RATELIMIT_TOKENS_REMAINING)
        if requests_left is not None or tokens_left is not None:
            self.telemetry.instruments.headroom.update(self._metric_attributes, requests_left, tokens_left)

    def complete(self, completion: Any) -> None:
        """End the call with a whole `ChatCompletion`."""
        if self._ended:
            return
        attrs = completion_attributes(completion)
        if self.telemetry.capture_content:
            choices = getattr(completion, "choices", None) or ()
            attrs.update(output_message_attributes(choices))
        self.end(attrs)

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
        self.end(attrs)

    def record_first_chunk(self, after: float) -> None:
        """Record the time-to-first-chunk metric (the span attribute comes at the end)."""
        self.telemetry.instruments.time_to_first_chunk.record(after, self._metric_attributes)

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
        self.span.record_exception(error)
        self.span.set_status(Status(StatusCode.ERROR, error_type))
        self._metric_attributes[error_attributes.ERROR_TYPE] = error_type
        self.end({error_attributes.ERROR_TYPE: error_type})

    def end(self, attrs: dict[str, AttributeValue] | None = None) -> None:
        """Set what is known, record duration and token metrics, end the span; later calls do nothing."""
        if self._ended:
            return
        self._ended = True
        final = self._pending
        if attrs:
            final.update(attrs)
        if final:
            self.span.set_attributes(final)
        # All recorded here, once the attributes are final: an SDK may keep the dict it is given.
        instruments = self.telemetry.instruments
        attributes = self._metric_attributes
        model = final.get(gen_ai.GEN_AI_RESPONSE_MODEL)
        if model is not None:
            attributes[gen_ai.GEN_AI_RESPONSE_MODEL] = model
        instruments.operation_duration.record(self.elapsed(), attributes)
        processing = final.get(semconv.OPENAI_PROCESSING_DURATION)
        if isinstance(processing, float):
            instruments.processing_duration.record(processing, attributes)
        input_tokens = final.get(gen_ai.GEN_AI_USAGE_INPUT_TOKENS)
        if isinstance(input_tokens, int):
            instruments.token_usage.record(input_tokens, {**attributes, gen_ai.GEN_AI_TOKEN_TYPE: "input"})
        output_tokens = final.get(gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS)
        if isinstance(output_tokens, int):
            instruments.token_usage.record(output_tokens, {**attributes, gen_ai.GEN_AI_TOKEN_TYPE: "output"})
        self.span.end()


def _error_type(error: BaseException) -> str:
    status = getattr(error, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool):
        return str(status)
    return type(error).__qualname__
