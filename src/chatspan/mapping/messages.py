"""Message content -> the semantic-convention message format (only used when capture is on).

Input messages become `gen_ai.input.messages`, system and developer messages
`gen_ai.system_instructions`, choices `gen_ai.output.messages`; each a JSON string of the shapes in
the GenAI conventions (`{"role", "parts": [{"type": "text" | "tool_call" | ...}]}`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.util.types import AttributeValue

from chatspan.mapping._values import dump_json, field

_SYSTEM_ROLES = frozenset({"system", "developer"})


def input_message_attributes(messages: object) -> dict[str, AttributeValue]:
    """Map create()'s `messages` to `gen_ai.input.messages` and `gen_ai.system_instructions`."""
    if not isinstance(messages, Iterable) or isinstance(messages, (str, bytes)):
        return {}
    instructions: list[dict[str, Any]] = []
    converted: list[dict[str, Any]] = []
    for message in messages:
        role = field(message, "role")
        if role in _SYSTEM_ROLES:
            instructions.extend(_content_parts(field(message, "content")))
            continue
        converted.append({"role": role, "parts": _message_parts(message)})
    attrs: dict[str, AttributeValue] = {}
    if converted:
        attrs[gen_ai.GEN_AI_INPUT_MESSAGES] = _dump(converted)
    if instructions:
        attrs[gen_ai.GEN_AI_SYSTEM_INSTRUCTIONS] = _dump(instructions)
    return attrs


def output_message_attributes(choices: Iterable[Any]) -> dict[str, AttributeValue]:
    """Map response choices (SDK objects, dicts or accumulated stream choices) to output messages."""
    converted = [
        {
            "role": field(field(choice, "message"), "role") or "assistant",
            "parts": _message_parts(field(choice, "message")),
            "finish_reason": field(choice, "finish_reason") or "",
        }
        for choice in choices
    ]
    return {gen_ai.GEN_AI_OUTPUT_MESSAGES: _dump(converted)} if converted else {}


def _message_parts(message: object) -> list[dict[str, Any]]:
    role = field(message, "role")
    if role == "tool":
        return [
            {
                "type": "tool_call_response",
                "id": field(message, "tool_call_id"),
                "response": _text_of(field(message, "content")),
            }
        ]
    parts = _content_parts(field(message, "content"))
    refusal = field(message, "refusal")
    if isinstance(refusal, str):
        parts.append({"type": "refusal", "content": refusal})
    for call in field(message, "tool_calls") or ():
        function = field(call, "function")
        parts.append(
            {
                "type": "tool_call",
                "id": field(call, "id"),
                "name": field(function, "name"),
                "arguments": parse_arguments(field(function, "arguments")),
            }
        )
    legacy_call = field(message, "function_call")
    if legacy_call is not None:
        parts.append(
            {
                "type": "tool_call",
                "id": None,
                "name": field(legacy_call, "name"),
                "arguments": parse_arguments(field(legacy_call, "arguments")),
            }
        )
    return parts


def _content_parts(content: object) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if not isinstance(content, Iterable) or isinstance(content, bytes):
        return []
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = field(part, "type")
        if kind == "text":
            parts.append({"type": "text", "content": field(part, "text")})
        elif kind == "refusal":
            parts.append({"type": "refusal", "content": field(part, "refusal")})
        elif kind == "image_url":
            url = field(field(part, "image_url"), "url")
            if isinstance(url, str) and url.startswith("data:"):
                # The bytes themselves stay out of the span; the media type says what was sent.
                parts.append({"type": "blob", "modality": "image", "mime_type": url[5:].split(";")[0]})
            else:
                parts.append({"type": "uri", "modality": "image", "uri": url})
        elif kind == "input_audio":
            parts.append(
                {
                    "type": "blob",
                    "modality": "audio",
                    "mime_type": f"audio/{field(field(part, 'input_audio'), 'format')}",
                }
            )
        elif kind == "file":
            parts.append(
                {"type": "file", "modality": "file", "file_id": field(field(part, "file"), "file_id")}
            )
    return parts


def _text_of(content: object) -> object:
    if isinstance(content, str) or content is None:
        return content
    texts = [part.get("content") for part in _content_parts(content) if part.get("type") == "text"]
    return "".join(t for t in texts if isinstance(t, str))


def parse_arguments(arguments: object) -> object:
    """Tool-call arguments as JSON when they parse, else as sent."""
    if not isinstance(arguments, str):
        return arguments
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


def _dump(value: object) -> str:
    return dump_json(value)
