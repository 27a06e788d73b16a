"""create() keyword arguments -> span attributes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv._incubating.attributes import openai_attributes as openai_attrs
from opentelemetry.semconv._incubating.attributes import user_attributes
from opentelemetry.semconv.attributes import server_attributes as server
from opentelemetry.util.types import AttributeValue

from chatspan import semconv
from chatspan.mapping._values import SENTINEL_TYPES, as_float, as_int, field

OPERATION_CHAT = gen_ai.GenAiOperationNameValues.CHAT.value
PROVIDER_OPENAI = gen_ai.GenAiProviderNameValues.OPENAI.value
API_TYPE_CHAT = openai_attrs.OpenaiApiTypeValues.CHAT_COMPLETIONS.value

_OUTPUT_TYPES = {
    "text": gen_ai.GenAiOutputTypeValues.TEXT.value,
    "json_object": gen_ai.GenAiOutputTypeValues.JSON.value,
    "json_schema": gen_ai.GenAiOutputTypeValues.JSON.value,
}

_FLOAT_PARAMS = (
    ("temperature", gen_ai.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", gen_ai.GEN_AI_REQUEST_TOP_P),
    ("frequency_penalty", gen_ai.GEN_AI_REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", gen_ai.GEN_AI_REQUEST_PRESENCE_PENALTY),
)


def span_name(model: object) -> str:
    """Name a chat span the semconv way: `chat {model}` (just `chat` when the model is unknown)."""
    return f"{OPERATION_CHAT} {model}" if isinstance(model, str) and model else OPERATION_CHAT


def request_attributes(kwargs: Mapping[str, Any]) -> dict[str, AttributeValue]:
    """Map the arguments of `chat.completions.create()` (or a stored completion's request fields).

    Values of the wrong type are left out rather than raised on: the SDK validates requests, we only
    describe them.
    """
    attrs: dict[str, AttributeValue] = {
        gen_ai.GEN_AI_OPERATION_NAME: OPERATION_CHAT,
        gen_ai.GEN_AI_PROVIDER_NAME: PROVIDER_OPENAI,
        openai_attrs.OPENAI_API_TYPE: API_TYPE_CHAT,
    }
    # kwargs.get() with one sentinel check: this runs on every call, field()'s generality costs here.
    present = {
        name: value
        for name, value in kwargs.items()
        if value is not None and type(value).__name__ not in SENTINEL_TYPES
    }
    model = present.get("model")
    if isinstance(model, str):
        attrs[gen_ai.GEN_AI_REQUEST_MODEL] = model
    for name, attribute in _FLOAT_PARAMS:
        number = as_float(present.get(name))
        if number is not None:
            attrs[attribute] = number
    max_tokens = as_int(present.get("max_completion_tokens"))
    if max_tokens is None:
        max_tokens = as_int(present.get("max_tokens"))
    if max_tokens is not None:
        attrs[gen_ai.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    seed = as_int(present.get("seed"))
    if seed is not None:
        attrs[gen_ai.GEN_AI_REQUEST_SEED] = seed
    choices = as_int(present.get("n"))
    if choices is not None:
        attrs[gen_ai.GEN_AI_REQUEST_CHOICE_COUNT] = choices
    stop = present.get("stop")
    if isinstance(stop, str):
        attrs[gen_ai.GEN_AI_REQUEST_STOP_SEQUENCES] = [stop]
    elif isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
        attrs[gen_ai.GEN_AI_REQUEST_STOP_SEQUENCES] = list(stop)
    stream = present.get("stream")
    attrs[gen_ai.GEN_AI_REQUEST_STREAM] = stream is True
    output_type = _output_type(present.get("response_format"))
    if output_type is not None:
        attrs[gen_ai.GEN_AI_OUTPUT_TYPE] = output_type
    tier = present.get("service_tier")
    if isinstance(tier, str):
        attrs[openai_attrs.OPENAI_REQUEST_SERVICE_TIER] = tier
    store = present.get("store")
    if isinstance(store, bool):
        attrs[semconv.OPENAI_REQUEST_STORE] = store
    metadata = present.get("metadata")
    if metadata:
        attrs.update(metadata_attributes(metadata))
    return attrs


def opt_in_request_attributes(tools: object, user: object) -> dict[str, AttributeValue]:
    """What a request says beyond its parameters, recorded only with content capture on.

    `gen_ai.tool.definitions` (opt-in in the conventions: large, and descriptions can be prompts)
    and `user.id` from the `user` field (an end-user identifier: personal data).
    """
    attrs: dict[str, AttributeValue] = {}
    if isinstance(tools, (list, tuple)) and tools:
        definitions = [tool.model_dump() if hasattr(tool, "model_dump") else tool for tool in tools]
        attrs[gen_ai.GEN_AI_TOOL_DEFINITIONS] = json.dumps(definitions, ensure_ascii=False, default=str)
    if isinstance(user, str) and user:
        attrs[user_attributes.USER_ID] = user
    return attrs


def metadata_attributes(metadata: object) -> dict[str, AttributeValue]:
    """One `openai.request.metadata.<key>` attribute per string pair; other shapes are ignored."""
    if not isinstance(metadata, Mapping):
        return {}
    return {
        semconv.OPENAI_REQUEST_METADATA_PREFIX + key: value
        for key, value in metadata.items()
        if isinstance(key, str) and isinstance(value, str)
    }


def server_attributes(host: object, port: object, scheme: object) -> dict[str, AttributeValue]:
    """`server.address` / `server.port` from the client's base URL parts (port defaults by scheme)."""
    attrs: dict[str, AttributeValue] = {}
    if isinstance(host, str) and host:
        attrs[server.SERVER_ADDRESS] = host
        port_number = as_int(port)
        if port_number is None:
            port_number = {"https": 443, "http": 80}.get(scheme if isinstance(scheme, str) else "")
        if port_number is not None:
            attrs[server.SERVER_PORT] = port_number
    return attrs


def _output_type(response_format: object) -> str | None:
    if response_format is None:
        return None
    if isinstance(response_format, type):
        # parse(response_format=SomePydanticModel): the SDK turns it into a json_schema request.
        return gen_ai.GenAiOutputTypeValues.JSON.value
    kind = field(response_format, "type")
    return _OUTPUT_TYPES.get(kind) if isinstance(kind, str) else None
