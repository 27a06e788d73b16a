"""The metric instruments chatspan records, with the semconv bucket boundaries."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from opentelemetry.metrics import CallbackOptions, Counter, Histogram, Meter, Observation
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics
from opentelemetry.util.types import AttributeValue

from chatspan import semconv

# Boundaries the GenAI conventions recommend; the SDK's defaults suit HTTP milliseconds, not these.
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
FIRST_CHUNK_BUCKETS = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip


@dataclass(frozen=True)
class LatestInstruments:
    """The inference metrics of the GenAI conventions as they stand now (opt-in)."""

    inference_duration: Histogram
    usage: tuple[tuple[str, Counter, bool], ...]
    """(span attribute, counter, recorded as 0 when absent) per token type."""
    input_tokens: Histogram
    output_tokens: Histogram


@dataclass(frozen=True)
class Instruments:
    """Every instrument one instrumentor records into.

    By default the GenAI conventions' earlier names (`gen_ai.client.operation.duration` for every
    call, `gen_ai.client.token.usage` by `gen_ai.token.type`); with `latest`, inference calls go to
    its instruments instead and `operation_duration` keeps only the others (a fetched response).
    """

    operation_duration: Histogram
    token_usage: Histogram | None
    time_to_first_chunk: Histogram
    processing_duration: Histogram
    headroom: Headroom
    latest: LatestInstruments | None = None


class Headroom:
    """The last rate-limit headroom seen per model and server, reported when metrics are collected.

    An observable gauge: the call path only stores two numbers, where a synchronous gauge would
    pay the SDK's attribute hashing and aggregation on every call.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[tuple[str, AttributeValue], ...], int] = {}
        self._tokens: dict[tuple[tuple[str, AttributeValue], ...], int] = {}
        # A child forked while another thread held the lock would wait on it forever: the child gets
        # a fresh one, as the OpenTelemetry SDK does for its own locks. Weak, so the hook (which
        # can never be unregistered) does not keep an uninstrumented Headroom alive.
        reinit = weakref.WeakMethod(self._at_fork_reinit)
        os.register_at_fork(after_in_child=lambda: _call_if_alive(reinit))

    def _at_fork_reinit(self) -> None:
        self._lock = threading.Lock()

    def update(self, attributes: Mapping[str, AttributeValue], requests: object, tokens: object) -> None:
        """Remember the latest remaining requests/tokens for these (low-cardinality) attributes."""
        key = tuple(attributes.items())
        with self._lock:
            if isinstance(requests, int):
                self._requests[key] = requests
            if isinstance(tokens, int):
                self._tokens[key] = tokens

    def observe_requests(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            return [Observation(value, dict(key)) for key, value in self._requests.items()]

    def observe_tokens(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            return [Observation(value, dict(key)) for key, value in self._tokens.items()]


def _call_if_alive(method: weakref.WeakMethod[Callable[[], None]]) -> None:
    bound = method()
    if bound is not None:
        bound()


def create_instruments(meter: Meter, *, latest_conventions: bool = False) -> Instruments:
    """Create the instruments on `meter` (semconv names, units and buckets) in the chosen convention."""
    headroom = Headroom()
    meter.create_observable_gauge(
        name=semconv.METRIC_OPENAI_RATELIMIT_REQUESTS_REMAINING,
        callbacks=[headroom.observe_requests],
        unit="{request}",
        description="Requests left in the current rate-limit window (x-ratelimit-remaining-requests)",
    )
    meter.create_observable_gauge(
        name=semconv.METRIC_OPENAI_RATELIMIT_TOKENS_REMAINING,
        callbacks=[headroom.observe_tokens],
        unit="{token}",
        description="Tokens left in the current rate-limit window (x-ratelimit-remaining-tokens)",
    )
    operation_duration = meter.create_histogram(
        name=gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION,
        unit="s",
        description="GenAI operation duration",
        explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
    )
    processing_duration = meter.create_histogram(
        name=semconv.METRIC_OPENAI_PROCESSING_DURATION,
        unit="s",
        description="Server-side processing time reported by the openai-processing-ms header",
        explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
    )
    if latest_conventions:
        return Instruments(
            operation_duration=operation_duration,
            token_usage=None,
            time_to_first_chunk=meter.create_histogram(
                name=semconv.METRIC_GEN_AI_CLIENT_INFERENCE_TIME_TO_FIRST_CHUNK,
                unit="s",
                description="Time from the request to the first chunk of a streamed response",
                explicit_bucket_boundaries_advisory=list(FIRST_CHUNK_BUCKETS),
            ),
            processing_duration=processing_duration,
            headroom=headroom,
            latest=_latest_instruments(meter),
        )
    return Instruments(
        operation_duration=operation_duration,
        token_usage=meter.create_histogram(
            name=gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=list(TOKEN_BUCKETS),
        ),
        time_to_first_chunk=meter.create_histogram(
            name=gen_ai_metrics.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time from the request to the first chunk of a streamed response",
            explicit_bucket_boundaries_advisory=list(FIRST_CHUNK_BUCKETS),
        ),
        processing_duration=processing_duration,
        headroom=headroom,
    )


def _latest_instruments(meter: Meter) -> LatestInstruments:
    def counter(name: str, description: str) -> Counter:
        return meter.create_counter(name=name, unit="{token}", description=description)

    def token_histogram(name: str, description: str) -> Histogram:
        return meter.create_histogram(
            name=name,
            unit="{token}",
            description=description,
            explicit_bucket_boundaries_advisory=list(TOKEN_BUCKETS),
        )

    return LatestInstruments(
        inference_duration=meter.create_histogram(
            name=semconv.METRIC_GEN_AI_CLIENT_INFERENCE_DURATION,
            unit="s",
            description="GenAI inference duration",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        ),
        # Input and output are recorded for every inference call, 0 when no usage came back;
        # the subsets only when the provider reported them.
        usage=(
            (
                gen_ai.GEN_AI_USAGE_INPUT_TOKENS,
                counter(semconv.METRIC_GEN_AI_CLIENT_INFERENCE_USAGE_INPUT_TOKENS, "Input tokens used"),
                True,
            ),
            (
                gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS,
                counter(semconv.METRIC_GEN_AI_CLIENT_INFERENCE_USAGE_OUTPUT_TOKENS, "Output tokens used"),
                True,
            ),
            (
                gen_ai.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
                counter(
                    semconv.METRIC_GEN_AI_CLIENT_INFERENCE_USAGE_CACHE_READ_INPUT_TOKENS,
                    "Input tokens read from the provider's cache",
                ),
                False,
            ),
            (
                semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
                counter(
                    semconv.METRIC_GEN_AI_CLIENT_INFERENCE_USAGE_CACHE_WRITE_INPUT_TOKENS,
                    "Input tokens written to the provider's cache",
                ),
                False,
            ),
            (
                gen_ai.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
                counter(
                    semconv.METRIC_GEN_AI_CLIENT_INFERENCE_USAGE_REASONING_OUTPUT_TOKENS,
                    "Output tokens spent on reasoning",
                ),
                False,
            ),
        ),
        input_tokens=token_histogram(
            semconv.METRIC_GEN_AI_CLIENT_INFERENCE_OPERATION_INPUT_TOKENS, "Input tokens per inference call"
        ),
        output_tokens=token_histogram(
            semconv.METRIC_GEN_AI_CLIENT_INFERENCE_OPERATION_OUTPUT_TOKENS, "Output tokens per inference call"
        ),
    )
