"""create() keyword arguments -> span attributes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv._incubating.attributes import openai_attributes as openai_attrs
from opentelemetry.semconv._incubating.attributes import user_attributes
from opentelemetry.semconv.attributes import server_attributes as server
from opentelemetry.util.types import AttributeValue

from chatspan import semconv
from chatspan.mapping._values import as_count, as_float, as_int, as_text, as_texts, dump_json, field

OPERATION_CHAT = gen_ai.GenAiOperationNameValues.CHAT.value
PROVIDER_OPENAI = gen_ai.GenAiProviderNameValues.OPENAI.value
API_TYPE_CHAT = openai_attrs.OpenaiApiTypeValues.CHAT_COMPLETIONS.value

_OUTPUT_TYPES = {
    "text": gen_ai.GenAiOutputTypeValues.TEXT.value,
    "json_object": gen_ai.GenAiOutputTypeValues.JSON.value,
    "json_schema": gen_ai.GenAiOutputTypeValues.JSON.value,
}


def span_name(model: object) -> str:
    """Name a chat span the semconv way: `chat {model}` (just `chat` when the model is unknown)."""
    name = as_text(model)
    return f"{OPERATION_CHAT} {name}" if name else OPERATION_CHAT


def request_attributes(kwargs: Mapping[str, Any]) -> dict[str, AttributeValue]:
    """Map the arguments of `chat.completions.create()` (or a stored completion's request fields).

    Values of the wrong type are left out rather than raised on: the SDK validates requests, we only
    describe them. SDK sentinels (`NOT_GIVEN`, `omit`) fail every type check, so they read as absent.
    """
    attrs: dict[str, AttributeValue] = {
        gen_ai.GEN_AI_OPERATION_NAME: OPERATION_CHAT,
        gen_ai.GEN_AI_PROVIDER_NAME: PROVIDER_OPENAI,
        openai_attrs.OPENAI_API_TYPE: API_TYPE_CHAT,
        gen_ai.GEN_AI_REQUEST_STREAM: False,
    }
    # One pass over what was passed (a handful of keywords), not one lookup per known parameter.
    for name, value in kwargs.items():
        mapper = _PARAMETERS.get(name)
        if mapper is not None and value is not None:
            mapper(attrs, value)
    return attrs


ParameterMapper = Callable[[dict[str, AttributeValue], Any], None]
"""Maps one request argument's value into the attributes (the argument tables of chat and responses)."""


def text_parameter(attribute: str) -> ParameterMapper:
    """A mapper that sets `attribute` to a text argument."""

    def mapper(attrs: dict[str, AttributeValue], value: Any) -> None:
        text = as_text(value)
        if text is not None:
            attrs[attribute] = text

    return mapper


def float_parameter(attribute: str) -> ParameterMapper:
    """A mapper that sets `attribute` to a (finite) number argument."""

    def mapper(attrs: dict[str, AttributeValue], value: Any) -> None:
        number = as_float(value)
        if number is not None:
            attrs[attribute] = number

    return mapper


def int_parameter(attribute: str, *, overrides: bool = True, count: bool = True) -> ParameterMapper:
    """A mapper that sets `attribute` to an int argument (a non-negative count unless `count=False`)."""
    check = as_count if count else as_int

    def mapper(attrs: dict[str, AttributeValue], value: Any) -> None:
        number = check(value)
        if number is not None and (overrides or attribute not in attrs):
            attrs[attribute] = number

    return mapper


def _stop(attrs: dict[str, AttributeValue], value: Any) -> None:
    text = as_text(value)
    if text is not None:
        attrs[gen_ai.GEN_AI_REQUEST_STOP_SEQUENCES] = [text]
    elif isinstance(value, (list, tuple)) and all(isinstance(s, str) for s in value):
        attrs[gen_ai.GEN_AI_REQUEST_STOP_SEQUENCES] = as_texts(value)


def stream_parameter(attrs: dict[str, AttributeValue], value: Any) -> None:
    """Map `stream` (anything but True is a plain call)."""
    attrs[gen_ai.GEN_AI_REQUEST_STREAM] = value is True


def _response_format(attrs: dict[str, AttributeValue], value: Any) -> None:
    output_type = _output_type(value)
    if output_type is not None:
        attrs[gen_ai.GEN_AI_OUTPUT_TYPE] = output_type


def flag_parameter(attribute: str) -> ParameterMapper:
    """A mapper that sets `attribute` to a boolean argument."""

    def mapper(attrs: dict[str, AttributeValue], value: Any) -> None:
        if isinstance(value, bool):
            attrs[attribute] = value

    return mapper


def metadata_parameter(attrs: dict[str, AttributeValue], value: Any) -> None:
    """Map `metadata`: one attribute per string pair."""
    attrs.update(metadata_attributes(value))


_PARAMETERS: dict[str, ParameterMapper] = {
    "model": text_parameter(gen_ai.GEN_AI_REQUEST_MODEL),
    "temperature": float_parameter(gen_ai.GEN_AI_REQUEST_TEMPERATURE),
    "top_p": float_parameter(gen_ai.GEN_AI_REQUEST_TOP_P),
    "frequency_penalty": float_parameter(gen_ai.GEN_AI_REQUEST_FREQUENCY_PENALTY),
    "presence_penalty": float_parameter(gen_ai.GEN_AI_REQUEST_PRESENCE_PENALTY),
    # max_completion_tokens replaced max_tokens; when both are passed, it is the one that counts.
    "max_completion_tokens": int_parameter(gen_ai.GEN_AI_REQUEST_MAX_TOKENS),
    "max_tokens": int_parameter(gen_ai.GEN_AI_REQUEST_MAX_TOKENS, overrides=False),
    "seed": int_parameter(gen_ai.GEN_AI_REQUEST_SEED, count=False),
    "n": int_parameter(gen_ai.GEN_AI_REQUEST_CHOICE_COUNT),
    "stop": _stop,
    "stream": stream_parameter,
    "response_format": _response_format,
    "service_tier": text_parameter(openai_attrs.OPENAI_REQUEST_SERVICE_TIER),
    "store": flag_parameter(semconv.OPENAI_REQUEST_STORE),
    "metadata": metadata_parameter,
}


def opt_in_request_attributes(tools: object, user: object) -> dict[str, AttributeValue]:
    """What a request says beyond its parameters, recorded only with content capture on.

    `gen_ai.tool.definitions` (opt-in in the conventions: large, and descriptions can be prompts)
    and `user.id` from the `user` field (an end-user identifier: personal data).
    """
    attrs: dict[str, AttributeValue] = {}
    if isinstance(tools, (list, tuple)) and tools:
        definitions = [tool.model_dump() if hasattr(tool, "model_dump") else tool for tool in tools]
        attrs[gen_ai.GEN_AI_TOOL_DEFINITIONS] = dump_json(definitions)
    user_id = as_text(user)
    if user_id:
        attrs[user_attributes.USER_ID] = user_id
    return attrs


def metadata_attributes(
    metadata: object, prefix: str = semconv.OPENAI_REQUEST_METADATA_PREFIX
) -> dict[str, AttributeValue]:
    """One `<prefix><key>` attribute per string pair (`openai.request.metadata.` by default)."""
    if not isinstance(metadata, Mapping):
        return {}
    attrs: dict[str, AttributeValue] = {}
    for key, value in metadata.items():
        name, text = as_text(key), as_text(value)
        if name is not None and text is not None:
            attrs[prefix + name] = text
    return attrs


def server_attributes(host: object, port: object, scheme: object) -> dict[str, AttributeValue]:
    """`server.address` / `server.port` from the client's base URL parts (port defaults by scheme)."""
    attrs: dict[str, AttributeValue] = {}
    address = as_text(host)
    if address:
        attrs[server.SERVER_ADDRESS] = address
        port_number = as_count(port)
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
