"""The stored-completion endpoints: list, retrieve, update, delete and a completion's messages.

Each function reads a request's query or body, asks the `CompletionStore` and returns the JSON
body OpenAI answers with (sharing the records' parts: serialise it, do not change it), or raises
`ApiError` with OpenAI's status and wording:

    GET    /v1/chat/completions                    model, metadata[k]=v (all must match), after,
                                                   limit (1..100, default 20), order (asc|desc)
    GET    /v1/chat/completions/{id}               the stored completion
    POST   /v1/chat/completions/{id}               {"metadata": {...}} replaces its metadata
    DELETE /v1/chat/completions/{id}               {"object": "chat.completion.deleted", ...}
    GET    /v1/chat/completions/{id}/messages      after, limit, order; ids `{id}-{index}`

An unknown id, in the path or as `after`, is a 404. An empty page has `first_id` and `last_id`
null: the spec types them as strings, but an empty page has no id to give.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chatspan.devserver.completions import message_text
from chatspan.devserver.errors import ApiError, invalid_request
from chatspan.devserver.store import CompletionStore, UnknownCompletion, json_copy
from chatspan.devserver.validation import (
    integer_above_maximum,
    integer_below_minimum,
    invalid_type,
    missing_parameter,
    parse_body,
    read_metadata,
)

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
IGNORED_LIMIT_PAGE_SIZE = 20
"""The page size of a server that ignores `limit` (`DevServer(ignore_limit=True)`)."""

Query = Sequence[tuple[str, str]]
"""A query string's (name, value) pairs, in order, repeats kept."""


def not_found(completion_id: str) -> ApiError:
    """The 404 for a completion id that is not stored (or no longer is)."""
    return ApiError(404, f"No chat completion found with id '{completion_id}'.")


def list_completions(store: CompletionStore, query: Query, *, ignore_limit: bool = False) -> dict[str, Any]:
    """`GET /v1/chat/completions`: one page of stored completions, as a `ChatCompletionList`."""
    values = _single_values(query)
    metadata = {
        name[len("metadata[") : -1]: value
        for name, value in query
        if name.startswith("metadata[") and name.endswith("]")
    }
    # A server that ignores `limit` does not read it at all, so no value of it can fail there.
    limit = IGNORED_LIMIT_PAGE_SIZE if ignore_limit else limit_parameter(values.get("limit"))
    order = order_parameter(values.get("order"))
    after = values.get("after") or None
    try:
        page = store.page(after=after, limit=limit, order=order, model=values.get("model"), metadata=metadata)
    except UnknownCompletion as error:
        raise not_found(error.completion_id) from None
    return {
        "object": "list",
        "data": [record.object_view() for record in page.records],
        "first_id": page.first_id,
        "last_id": page.last_id,
        "has_more": page.has_more,
    }


def retrieve_completion(store: CompletionStore, completion_id: str) -> dict[str, Any]:
    """`GET /v1/chat/completions/{id}`: the stored completion object."""
    record = store.get(completion_id)
    if record is None:
        raise not_found(completion_id)
    return record.object_view()


def update_completion(store: CompletionStore, completion_id: str, raw: bytes) -> dict[str, Any]:
    """`POST /v1/chat/completions/{id}`: replace the metadata (the only field that can change)."""
    body = parse_body(raw)
    for name in body:
        if name != "metadata":
            raise invalid_request(f"Unrecognized request argument supplied: {name}")
    if "metadata" not in body:
        raise missing_parameter("metadata")
    metadata = read_metadata(body["metadata"]) if body["metadata"] is not None else {}
    record = store.update_metadata(completion_id, metadata)
    if record is None:
        raise not_found(completion_id)
    return record.object_view()


def delete_completion(store: CompletionStore, completion_id: str) -> dict[str, Any]:
    """`DELETE /v1/chat/completions/{id}`: forget the completion."""
    if not store.delete(completion_id):
        raise not_found(completion_id)
    return {"object": "chat.completion.deleted", "id": completion_id, "deleted": True}


def list_messages(store: CompletionStore, completion_id: str, query: Query) -> dict[str, Any]:
    """`GET /v1/chat/completions/{id}/messages`: the request's messages, as a `ChatCompletionMessageList`."""
    record = store.get(completion_id)
    if record is None:
        raise not_found(completion_id)
    values = _single_values(query)
    limit = limit_parameter(values.get("limit"))
    order = order_parameter(values.get("order"))
    items = [message_object(completion_id, index, message) for index, message in enumerate(record.messages)]
    if order == "desc":
        items.reverse()
    after = values.get("after")
    if after:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise ApiError(404, f"No message found with id '{after}' in chat completion '{completion_id}'.")
        items = items[ids.index(after) + 1 :]
    page = items[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(items) > limit,
    }


def message_object(completion_id: str, index: int, message: dict[str, Any]) -> dict[str, Any]:
    """One input message as the messages list shows it: `id`, `role`, `content`, `name`, `content_parts`.

    A content given as parts comes back as their text in `content`, and the parts themselves in
    `content_parts`. Assistant messages keep their `refusal` and `tool_calls`.
    """
    content = message.get("content")
    parts = content if isinstance(content, list) else None
    item: dict[str, Any] = {
        "id": f"{completion_id}-{index}",
        "role": message.get("role"),
        "content": (message_text(parts) or None) if parts is not None else content,
        "name": message.get("name"),
        "content_parts": json_copy(parts) if parts is not None else None,
    }
    if message.get("role") == "assistant":
        item["refusal"] = message.get("refusal")
        if message.get("tool_calls"):
            item["tool_calls"] = json_copy(message["tool_calls"])
    return item


def _single_values(query: Query) -> dict[str, str]:
    # The last of repeated parameters wins, as most servers read a query string.
    return dict(query)


def limit_parameter(text: str | None) -> int:
    """The `limit` query parameter of a list endpoint: 1..100, default 20; 400s worded like OpenAI's."""
    if text is None or text == "":
        return DEFAULT_LIMIT
    try:
        value = int(text)
    except ValueError:
        raise invalid_type("limit", "an integer", text) from None
    if value < 1:
        raise integer_below_minimum("limit", 1, value)
    if value > MAX_LIMIT:
        raise integer_above_maximum("limit", MAX_LIMIT, value)
    return value


def order_parameter(text: str | None, default: str = "asc") -> str:
    """The `order` query parameter of a list endpoint: `asc` or `desc` (else a 400), `default` if absent."""
    if text is None or text == "":
        return default
    if text not in ("asc", "desc"):
        raise invalid_request(
            f"Invalid value: {json.dumps(text)}. Supported values are: 'asc' and 'desc'.",
            param="order",
            code="invalid_value",
        )
    return text
