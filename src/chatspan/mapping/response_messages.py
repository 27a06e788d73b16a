"""Responses API items -> the semantic-convention message format (only used when capture is on).

`input` (a string or input items) becomes `gen_ai.input.messages`, `instructions` becomes
`gen_ai.system_instructions`, the response's `output` items `gen_ai.output.messages`: the same JSON
shapes as chat completions' (`{"role", "parts": [...]}`), so both APIs read alike in a backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.util.types import AttributeValue

from chatspan.mapping._values import dump_json, field
from chatspan.mapping.messages import parse_arguments

# Tools that run on OpenAI's side: their calls are recorded as server tool calls.
_SERVER_TOOL_CALLS = frozenset(
    {
        "web_search_call",
        "file_search_call",
        "code_interpreter_call",
        "image_generation_call",
        "computer_call",
        "mcp_call",
        "local_shell_call",
        "shell_call",
    }
)
_TOOL_OUTPUTS = frozenset({"function_call_output", "custom_tool_call_output"})


def response_input_attributes(kwargs: Mapping[str, Any]) -> dict[str, AttributeValue]:
    """Map `input` and `instructions` of a Responses request."""
    attrs: dict[str, AttributeValue] = {}
    value = kwargs.get("input")
    messages = [{"role": "user", "parts": [_text(value)]}] if isinstance(value, str) else _messages(value)
    if messages:
        attrs[gen_ai.GEN_AI_INPUT_MESSAGES] = dump_json(messages)
    instructions = kwargs.get("instructions")
    if isinstance(instructions, str) and instructions:
        attrs[gen_ai.GEN_AI_SYSTEM_INSTRUCTIONS] = dump_json([_text(instructions)])
    return attrs


def response_output_attributes(response: Any) -> dict[str, AttributeValue]:
    """Map a `Response`'s output items to `gen_ai.output.messages` (one assistant message)."""
    parts: list[dict[str, Any]] = []
    for item in field(response, "output") or ():
        parts.extend(_item_parts(item))
    if not parts:
        return {}
    message = {"role": "assistant", "parts": parts, "finish_reason": _finish(response)}
    return {gen_ai.GEN_AI_OUTPUT_MESSAGES: dump_json([message])}


def _finish(response: Any) -> str:
    status = field(response, "status")
    return "stop" if status == "completed" else str(status or "")


def _messages(items: object) -> list[dict[str, Any]]:
    if not isinstance(items, Iterable) or isinstance(items, (str, bytes, Mapping)):
        return []
    messages: list[dict[str, Any]] = []
    for item in items:
        kind = field(item, "type")
        role = field(item, "role")
        if kind in _TOOL_OUTPUTS:
            messages.append({"role": "tool", "parts": _item_parts(item)})
        elif role is not None:
            messages.append({"role": role, "parts": _content_parts(field(item, "content"))})
        else:
            # Items echoed from an earlier response (function calls, reasoning) are the assistant's.
            messages.append({"role": "assistant", "parts": _item_parts(item)})
    return messages


def _item_parts(item: Any) -> list[dict[str, Any]]:
    kind = field(item, "type")
    if kind == "message":
        return _content_parts(field(item, "content"))
    if kind in ("function_call", "custom_tool_call"):
        arguments = field(item, "arguments") if kind == "function_call" else field(item, "input")
        return [
            {
                "type": "tool_call",
                "id": field(item, "call_id"),
                "name": field(item, "name"),
                "arguments": parse_arguments(arguments),
            }
        ]
    if kind in _TOOL_OUTPUTS:
        return [
            {"type": "tool_call_response", "id": field(item, "call_id"), "response": field(item, "output")}
        ]
    if kind == "reasoning":
        texts = [field(part, "text") for part in field(item, "summary") or ()]
        return [{"type": "reasoning", "content": "\n".join(t for t in texts if isinstance(t, str))}]
    if kind in _SERVER_TOOL_CALLS:
        return [{"type": "server_tool_call", "id": field(item, "id"), "name": kind.removesuffix("_call")}]
    return []


def _content_parts(content: object) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [_text(content)]
    parts: list[dict[str, Any]] = []
    for part in content if isinstance(content, Iterable) and not isinstance(content, bytes) else ():
        kind = field(part, "type")
        if kind in ("input_text", "output_text", "text"):
            parts.append(_text(field(part, "text")))
        elif kind == "refusal":
            parts.append({"type": "refusal", "content": field(part, "refusal")})
        elif kind == "input_image":
            url = field(part, "image_url")
            if isinstance(url, str) and url.startswith("data:"):
                parts.append({"type": "blob", "modality": "image", "mime_type": url[5:].split(";")[0]})
            elif url is not None:
                parts.append({"type": "uri", "modality": "image", "uri": url})
            else:
                parts.append({"type": "file", "modality": "image", "file_id": field(part, "file_id")})
        elif kind == "input_file":
            parts.append({"type": "file", "modality": "file", "file_id": field(part, "file_id")})
        elif kind == "input_audio":
            parts.append({"type": "blob", "modality": "audio"})
    return parts


def _text(content: object) -> dict[str, Any]:
    return {"type": "text", "content": content}
