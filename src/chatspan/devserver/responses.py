"""Deterministic `Response` objects for `POST /v1/responses`, from the chat completion generator.

A Responses request is read into the chat request it stands for (its instructions as a system
message, the conversation so far from `previous_response_id`, the input items as messages,
function tools, `text.format` as `response_format`, `max_output_tokens` as `max_tokens`), so the
content is what `chatspan.devserver.completions` answers: `You said: ...`, `The tool returned: ...`,
a refusal when the last user message says "refuse", a `function_call` when function tools are
given, JSON for `text.format`. Reasoning models (o-series, gpt-5) add a `reasoning` item first,
with a summary when `reasoning.summary` asks for one. An answer cut by `max_output_tokens` is
`incomplete` with `incomplete_details.reason` `max_output_tokens`.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from chatspan.devserver.completions import (
    Choice,
    Completion,
    build_completion,
    is_reasoning_model,
    message_text,
    prompt_tokens,
    resolve_model,
    response_service_tier,
)
from chatspan.devserver.errors import invalid_request
from chatspan.devserver.promptcache import PromptCache
from chatspan.devserver.responses_request import ResponsesRequest
from chatspan.devserver.samples import leading_words
from chatspan.devserver.validation import ChatRequest

FAILED_MESSAGE = (
    "The model failed to generate a response (injected by the chatspan devserver's fail-after fault)."
)
DEFAULT_EFFORT = "medium"


def item_id(prefix: str) -> str:
    """An id in OpenAI's Responses style: `prefix` + 50 hex digits (`resp_...`, `msg_...`, `fc_...`)."""
    return prefix + secrets.token_hex(25)


def input_messages(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chat messages that input (or output) items stand for; reasoning items carry no message."""
    messages: list[dict[str, Any]] = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            messages.append(_message(item))
        elif kind == "function_call":
            call = {
                "id": item.get("call_id"),
                "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments")},
            }
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else message_text(output) or json.dumps(output)
            messages.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": text})
    return messages


def _message(item: dict[str, Any]) -> dict[str, Any]:
    content = item.get("content")
    if isinstance(content, list):
        # Output parts (`output_text`, `refusal`) read as text too when a message comes back as input.
        content = " ".join(
            str(part.get("text", part.get("refusal", ""))) for part in content if isinstance(part, dict)
        )
    return {"role": item.get("role"), "content": content}


def _chat_tools(request: ResponsesRequest) -> tuple[list[dict[str, Any]], Any]:
    tools = [
        {"type": "function", "function": {"name": tool["name"], "parameters": tool.get("parameters") or {}}}
        for tool in request.tools
        if tool.get("type") == "function"
    ]
    choice = request.tool_choice
    if not tools:
        return [], None
    if isinstance(choice, dict):
        if choice.get("type") == "function":
            return tools, {"type": "function", "function": {"name": choice.get("name")}}
        return tools, "auto"
    return tools, choice


def _response_format(text_format: dict[str, Any]) -> dict[str, Any] | None:
    kind = text_format.get("type")
    if kind == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": text_format["name"], "schema": text_format["schema"]},
        }
    if kind == "json_object":
        return {"type": "json_object"}
    return None


def chat_request(request: ResponsesRequest, history: list[dict[str, Any]]) -> ChatRequest:
    """The chat request a Responses request stands for, after the conversation `history`."""
    messages: list[dict[str, Any]] = []
    if request.instructions:
        messages.append({"role": "system", "content": request.instructions})
    messages.extend(history)
    messages.extend(input_messages(request.input_items))
    if not messages:
        messages.append({"role": "user", "content": ""})
    tools, tool_choice = _chat_tools(request)
    return ChatRequest(
        model=request.model,
        messages=messages,
        body={},
        max_tokens=request.max_output_tokens,
        tools=tools,
        tool_choice=tool_choice,
        response_format=_response_format(request.text_format),
        service_tier=request.service_tier,
    )


@dataclass(frozen=True)
class BuiltResponse:
    """A finished answer: the `Response` object and the chat messages it adds to the conversation."""

    response: dict[str, Any]
    context: tuple[dict[str, Any], ...]
    """History, input and output as chat messages, for a later `previous_response_id`."""
    input_items: tuple[dict[str, Any], ...]
    """The input items with ids and statuses, as `GET /v1/responses/{id}/input_items` lists them."""
    total_tokens: int
    """What the call spends of the token rate limit (a failed response too: the model ran)."""


def build_response(
    request: ResponsesRequest,
    history: list[dict[str, Any]],
    *,
    now: float,
    prompt_cache: PromptCache | None = None,
    failed: bool = False,
) -> BuiltResponse:
    """The `Response` to `request` after the conversation `history` (chat messages), created at `now`.

    `failed` makes it a `failed` response with a `server_error` (the `fail-after` fault).
    Raises `ApiError` for `reasoning` on a model that does not reason, as OpenAI does.
    """
    reasoning = is_reasoning_model(request.model)
    if not reasoning and (request.reasoning_effort is not None or request.reasoning_summary is not None):
        raise invalid_request(
            "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
            param="reasoning.effort",
            code="unsupported_parameter",
        )
    chat = chat_request(request, history)
    prompt = prompt_tokens(chat.messages)
    cached = prompt_cache.cached_tokens(chat.messages, prompt) if prompt_cache is not None else 0
    completion = build_completion(chat, cached_tokens=cached, now=now)
    choice = completion.choices[0]
    output = [] if failed else _output(request, chat, choice)
    incomplete = choice.finish_reason == "length" and not failed
    status = "failed" if failed else "incomplete" if incomplete else "completed"
    response = response_object(request, now=now, status=status, output=output)
    if not failed:
        response["usage"] = _usage(completion, choice)
    if incomplete:
        response["incomplete_details"] = {"reason": "max_output_tokens"}
    if failed:
        response["error"] = {"code": "server_error", "message": FAILED_MESSAGE}
    if status == "completed":
        response["completed_at"] = int(now)
    context = [*history, *input_messages(request.input_items), *input_messages(output)]
    usage = _usage(completion, choice)
    return BuiltResponse(
        response, tuple(context), tuple(_listed_items(request.input_items)), usage["total_tokens"]
    )


def response_object(
    request: ResponsesRequest, *, now: float, status: str, output: list[dict[str, Any]]
) -> dict[str, Any]:
    """The `Response` fields that echo the request, with `status` and `output`, before usage."""
    body = request.body
    reasoning = is_reasoning_model(request.model)
    response = {
        "id": item_id("resp_"),
        "object": "response",
        "created_at": int(now),
        "status": status,
        "background": request.background,
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": request.max_output_tokens,
        "max_tool_calls": body.get("max_tool_calls"),
        "model": resolve_model(request.model),
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True) is not False,
        "previous_response_id": request.previous_response_id,
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": {
            "effort": (request.reasoning_effort or DEFAULT_EFFORT) if reasoning else None,
            "summary": request.reasoning_summary,
        },
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": response_service_tier(request.service_tier),
        "store": request.store,
        "temperature": request.temperature,
        "text": {"format": request.text_format, "verbosity": "medium"},
        "tool_choice": request.tool_choice,
        "tools": [_echoed_tool(tool) for tool in request.tools],
        "top_logprobs": 0,
        "top_p": request.top_p,
        "truncation": request.truncation,
        "metadata": dict(request.metadata),
        "conversation": {"id": request.conversation} if request.conversation is not None else None,
    }
    if isinstance(body.get("user"), str):
        # The spec types `user` as a string, never null: it is echoed only when it was sent.
        response["user"] = body["user"]
    return response


def _echoed_tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        return dict(tool)
    return {
        "type": "function",
        "name": tool["name"],
        "description": tool.get("description"),
        "parameters": tool.get("parameters"),
        "strict": tool.get("strict", True),
    }


def reasoning_summary(chat: ChatRequest) -> str:
    """The made-up reasoning summary of a reasoning model: what it read and how it answers."""
    user_text = next(
        (message_text(m.get("content")) for m in reversed(chat.messages) if m.get("role") == "user"), ""
    )
    words = leading_words(user_text, 8) or "a greeting"
    return f"**Reading the request**\n\nThe user wrote {words}. I will answer by repeating it back."


def _output(request: ResponsesRequest, chat: ChatRequest, choice: Choice) -> list[dict[str, Any]]:
    output: list[dict[str, Any]] = []
    if choice.reasoning_tokens:
        summary = (
            [{"type": "summary_text", "text": reasoning_summary(chat)}] if request.reasoning_summary else []
        )
        output.append({"id": item_id("rs_"), "type": "reasoning", "summary": summary})
    for call in choice.tool_calls:
        output.append(
            {
                "id": item_id("fc_"),
                "type": "function_call",
                "status": "completed",
                "arguments": call.arguments,
                "call_id": call.id,
                "name": call.name,
            }
        )
    if not choice.tool_calls:
        text = choice.text or ""
        part = (
            {"type": "refusal", "refusal": text}
            if choice.is_refusal
            else {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        )
        status = "incomplete" if choice.finish_reason == "length" else "completed"
        output.append(
            {
                "id": item_id("msg_"),
                "type": "message",
                "status": status,
                "role": "assistant",
                "content": [part],
            }
        )
    return output


def _usage(completion: Completion, choice: Choice) -> dict[str, Any]:
    output_tokens = choice.completion_tokens
    return {
        "input_tokens": completion.prompt_tokens,
        "input_tokens_details": {"cached_tokens": completion.cached_tokens, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": choice.reasoning_tokens},
        "total_tokens": completion.prompt_tokens + output_tokens,
    }


def _listed_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Input items as the input-items list shows them: with ids, statuses and content parts."""
    listed: list[dict[str, Any]] = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            content = item.get("content")
            parts = [{"type": "input_text", "text": content}] if isinstance(content, str) else content
            listed.append(
                {
                    "id": item_id("msg_"),
                    "type": "message",
                    "role": item["role"],
                    "content": parts,
                    "status": "completed",
                }
            )
        elif kind == "function_call_output":
            listed.append(
                {
                    "id": item_id("fco_"),
                    "type": "function_call_output",
                    "call_id": item["call_id"],
                    "output": item["output"],
                    "status": "completed",
                }
            )
        elif kind == "function_call":
            listed.append(
                {
                    "id": item.get("id") or item_id("fc_"),
                    "type": "function_call",
                    "call_id": item["call_id"],
                    "name": item["name"],
                    "arguments": item["arguments"],
                    "status": "completed",
                }
            )
        else:
            summary = item.get("summary", [])
            listed.append({"id": item.get("id") or item_id("rs_"), "type": "reasoning", "summary": summary})
    return listed
