"""A Responses API call -> span attributes: its `create()` arguments, and the `Response` it returns.

The same shape as a chat completion's span (`chat {model}`, the same request and usage attribute
names), plus what the Responses object adds: its status, a finish reason mapped from it, reasoning
effort, the conversation and the previous response it continues. Live responses, stored ones and
batch lines all pass through `response_object_attributes()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv._incubating.attributes import openai_attributes as openai_attrs
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.util.types import AttributeValue

from chatspan import semconv
from chatspan.mapping._values import as_count, as_float, as_text, as_texts, count_attributes, field, fields
from chatspan.mapping.request import (
    OPERATION_CHAT,
    PROVIDER_OPENAI,
    ParameterMapper,
    flag_parameter,
    float_parameter,
    int_parameter,
    metadata_parameter,
    stream_parameter,
    text_parameter,
)

API_TYPE_RESPONSES = openai_attrs.OpenaiApiTypeValues.RESPONSES.value

# Response.status -> finish reason, for the statuses that say why generation stopped.
_FINISH_REASONS = {"completed": "stop", "failed": "error", "cancelled": "cancelled"}
# incomplete_details.reason -> finish reason, in the chat completion API's words where it has one.
_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}
_OUTPUT_TYPES = {
    "text": gen_ai.GenAiOutputTypeValues.TEXT.value,
    "json_schema": gen_ai.GenAiOutputTypeValues.JSON.value,
    "json_object": gen_ai.GenAiOutputTypeValues.JSON.value,
}


def responses_request_attributes(kwargs: Mapping[str, Any]) -> dict[str, AttributeValue]:
    """Map the arguments of `responses.create()`/`stream()`/`parse()` (or a request body)."""
    attrs: dict[str, AttributeValue] = {
        gen_ai.GEN_AI_OPERATION_NAME: OPERATION_CHAT,
        gen_ai.GEN_AI_PROVIDER_NAME: PROVIDER_OPENAI,
        openai_attrs.OPENAI_API_TYPE: API_TYPE_RESPONSES,
        gen_ai.GEN_AI_REQUEST_STREAM: False,
        # Storage is on unless the request turns it off: the default of this API, unlike chat's.
        semconv.OPENAI_REQUEST_STORE: True,
    }
    for name, value in kwargs.items():
        mapper = _PARAMETERS.get(name)
        if mapper is not None and value is not None:
            mapper(attrs, value)
    return attrs


def retrieve_request_attributes(kwargs: Mapping[str, Any]) -> dict[str, AttributeValue]:
    """Map the arguments of `responses.retrieve()`: what is asked for is a stored response."""
    return {
        gen_ai.GEN_AI_OPERATION_NAME: semconv.OPERATION_FETCH_RESPONSE,
        gen_ai.GEN_AI_PROVIDER_NAME: PROVIDER_OPENAI,
        openai_attrs.OPENAI_API_TYPE: API_TYPE_RESPONSES,
        gen_ai.GEN_AI_REQUEST_STREAM: kwargs.get("stream") is True,
    }


_RESPONSE_FIELDS = (
    "id",
    "model",
    "service_tier",
    "created_at",
    "status",
    "incomplete_details",
    "conversation",
    "error",
    "usage",
)


def response_object_attributes(response: Any, *, with_usage: bool = True) -> dict[str, AttributeValue]:
    """Map a `Response` (SDK object or its JSON dict); missing or mistyped fields are left out.

    `with_usage=False` for retrieve calls: the tokens were counted by the call that created it.
    """
    # Plain reads: every value below passes an `as_*` check, which also rejects SDK sentinels.
    response_id, model, service_tier, created_at, status, incomplete, conversation, error, usage = fields(
        response, _RESPONSE_FIELDS
    )
    attrs: dict[str, AttributeValue] = {}
    for attribute, value in (
        (gen_ai.GEN_AI_RESPONSE_ID, response_id),
        (gen_ai.GEN_AI_RESPONSE_MODEL, model),
        (openai_attrs.OPENAI_RESPONSE_SERVICE_TIER, service_tier),
    ):
        text = as_text(value)
        if text is not None:
            attrs[attribute] = text
    created = as_float(created_at)
    if created is not None:
        seconds = as_count(int(created))
        if seconds is not None:
            attrs[semconv.OPENAI_RESPONSE_CREATED] = seconds
    status = as_text(status)
    if status is not None:
        attrs[semconv.OPENAI_RESPONSE_STATUS] = status
        reason = finish_reason(status, field(incomplete, "reason"))
        if reason is not None:
            attrs[gen_ai.GEN_AI_RESPONSE_FINISH_REASONS] = [reason]
    conversation_id = as_text(
        field(conversation, "id") if not isinstance(conversation, str) else conversation
    )
    if conversation_id:
        attrs[gen_ai.GEN_AI_CONVERSATION_ID] = conversation_id
    if status == "failed":
        attrs.update(response_error_attributes(error))
    if with_usage:
        attrs.update(responses_usage_attributes(usage))
    return attrs


def finish_reason(status: str, incomplete_reason: object) -> str | None:
    """The finish reason of a Response: `stop`, `length`, `content_filter`, `error`, `cancelled`."""
    if status == "incomplete":
        reason = as_text(incomplete_reason)
        return _INCOMPLETE_REASONS.get(reason, reason) if reason else "incomplete"
    return _FINISH_REASONS.get(status)


def response_error_attributes(error: object) -> dict[str, AttributeValue]:
    """`error.type` (the error's `code`) and its message, for a Response whose status is failed."""
    code = as_text(field(error, "code"))
    attrs: dict[str, AttributeValue] = {error_attributes.ERROR_TYPE: code or "failed"}
    message = as_text(field(error, "message"))
    if message:
        attrs[semconv.OPENAI_RESPONSE_ERROR_MESSAGE] = message
    return attrs


_RESPONSES_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "input_tokens_details.cached_tokens",
    "input_tokens_details.cache_write_tokens",
    "output_tokens_details.reasoning_tokens",
)
_RESPONSES_USAGE_ATTRIBUTES = (
    gen_ai.GEN_AI_USAGE_INPUT_TOKENS,
    gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS,
    gen_ai.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    gen_ai.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    gen_ai.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
)


def responses_usage_attributes(usage: object) -> dict[str, AttributeValue]:
    """Map a `ResponseUsage` to the `gen_ai.usage.*` attributes (the same names as chat's)."""
    return count_attributes(usage, _RESPONSES_USAGE_FIELDS, _RESPONSES_USAGE_ATTRIBUTES)


def _reasoning(attrs: dict[str, AttributeValue], value: Any) -> None:
    effort = as_text(field(value, "effort"))
    if effort:
        attrs[semconv.OPENAI_REQUEST_REASONING_EFFORT] = effort


def _conversation(attrs: dict[str, AttributeValue], value: Any) -> None:
    conversation_id = as_text(value if isinstance(value, str) else field(value, "id"))
    if conversation_id:
        attrs[gen_ai.GEN_AI_CONVERSATION_ID] = conversation_id


def _tools(attrs: dict[str, AttributeValue], value: Any) -> None:
    if not isinstance(value, (list, tuple)):
        return
    attrs[semconv.OPENAI_REQUEST_TOOL_COUNT] = len(value)
    types = sorted(set(as_texts(field(tool, "type") for tool in value)))
    if types:
        attrs[semconv.OPENAI_REQUEST_TOOL_TYPES] = types


def _text(attrs: dict[str, AttributeValue], value: Any) -> None:
    kind = field(field(value, "format"), "type")
    output_type = _OUTPUT_TYPES.get(kind) if isinstance(kind, str) else None
    if output_type is not None:
        attrs[gen_ai.GEN_AI_OUTPUT_TYPE] = output_type


def _text_format(attrs: dict[str, AttributeValue], value: Any) -> None:
    # parse(text_format=SomePydanticModel): the SDK sends it as a json_schema format.
    if isinstance(value, type):
        attrs[gen_ai.GEN_AI_OUTPUT_TYPE] = gen_ai.GenAiOutputTypeValues.JSON.value


_PARAMETERS: dict[str, ParameterMapper] = {
    "model": text_parameter(gen_ai.GEN_AI_REQUEST_MODEL),
    "temperature": float_parameter(gen_ai.GEN_AI_REQUEST_TEMPERATURE),
    "top_p": float_parameter(gen_ai.GEN_AI_REQUEST_TOP_P),
    "max_output_tokens": int_parameter(gen_ai.GEN_AI_REQUEST_MAX_TOKENS),
    "stream": stream_parameter,
    "reasoning": _reasoning,
    "previous_response_id": text_parameter(semconv.OPENAI_REQUEST_PREVIOUS_RESPONSE_ID),
    "conversation": _conversation,
    "service_tier": text_parameter(openai_attrs.OPENAI_REQUEST_SERVICE_TIER),
    "store": flag_parameter(semconv.OPENAI_REQUEST_STORE),
    "background": flag_parameter(semconv.OPENAI_REQUEST_BACKGROUND),
    "truncation": text_parameter(semconv.OPENAI_REQUEST_TRUNCATION),
    "tools": _tools,
    "metadata": metadata_parameter,
    "text": _text,
    "text_format": _text_format,
}
