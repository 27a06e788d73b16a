"""Check a chat completion request body the way OpenAI does, and read it into a `ChatRequest`.

Messages are worded like OpenAI's (`Invalid 'n': integer below minimum value. ...`) because client
code and tests match on them. Only what the devserver acts on is checked; other fields pass through.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from chatspan.devserver.errors import ApiError, invalid_request

_ROLES = ("system", "assistant", "user", "function", "tool", "developer")
_MAX_METADATA_PAIRS = 16
_MAX_METADATA_KEY = 64
_MAX_METADATA_VALUE = 512
_MAX_STOP_SEQUENCES = 4
_MAX_N = 128

_JSON_HINT = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
    "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. "
    "If you have trouble figuring out how to fix this, please contact us through our help center at "
    "help.openai.com.)"
)


@dataclass(frozen=True)
class ChatRequest:
    """A valid `POST /v1/chat/completions` body, read into what the devserver acts on."""

    model: str
    messages: list[dict[str, Any]]
    body: dict[str, Any]
    """The whole request body, as sent."""
    n: int = 1
    max_tokens: int | None = None
    """`max_completion_tokens`, else `max_tokens`."""
    stop: tuple[str, ...] = ()
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None
    stream: bool = False
    include_usage: bool = False
    include_obfuscation: bool = True
    store: bool = False
    metadata: dict[str, str] | None = None
    service_tier: str | None = None


def parse_body(raw: bytes) -> dict[str, Any]:
    """Decode a JSON object body, or raise OpenAI's 400 for anything else."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise invalid_request(_JSON_HINT) from None
    if not isinstance(body, dict):
        raise invalid_request(_JSON_HINT)
    return body


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def invalid_type(param: str, expected: str, value: object) -> ApiError:
    """OpenAI's 400 for a parameter of the wrong type (`expected` reads "an integer", ...)."""
    return invalid_request(
        f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.",
        param=param,
        code="invalid_type",
    )


def missing_parameter(param: str) -> ApiError:
    """OpenAI's 400 for a required parameter that is absent."""
    return invalid_request(
        f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
    )


def integer_below_minimum(name: str, minimum: int, value: int) -> ApiError:
    """OpenAI's 400 for an integer parameter below its minimum."""
    return invalid_request(
        f"Invalid '{name}': integer below minimum value. Expected a value >= {minimum}, "
        f"but got {value} instead.",
        param=name,
        code="integer_below_min_value",
    )


def integer_above_maximum(name: str, maximum: int, value: int) -> ApiError:
    """OpenAI's 400 for an integer parameter above its maximum."""
    return invalid_request(
        f"Invalid '{name}': integer above maximum value. Expected a value <= {maximum}, "
        f"but got {value} instead.",
        param=name,
        code="integer_above_max_value",
    )


def _integer(body: dict[str, Any], name: str, minimum: int, maximum: int | None = None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(name, "an integer", value)
    if value < minimum:
        raise integer_below_minimum(name, minimum, value)
    if maximum is not None and value > maximum:
        raise integer_above_maximum(name, maximum, value)
    return value


def _number(body: dict[str, Any], name: str, minimum: float, maximum: float) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid_type(name, "a decimal", value)
    if value < minimum:
        raise invalid_request(
            f"Invalid '{name}': decimal below minimum value. Expected a value >= {minimum:g}, "
            f"but got {value:g} instead.",
            param=name,
            code="decimal_below_min_value",
        )
    if value > maximum:
        raise invalid_request(
            f"Invalid '{name}': decimal above maximum value. Expected a value <= {maximum:g}, "
            f"but got {value:g} instead.",
            param=name,
            code="decimal_above_max_value",
        )


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid_type(name, "a boolean", value)
    return value


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    if "messages" not in body:
        raise missing_parameter("messages")
    messages = body["messages"]
    if not isinstance(messages, list):
        raise invalid_type("messages", "an array of objects", messages)
    if not messages:
        raise invalid_request(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            param="messages",
            code="empty_array",
        )
    for index, message in enumerate(messages):
        param = f"messages[{index}]"
        if not isinstance(message, dict):
            raise invalid_type(param, "an object", message)
        if "role" not in message:
            raise missing_parameter(f"{param}.role")
        role = message["role"]
        if role not in _ROLES:
            supported = ", ".join(f"'{name}'" for name in _ROLES[:-1]) + f", and '{_ROLES[-1]}'"
            raise invalid_request(
                f"Invalid value: {json.dumps(role)}. Supported values are: {supported}.",
                param=f"{param}.role",
                code="invalid_value",
            )
        if role == "tool" and "tool_call_id" not in message:
            raise missing_parameter(f"{param}.tool_call_id")
    return messages


def _metadata(body: dict[str, Any], store: bool) -> dict[str, str] | None:
    metadata = body.get("metadata")
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise invalid_type("metadata", "an object", metadata)
    if not store:
        raise invalid_request(
            "The 'metadata' parameter is only allowed when 'store' is enabled.", param="metadata"
        )
    return read_metadata(metadata)


def read_metadata(metadata: object) -> dict[str, str]:
    """Check a `metadata` object as OpenAI does (16 pairs, keys <= 64, values <= 512 characters)."""
    if not isinstance(metadata, dict):
        raise invalid_type("metadata", "an object", metadata)
    if len(metadata) > _MAX_METADATA_PAIRS:
        raise invalid_request(
            f"Invalid 'metadata': too many properties. Expected an object with at most "
            f"{_MAX_METADATA_PAIRS} properties, but got an object with {len(metadata)} properties instead.",
            param="metadata",
            code="object_above_max_properties",
        )
    for key, value in metadata.items():
        param = f"metadata.{key}"
        if len(key) > _MAX_METADATA_KEY:
            raise invalid_request(
                f"Invalid 'metadata': string too long. Expected a string with maximum length "
                f"{_MAX_METADATA_KEY}, but got a string with length {len(key)} instead.",
                param="metadata",
                code="string_above_max_length",
            )
        if not isinstance(value, str):
            raise invalid_type(param, "a string", value)
        if len(value) > _MAX_METADATA_VALUE:
            raise invalid_request(
                f"Invalid '{param}': string too long. Expected a string with maximum length "
                f"{_MAX_METADATA_VALUE}, but got a string with length {len(value)} instead.",
                param=param,
                code="string_above_max_length",
            )
    return dict(metadata)


def _stop(body: dict[str, Any]) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    if isinstance(stop, str):
        return (stop,)
    if not isinstance(stop, list) or not all(isinstance(item, str) for item in stop):
        raise invalid_type("stop", "a string or an array of strings", stop)
    if len(stop) > _MAX_STOP_SEQUENCES:
        raise invalid_request(
            f"Invalid 'stop': array too long. Expected an array with maximum length {_MAX_STOP_SEQUENCES}, "
            f"but got an array with length {len(stop)} instead.",
            param="stop",
            code="array_above_max_length",
        )
    return tuple(item for item in stop if item)


def _tools(body: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
    tools = body.get("tools")
    tool_choice = body.get("tool_choice")
    if tools is None:
        if tool_choice is not None:
            raise invalid_request(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                param="tool_choice",
            )
        return [], None
    if not isinstance(tools, list):
        raise invalid_type("tools", "an array of objects", tools)
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise invalid_type(f"tools[{index}]", "an object", tool)
        kind = tool.get("type")
        if kind not in ("function", "custom"):
            raise invalid_request(
                f"Invalid value: {json.dumps(kind)}. Supported values are: 'function' and 'custom'.",
                param=f"tools[{index}].type",
                code="invalid_value",
            )
        definition = tool.get(kind)
        if not isinstance(definition, dict) or not isinstance(definition.get("name"), str):
            raise missing_parameter(f"tools[{index}].{kind}.name")
    if isinstance(tool_choice, dict) and tool_choice.get("type") in ("function", "custom"):
        kind = tool_choice["type"]
        name = (tool_choice.get(kind) or {}).get("name")
        if name not in {tool[tool["type"]]["name"] for tool in tools}:
            raise invalid_request(
                f"Invalid value for 'tool_choice': tool {json.dumps(name)} is not among the 'tools'.",
                param="tool_choice",
            )
    elif not isinstance(tool_choice, dict) and tool_choice not in (None, "none", "auto", "required"):
        raise invalid_request(
            f"Invalid value: {json.dumps(tool_choice)}. Supported values are: 'none', 'auto', and "
            "'required'.",
            param="tool_choice",
            code="invalid_value",
        )
    return tools, tool_choice


def _response_format(body: dict[str, Any]) -> dict[str, Any] | None:
    response_format = body.get("response_format")
    if response_format is None:
        return None
    if not isinstance(response_format, dict):
        raise invalid_type("response_format", "an object", response_format)
    kind = response_format.get("type")
    if kind not in ("text", "json_object", "json_schema"):
        raise invalid_request(
            f"Invalid value: {json.dumps(kind)}. Supported values are: 'text', 'json_object', and "
            "'json_schema'.",
            param="response_format.type",
            code="invalid_value",
        )
    if kind == "json_schema":
        json_schema = response_format.get("json_schema")
        if not isinstance(json_schema, dict):
            raise missing_parameter("response_format.json_schema")
        if not isinstance(json_schema.get("name"), str):
            raise missing_parameter("response_format.json_schema.name")
    return response_format


def _stream_options(body: dict[str, Any], stream: bool) -> tuple[bool, bool]:
    options = body.get("stream_options")
    if options is None:
        return False, True
    if not stream:
        raise invalid_request(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
        )
    if not isinstance(options, dict):
        raise invalid_type("stream_options", "an object", options)
    include_usage = options.get("include_usage")
    include_obfuscation = options.get("include_obfuscation")
    return include_usage is True, include_obfuscation is not False


def read_chat_request(body: dict[str, Any]) -> ChatRequest:
    """Validate a `POST /v1/chat/completions` body; raise `ApiError` (400) as OpenAI would."""
    if "model" not in body:
        raise invalid_request("you must provide a model parameter")
    model = body["model"]
    if not isinstance(model, str):
        raise invalid_type("model", "a string", model)
    messages = _messages(body)
    n = _integer(body, "n", 1, _MAX_N)
    max_tokens = _integer(body, "max_tokens", 1)
    max_completion_tokens = _integer(body, "max_completion_tokens", 1)
    _number(body, "temperature", 0, 2)
    _number(body, "top_p", 0, 1)
    _number(body, "frequency_penalty", -2, 2)
    _number(body, "presence_penalty", -2, 2)
    store = _flag(body, "store")
    stream = _flag(body, "stream")
    include_usage, include_obfuscation = _stream_options(body, stream)
    tools, tool_choice = _tools(body)
    service_tier = body.get("service_tier")
    if service_tier is not None and not isinstance(service_tier, str):
        raise invalid_type("service_tier", "a string", service_tier)
    return ChatRequest(
        model=model,
        messages=messages,
        body=body,
        n=n or 1,
        max_tokens=max_completion_tokens if max_completion_tokens is not None else max_tokens,
        stop=_stop(body),
        tools=tools,
        tool_choice=tool_choice,
        response_format=_response_format(body),
        stream=stream,
        include_usage=include_usage,
        include_obfuscation=include_obfuscation,
        store=store,
        metadata=_metadata(body, store),
        service_tier=service_tier,
    )
