"""The metric instruments chatspan records, with the semconv bucket boundaries."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.metrics import Histogram, Meter
from opentelemetry.metrics import _Gauge as Gauge  # the synchronous gauge is still underscored in the API
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics

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
class Instruments:
    """Every instrument one instrumentor records into."""

    operation_duration: Histogram
    token_usage: Histogram
    time_to_first_chunk: Histogram
    processing_duration: Histogram
    requests_remaining: Gauge
    tokens_remaining: Gauge


def create_instruments(meter: Meter) -> Instruments:
    """Create the instruments on `meter` (semconv names, units and buckets)."""
    return Instruments(
        operation_duration=meter.create_histogram(
            name=gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        ),
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
        processing_duration=meter.create_histogram(
            name=semconv.METRIC_OPENAI_PROCESSING_DURATION,
            unit="s",
            description="Server-side processing time reported by the openai-processing-ms header",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        ),
        requests_remaining=meter.create_gauge(
            name=semconv.METRIC_OPENAI_RATELIMIT_REQUESTS_REMAINING,
            unit="{request}",
            description="Requests left in the current rate-limit window (x-ratelimit-remaining-requests)",
        ),
        tokens_remaining=meter.create_gauge(
            name=semconv.METRIC_OPENAI_RATELIMIT_TOKENS_REMAINING,
            unit="{token}",
            description="Tokens left in the current rate-limit window (x-ratelimit-remaining-tokens)",
        ),
    )
