"""A `Response` as the server-sent events OpenAI streams for it, each with its `sequence_number`.

`response.created` (for a background response then `response.queued`) and `response.in_progress`
(the response with no output and no usage yet),
then per output item `response.output_item.added`, its content (a message's
`response.content_part.added`, `response.output_text.delta`... or `response.refusal.delta`...,
the `.done` events and `response.content_part.done`; a function call's
`response.function_call_arguments.delta`... and `.done`; a reasoning item's
`response.reasoning_summary_part.added`, `response.reasoning_summary_text.delta`... and the
`.done` events), `response.output_item.done`, and last `response.completed`,
`response.incomplete` or `response.failed`, carrying the whole response. Text arrives a word at
a time, arguments eight characters at a time, as the chat completion chunks do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chatspan.devserver.completions import split_pieces
from chatspan.devserver.store import json_copy

_FINAL_EVENTS = {
    "completed": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
}
_ARGUMENT_PIECE = 8


def response_events(response: dict[str, Any], *, first_status: str = "in_progress") -> list[dict[str, Any]]:
    """Every event of `response` (a finished `Response` object), numbered from 0.

    `first_status` is the status `response.created` reports (`queued` for a background response).
    """
    events = list(_events(response, first_status))
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def failed_events(events: list[dict[str, Any]], sent: int, failed: dict[str, Any]) -> list[dict[str, Any]]:
    """The first `sent` of `events`, then an `error` event and `response.failed` with `failed`.

    What a stream looks like when the model fails part-way (the `fail-after` fault).
    """
    kept = [json_copy(event) for event in events[:sent]]
    error = failed.get("error") or {}
    tail = [
        {"type": "error", "code": error.get("code"), "message": error.get("message", ""), "param": None},
        {"type": "response.failed", "response": failed},
    ]
    for number, event in enumerate(tail, start=len(kept)):
        event["sequence_number"] = number
    return [*kept, *tail]


def pending(response: dict[str, Any], status: str) -> dict[str, Any]:
    """`response` as it looks before it has answered: `status`, no output, no usage, no details.

    `usage` is left out rather than null: the spec's `ResponseUsage` is not nullable.
    """
    before: dict[str, Any] = json_copy(response)
    before.pop("usage", None)
    before.update(status=status, output=[], completed_at=None, incomplete_details=None, error=None)
    return before


def _events(response: dict[str, Any], first_status: str) -> Iterator[dict[str, Any]]:
    yield {"type": "response.created", "response": pending(response, first_status)}
    if first_status == "queued":
        yield {"type": "response.queued", "response": pending(response, "queued")}
    yield {"type": "response.in_progress", "response": pending(response, "in_progress")}
    for index, item in enumerate(response["output"]):
        kind = item["type"]
        if kind == "message":
            yield from _message_events(index, item)
        elif kind == "function_call":
            yield from _function_call_events(index, item)
        else:
            yield from _reasoning_events(index, item)
    yield {
        "type": _FINAL_EVENTS.get(response["status"], "response.completed"),
        "response": json_copy(response),
    }


def _added(index: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.added", "output_index": index, "item": item}


def _done(index: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.done", "output_index": index, "item": json_copy(item)}


def _message_events(index: int, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield _added(index, {**item, "status": "in_progress", "content": []})
    where = {"item_id": item["id"], "output_index": index}
    for content_index, part in enumerate(item["content"]):
        at = {**where, "content_index": content_index}
        if part["type"] == "refusal":
            yield {"type": "response.content_part.added", **at, "part": {"type": "refusal", "refusal": ""}}
            for piece in split_pieces(part["refusal"]):
                yield {"type": "response.refusal.delta", **at, "delta": piece}
            yield {"type": "response.refusal.done", **at, "refusal": part["refusal"]}
        else:
            empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            yield {"type": "response.content_part.added", **at, "part": empty}
            for piece in split_pieces(part["text"]):
                yield {"type": "response.output_text.delta", **at, "delta": piece, "logprobs": []}
            yield {"type": "response.output_text.done", **at, "text": part["text"], "logprobs": []}
        yield {"type": "response.content_part.done", **at, "part": json_copy(part)}
    yield _done(index, item)


def _function_call_events(index: int, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield _added(index, {**item, "status": "in_progress", "arguments": ""})
    where = {"item_id": item["id"], "output_index": index}
    arguments = item["arguments"]
    for start in range(0, len(arguments), _ARGUMENT_PIECE):
        delta = arguments[start : start + _ARGUMENT_PIECE]
        yield {"type": "response.function_call_arguments.delta", **where, "delta": delta}
    yield {
        "type": "response.function_call_arguments.done",
        **where,
        "name": item["name"],
        "arguments": arguments,
    }
    yield _done(index, item)


def _reasoning_events(index: int, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield _added(index, {**item, "summary": []})
    where = {"item_id": item["id"], "output_index": index}
    for summary_index, part in enumerate(item.get("summary", [])):
        at = {**where, "summary_index": summary_index}
        yield {
            "type": "response.reasoning_summary_part.added",
            **at,
            "part": {"type": "summary_text", "text": ""},
        }
        for piece in split_pieces(part["text"]):
            yield {"type": "response.reasoning_summary_text.delta", **at, "delta": piece}
        yield {"type": "response.reasoning_summary_text.done", **at, "text": part["text"]}
        yield {"type": "response.reasoning_summary_part.done", **at, "part": json_copy(part)}
    yield _done(index, item)
