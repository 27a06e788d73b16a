"""Attribute and metric names chatspan emits that `opentelemetry.semconv` does not define.

Everything else comes from `opentelemetry.semconv`; no attribute name is spelt anywhere but here
or there.
"""

from __future__ import annotations

from typing import Final

OPENAI_REQUEST_STORE: Final = "openai.request.store"
"""bool: the request's `store` flag."""

OPENAI_REQUEST_METADATA_PREFIX: Final = "openai.request.metadata."
"""str: one attribute per request metadata pair, the key appended to this prefix."""

OPENAI_RESPONSE_CREATED: Final = "openai.response.created"
"""int, unix seconds: the completion's `created` field."""

OPENAI_REQUEST_ID: Final = "openai.request.id"
"""str: the `x-request-id` response header (also `_request_id` of a stored completion)."""

OPENAI_PROCESSING_DURATION: Final = "openai.processing.duration"
"""float, seconds: the `openai-processing-ms` response header."""

OPENAI_UPSTREAM_DURATION: Final = "openai.upstream.duration"
"""float, seconds: the `x-envoy-upstream-service-time` response header (milliseconds on the wire)."""

OPENAI_RATELIMIT_REQUESTS_LIMIT: Final = "openai.ratelimit.requests.limit"
OPENAI_RATELIMIT_REQUESTS_REMAINING: Final = "openai.ratelimit.requests.remaining"
OPENAI_RATELIMIT_REQUESTS_RESET: Final = "openai.ratelimit.requests.reset"
OPENAI_RATELIMIT_TOKENS_LIMIT: Final = "openai.ratelimit.tokens.limit"
OPENAI_RATELIMIT_TOKENS_REMAINING: Final = "openai.ratelimit.tokens.remaining"
OPENAI_RATELIMIT_TOKENS_RESET: Final = "openai.ratelimit.tokens.reset"
"""The `x-ratelimit-*` headers: limits and remaining as int, resets as float seconds."""

OPENAI_RETRIES: Final = "openai.retries"
"""int: how many retries the openai SDK took before the final response."""

CHATSPAN_SOURCE: Final = "chatspan.source"
"""str: `live` (recorded around the call) or `backfill` (made later from a stored completion)."""

TRACEPARENT_METADATA_KEY: Final = "chatspan.traceparent"
"""The metadata key under which a stored completion carries the traceparent of its live span."""

# Metric names that semconv lacks.
METRIC_OPENAI_PROCESSING_DURATION: Final = "openai.processing.duration"
METRIC_OPENAI_RATELIMIT_REQUESTS_REMAINING: Final = "openai.ratelimit.requests.remaining"
METRIC_OPENAI_RATELIMIT_TOKENS_REMAINING: Final = "openai.ratelimit.tokens.remaining"

# The Responses API: what it adds to a chat span that opentelemetry.semconv does not name.
OPENAI_REQUEST_PREVIOUS_RESPONSE_ID: Final = "openai.request.previous_response_id"
"""str: the `previous_response_id` a Responses call continues from."""

OPENAI_REQUEST_REASONING_EFFORT: Final = "openai.request.reasoning.effort"
"""str: `reasoning.effort` of the request (`minimal`, `low`, `medium`, `high`, …)."""

OPENAI_REQUEST_BACKGROUND: Final = "openai.request.background"
"""bool: the request's `background` flag (the call returns at once, queued)."""

OPENAI_REQUEST_TRUNCATION: Final = "openai.request.truncation"
"""str: the request's `truncation` strategy (`auto`, `disabled`)."""

OPENAI_REQUEST_TOOL_COUNT: Final = "openai.request.tool.count"
"""int: how many tools the request offers."""

OPENAI_REQUEST_TOOL_TYPES: Final = "openai.request.tool.types"
"""str[]: the distinct `type`s of the offered tools (`function`, `web_search`, …), sorted."""

OPENAI_RESPONSE_STATUS: Final = "openai.response.status"
"""str: a Response's `status` (completed, incomplete, failed, queued, in_progress, cancelled)."""

OPENAI_RESPONSE_ERROR_MESSAGE: Final = "openai.response.error.message"
"""str: the message of a failed Response's `error` (its `code` is `error.type`)."""

OPERATION_FETCH_RESPONSE: Final = "fetch_response"
"""`gen_ai.operation.name` of `responses.retrieve`: the conventions' operation for fetching a stored
response without inference (semantic-conventions-genai, 2026), which reports no token usage."""

# The GenAI conventions as they moved to their own repository in 2026, emitted instead of the names
# above under OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental (as the official
# instrumentation does); opentelemetry.semconv does not have them yet.
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
"""int: input tokens written to the provider's cache (was `gen_ai.usage.cache_creation.input_tokens`)."""

GEN_AI_TOKEN_MODALITY: Final = "gen_ai.token.modality"
"""str: the modality of counted tokens; OpenAI's usage does not break it down, so `unknown`."""

METRIC_GEN_AI_CLIENT_INFERENCE_DURATION: Final = "gen_ai.client.inference.duration"
METRIC_GEN_AI_CLIENT_INFERENCE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.inference.time_to_first_chunk"
METRIC_GEN_AI_CLIENT_INFERENCE_USAGE_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.input_tokens"
METRIC_GEN_AI_CLIENT_INFERENCE_USAGE_OUTPUT_TOKENS: Final = "gen_ai.client.inference.usage.output_tokens"
METRIC_GEN_AI_CLIENT_INFERENCE_USAGE_CACHE_READ_INPUT_TOKENS: Final = (
    "gen_ai.client.inference.usage.cache_read.input_tokens"
)
METRIC_GEN_AI_CLIENT_INFERENCE_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = (
    "gen_ai.client.inference.usage.cache_write.input_tokens"
)
METRIC_GEN_AI_CLIENT_INFERENCE_USAGE_REASONING_OUTPUT_TOKENS: Final = (
    "gen_ai.client.inference.usage.reasoning.output_tokens"
)
METRIC_GEN_AI_CLIENT_INFERENCE_OPERATION_INPUT_TOKENS: Final = (
    "gen_ai.client.inference.operation.input_tokens"
)
METRIC_GEN_AI_CLIENT_INFERENCE_OPERATION_OUTPUT_TOKENS: Final = (
    "gen_ai.client.inference.operation.output_tokens"
)

# The Batch API: the batch's own attributes (a live `batch create` span, a backfilled batch trace).
OPENAI_BATCH_ID: Final = "openai.batch.id"
"""str: the batch id (`batch_…`)."""

OPENAI_BATCH_ENDPOINT: Final = "openai.batch.endpoint"
"""str: the endpoint every line of the batch calls (`/v1/chat/completions`, `/v1/responses`, …)."""

OPENAI_BATCH_STATUS: Final = "openai.batch.status"
"""str: the batch's status (validating, in_progress, finalizing, completed, failed, expired, …)."""

OPENAI_BATCH_COMPLETION_WINDOW: Final = "openai.batch.completion_window"
"""str: the batch's completion window (`24h`)."""

OPENAI_BATCH_INPUT_FILE_ID: Final = "openai.batch.input_file_id"
OPENAI_BATCH_OUTPUT_FILE_ID: Final = "openai.batch.output_file_id"
OPENAI_BATCH_ERROR_FILE_ID: Final = "openai.batch.error_file_id"
"""str: the batch's input, output and error file ids."""

OPENAI_BATCH_REQUEST_COUNTS_TOTAL: Final = "openai.batch.request_counts.total"
OPENAI_BATCH_REQUEST_COUNTS_COMPLETED: Final = "openai.batch.request_counts.completed"
OPENAI_BATCH_REQUEST_COUNTS_FAILED: Final = "openai.batch.request_counts.failed"
"""int: the batch's `request_counts`."""

OPENAI_BATCH_METADATA_PREFIX: Final = "openai.batch.metadata."
"""str: one attribute per batch metadata pair, the key appended to this prefix."""

OPERATION_BATCH_CREATE: Final = "batch create"
"""Name of the live span around `batches.create` (recorded with CHATSPAN_LINK_STORED=true)."""

# A backfilled batch trace: what its spans add to the batch's own attributes above.
OPENAI_BATCH_CUSTOM_ID: Final = "openai.batch.custom_id"
"""str: the `custom_id` the batch's input line gave its request (on each child span of a batch)."""

OPENAI_BATCH_REQUEST_ID: Final = "openai.batch.request.id"
"""str: the `id` of the batch's output or error line (`batch_req_…`)."""

OPENAI_BATCH_ERRORS: Final = "openai.batch.errors"
"""str[]: a failed batch's validation errors, one `line N: code: message` each."""

OPENAI_BATCH_PHASE_EVENT_PREFIX: Final = "openai.batch."
"""Span events of a batch's root span, one per phase it entered: `openai.batch.in_progress`, …"""
