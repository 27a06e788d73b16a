"""Check a `POST /v1/responses` body the way OpenAI does, and read it into a `ResponsesRequest`.

Errors are worded like OpenAI's (`Missing required parameter: 'model'.`, `Invalid type for
'input': ...`) with its `param` and `code`, because client code matches on them. Only what the
devserver acts on or echoes is checked; other fields pass through.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from chatspan.devserver.errors import ApiError, invalid_request
from chatspan.devserver.validation import (
    integer_above_maximum,
    integer_below_minimum,
    invalid_type,
    missing_parameter,
    read_metadata,
)

MIN_MAX_OUTPUT_TOKENS = 16
"""OpenAI refuses a smaller `max_output_tokens`."""
_INPUT_ROLES = ("user", "assistant", "system", "developer")
_ITEM_TYPES = ("message", "function_call", "function_call_output", "reasoning")
_TRUNCATIONS = ("auto", "disabled")
_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
_SUMMARIES = ("auto", "concise", "detailed")


@dataclass(frozen=True)
class ResponsesRequest:
    """A valid `POST /v1/responses` body, read into what the devserver acts on and echoes."""

    model: str
    input_items: list[dict[str, Any]]
    """The input as a list of items; a string input is one user message."""
    body: dict[str, Any]
    """The whole request body, as sent."""
    instructions: str | None = None
    max_output_tokens: int | None = None
    previous_response_id: str | None = None
    conversation: str | None = None
    """The conversation id, from `"conv_..."` or `{"id": "conv_..."}`."""
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = "auto"
    text_format: dict[str, Any] = field(default_factory=lambda: {"type": "text"})
    reasoning_effort: str | None = None
    reasoning_summary: str | None = None
    stream: bool = False
    store: bool = True
    background: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    service_tier: str | None = None
    truncation: str = "disabled"
    temperature: float = 1.0
    top_p: float = 1.0


def _input_type_error(value: object) -> ApiError:
    return invalid_type("input", "one of a string or array of input items", value)


def _input_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    value = body.get("input")
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if not isinstance(value, list):
        raise _input_type_error(value)
    for index, item in enumerate(value):
        _check_item(f"input[{index}]", item)
    return value


def _check_item(param: str, item: object) -> None:
    if not isinstance(item, dict):
        raise invalid_type(param, "an object", item)
    kind = item.get("type", "message")
    if kind not in _ITEM_TYPES:
        supported = ", ".join(f"'{name}'" for name in _ITEM_TYPES)
        raise invalid_request(
            f"Invalid value: {json.dumps(kind)}. Supported values are: {supported}.",
            param=f"{param}.type",
            code="invalid_value",
        )
    if kind == "message":
        if "role" not in item:
            raise missing_parameter(f"{param}.role")
        if item["role"] not in _INPUT_ROLES:
            supported = ", ".join(f"'{name}'" for name in _INPUT_ROLES[:-1]) + f", and '{_INPUT_ROLES[-1]}'"
            raise invalid_request(
                f"Invalid value: {json.dumps(item['role'])}. Supported values are: {supported}.",
                param=f"{param}.role",
                code="invalid_value",
            )
        if "content" not in item:
            raise missing_parameter(f"{param}.content")
        content = item["content"]
        if not isinstance(content, (str, list)):
            raise invalid_type(f"{param}.content", "one of a string or array of input content", content)
    elif kind == "function_call_output":
        for name in ("call_id", "output"):
            if name not in item:
                raise missing_parameter(f"{param}.{name}")
    elif kind == "function_call":
        for name in ("call_id", "name", "arguments"):
            if name not in item:
                raise missing_parameter(f"{param}.{name}")


def _tools(body: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
    tools = body.get("tools")
    tool_choice = body.get("tool_choice", "auto")
    if tools is None:
        tools = []
    if not isinstance(tools, list):
        raise invalid_type("tools", "an array of objects", tools)
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise invalid_type(f"tools[{index}]", "an object", tool)
        if tool.get("type") == "function" and not isinstance(tool.get("name"), str):
            raise missing_parameter(f"tools[{index}].name")
    if isinstance(tool_choice, dict):
        name = tool_choice.get("name")
        names = {tool.get("name") for tool in tools}
        if tool_choice.get("type") == "function" and name not in names:
            raise invalid_request(
                f"Tool choice '{name}' not found in 'tools' parameter.", param="tool_choice"
            )
    elif tool_choice not in ("none", "auto", "required"):
        raise invalid_request(
            f"Invalid value: {json.dumps(tool_choice)}. Supported values are: 'none', 'auto', and "
            "'required'.",
            param="tool_choice",
            code="invalid_value",
        )
    return tools, tool_choice


def _text_format(body: dict[str, Any]) -> dict[str, Any]:
    text = body.get("text")
    if text is None:
        return {"type": "text"}
    if not isinstance(text, dict):
        raise invalid_type("text", "an object", text)
    text_format = text.get("format") or {"type": "text"}
    if not isinstance(text_format, dict):
        raise invalid_type("text.format", "an object", text_format)
    kind = text_format.get("type")
    if kind not in ("text", "json_object", "json_schema"):
        raise invalid_request(
            f"Invalid value: {json.dumps(kind)}. Supported values are: 'text', 'json_object', and "
            "'json_schema'.",
            param="text.format.type",
            code="invalid_value",
        )
    if kind == "json_schema":
        for name in ("name", "schema"):
            if name not in text_format:
                raise missing_parameter(f"text.format.{name}")
    return text_format


def _reasoning(body: dict[str, Any]) -> tuple[str | None, str | None]:
    reasoning = body.get("reasoning")
    if reasoning is None:
        return None, None
    if not isinstance(reasoning, dict):
        raise invalid_type("reasoning", "an object", reasoning)
    effort, summary = reasoning.get("effort"), reasoning.get("summary")
    for name, value, allowed in (("effort", effort, _EFFORTS), ("summary", summary, _SUMMARIES)):
        if value is not None and value not in allowed:
            supported = ", ".join(f"'{item}'" for item in allowed[:-1]) + f", and '{allowed[-1]}'"
            raise invalid_request(
                f"Invalid value: {json.dumps(value)}. Supported values are: {supported}.",
                param=f"reasoning.{name}",
                code="invalid_value",
            )
    return effort, summary


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid_type(name, "a boolean", value)
    return value


def _number(body: dict[str, Any], name: str, maximum: float) -> float:
    value = body.get(name)
    if value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid_type(name, "a decimal", value)
    if not 0 <= value <= maximum:
        bound = "below minimum" if value < 0 else "above maximum"
        expected = ">= 0" if value < 0 else f"<= {maximum:g}"
        raise invalid_request(
            f"Invalid '{name}': decimal {bound} value. Expected a value {expected}, "
            f"but got {value:g} instead.",
            param=name,
            code="decimal_below_min_value" if value < 0 else "decimal_above_max_value",
        )
    return float(value)


def _max_output_tokens(body: dict[str, Any]) -> int | None:
    value = body.get("max_output_tokens")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type("max_output_tokens", "an integer", value)
    if value < MIN_MAX_OUTPUT_TOKENS:
        raise integer_below_minimum("max_output_tokens", MIN_MAX_OUTPUT_TOKENS, value)
    if value > 128_000:
        raise integer_above_maximum("max_output_tokens", 128_000, value)
    return value


def _optional_string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid_type(name, "a string", value)
    return value


def _conversation(body: dict[str, Any]) -> str | None:
    value = body.get("conversation")
    if value is None:
        return None
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    if not isinstance(value, str):
        raise invalid_type("conversation", "one of a string or object", value)
    return value


def read_responses_request(body: dict[str, Any]) -> ResponsesRequest:
    """Validate a `POST /v1/responses` body; raise `ApiError` (400) with OpenAI's wording."""
    if "model" not in body:
        raise missing_parameter("model")
    model = body["model"]
    if not isinstance(model, str):
        raise invalid_type("model", "a string", model)
    input_items = _input_items(body)
    previous = _optional_string(body, "previous_response_id")
    conversation = _conversation(body)
    if previous is not None and conversation is not None:
        raise invalid_request(
            "Mutually exclusive parameters: Ensure you are only providing one of: "
            "'previous_response_id' or 'conversation'.",
            param=None,
            code="mutually_exclusive_parameters",
        )
    if not input_items and previous is None and conversation is None and body.get("prompt") is None:
        raise missing_parameter("input")
    instructions = _optional_string(body, "instructions")
    tools, tool_choice = _tools(body)
    effort, summary = _reasoning(body)
    store = _flag(body, "store", True)
    background = _flag(body, "background", False)
    if background and not store:
        raise invalid_request(
            "Background responses must be stored: 'background' requires 'store' to be true.",
            param="background",
        )
    metadata = read_metadata(body["metadata"]) if body.get("metadata") is not None else {}
    truncation = body.get("truncation") or "disabled"
    if truncation not in _TRUNCATIONS:
        raise invalid_request(
            f"Invalid value: {json.dumps(truncation)}. Supported values are: 'auto' and 'disabled'.",
            param="truncation",
            code="invalid_value",
        )
    return ResponsesRequest(
        model=model,
        input_items=input_items,
        body=body,
        instructions=instructions,
        max_output_tokens=_max_output_tokens(body),
        previous_response_id=previous,
        conversation=conversation,
        tools=tools,
        tool_choice=tool_choice,
        text_format=_text_format(body),
        reasoning_effort=effort,
        reasoning_summary=summary,
        stream=_flag(body, "stream", False),
        store=store,
        background=background,
        metadata=metadata,
        service_tier=_optional_string(body, "service_tier"),
        truncation=str(truncation),
        temperature=_number(body, "temperature", 2),
        top_p=_number(body, "top_p", 1),
    )
