"""A chat completion (live response, accumulated stream, or stored) -> span attributes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv._incubating.attributes import openai_attributes as openai_attrs
from opentelemetry.util.types import AttributeValue

from chatspan import semconv
from chatspan.mapping._values import as_count, as_text, as_texts, count_attributes, field, fields

_COMPLETION_FIELDS = ("id", "model", "created", "choices", "usage", "service_tier", "system_fingerprint")


def completion_attributes(completion: Any) -> dict[str, AttributeValue]:
    """Map a `ChatCompletion` (SDK object or its JSON dict) to response attributes.

    Missing or mistyped fields are left out, never raised on.
    """
    # Plain reads: response_attributes() type-checks every value, which also rejects SDK sentinels.
    response_id, model, created, choices, usage, service_tier, fingerprint = fields(
        completion, _COMPLETION_FIELDS
    )
    return response_attributes(
        response_id=response_id,
        model=model,
        created=created,
        finish_reasons=[field(choice, "finish_reason") for choice in choices]
        if isinstance(choices, (list, tuple))
        else (),
        usage=usage,
        service_tier=service_tier,
        system_fingerprint=fingerprint,
    )


def response_attributes(
    *,
    response_id: object,
    model: object,
    created: object,
    finish_reasons: Iterable[object],
    usage: object,
    service_tier: object,
    system_fingerprint: object,
) -> dict[str, AttributeValue]:
    """Map the response fields one by one; streams call this with what their chunks carried."""
    attrs: dict[str, AttributeValue] = {}
    for attribute, value in (
        (gen_ai.GEN_AI_RESPONSE_ID, response_id),
        (gen_ai.GEN_AI_RESPONSE_MODEL, model),
        (openai_attrs.OPENAI_RESPONSE_SERVICE_TIER, service_tier),
        (openai_attrs.OPENAI_RESPONSE_SYSTEM_FINGERPRINT, system_fingerprint),
    ):
        text = as_text(value)
        if text is not None:
            attrs[attribute] = text
    created_at = as_count(created)
    if created_at is not None:
        attrs[semconv.OPENAI_RESPONSE_CREATED] = created_at
    reasons = as_texts(finish_reasons)
    if reasons:
        attrs[gen_ai.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
    attrs.update(usage_attributes(usage))
    return attrs


_USAGE_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "prompt_tokens_details.cached_tokens",
    "completion_tokens_details.reasoning_tokens",
)
_USAGE_ATTRIBUTES = (
    gen_ai.GEN_AI_USAGE_INPUT_TOKENS,
    gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS,
    gen_ai.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    gen_ai.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
)


def usage_attributes(usage: object) -> dict[str, AttributeValue]:
    """Map a `CompletionUsage` to the `gen_ai.usage.*` attributes."""
    return count_attributes(usage, _USAGE_FIELDS, _USAGE_ATTRIBUTES)
