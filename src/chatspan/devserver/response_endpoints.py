"""The Responses API endpoints: create, retrieve (and replay its stream), input items, delete, cancel.

Each function reads the request, asks the `ResponseStore` and returns the `Answer`, or raises
`ApiError` with OpenAI's status and wording::

    POST   /v1/responses                       a Response (JSON, or its SSE events with stream)
    GET    /v1/responses/{id}                  the stored Response; stream=true&starting_after=N
                                               replays its events after sequence number N
    GET    /v1/responses/{id}/input_items      after, limit (1..100, default 20), order (default desc)
    DELETE /v1/responses/{id}                  {"id", "object": "response", "deleted": true}
    POST   /v1/responses/{id}/cancel           background responses only

A response created with `store: false` is never stored, so retrieving it is a 404, as at OpenAI.
A background response (`background: true`) answers `queued` at once; asked later it is
`in_progress`, then finished, each stage lasting `ServerState.background_seconds` on the
server's clock. Its stream, when asked for at create time, is sent at once: the events of the
whole run, the first saying `queued`. A `conversation` is echoed, not kept: the devserver has no
Conversations API, so only `previous_response_id` carries a conversation over.
"""

from __future__ import annotations

import json
from typing import Any

from chatspan.devserver.answers import Answer, JsonAnswer, StreamAnswer
from chatspan.devserver.errors import ApiError, invalid_request
from chatspan.devserver.ratelimit import charge
from chatspan.devserver.response_events import failed_events, pending, response_events
from chatspan.devserver.response_store import StoredResponse
from chatspan.devserver.responses import FAILED_MESSAGE, build_response
from chatspan.devserver.responses_request import read_responses_request
from chatspan.devserver.state import ServerState
from chatspan.devserver.stored import Query, limit_parameter, order_parameter
from chatspan.devserver.validation import parse_body

_PENDING = ("queued", "in_progress", "cancelled")


def response_not_found(response_id: str) -> ApiError:
    """The 404 for a response id that is not stored (never was, `store: false`, or deleted)."""
    return ApiError(404, f"Response with id '{response_id}' not found.")


def create_response(
    state: ServerState, raw: bytes, deployment: str | None, *, fail_after: int | None = None
) -> Answer:
    """`POST /v1/responses`; `fail_after` (the fault) makes the model fail after that many events."""
    body = parse_body(raw)
    if deployment is not None:
        body["model"] = deployment
    request = read_responses_request(body)
    history: list[dict[str, Any]] = []
    if request.previous_response_id is not None:
        previous = state.responses.get(request.previous_response_id)
        if previous is None:
            raise ApiError(
                404,
                f"Previous response with id '{request.previous_response_id}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        history = list(previous.context)
    now = state.clock()
    failed = fail_after is not None and not request.stream
    built = build_response(request, history, now=now, prompt_cache=state.prompt_cache, failed=failed)
    response = built.response
    limits = charge(state.limiter, request.model, built.total_tokens)
    if request.background and response["status"] == "completed":
        response["completed_at"] = int(now + 2 * state.background_seconds)
    events = response_events(response, first_status="queued" if request.background else "in_progress")
    if fail_after is not None and request.stream:
        response = _failed(response)
        events = failed_events(events, fail_after, response)
    if request.store:
        state.responses.put(
            StoredResponse(response, built.input_items, built.context, tuple(events), request.background, now)
        )
    if request.stream:
        return StreamAnswer(_sse(events), limits)
    return JsonAnswer(pending(response, "queued") if request.background else response, limits)


def _failed(response: dict[str, Any]) -> dict[str, Any]:
    failed = pending(response, "failed")
    failed["error"] = {"code": "server_error", "message": FAILED_MESSAGE}
    return failed


def _sse(events: list[dict[str, Any]]) -> list[tuple[str | None, str]]:
    return [(str(event["type"]), json.dumps(event)) for event in events]


def _stored(state: ServerState, response_id: str) -> StoredResponse:
    record = state.responses.get(response_id)
    if record is None:
        raise response_not_found(response_id)
    return record


def response_view(record: StoredResponse, now: float, stage_seconds: float) -> dict[str, Any]:
    """The stored response as it shows at clock time `now` (background ones progress with time)."""
    status = record.status_at(now, stage_seconds)
    if status in _PENDING:
        return pending(record.response, status)
    return record.response


def retrieve_response(
    state: ServerState, response_id: str, query: Query, *, fail_after: int | None = None
) -> Answer:
    """`GET /v1/responses/{id}`: the response, or with `stream=true` its events after `starting_after`."""
    record = _stored(state, response_id)
    values = dict(query)
    stream = values.get("stream", "false").lower()
    if stream not in ("true", "false"):
        raise invalid_request(
            f"Invalid value: {json.dumps(stream)}. Supported values are: 'true' and 'false'.",
            param="stream",
            code="invalid_value",
        )
    if stream == "false":
        if fail_after is not None:
            return JsonAnswer(_failed(record.response))
        return JsonAnswer(response_view(record, state.clock(), state.background_seconds))
    starting_after = _starting_after(values.get("starting_after"))
    events = list(record.events)
    if fail_after is not None:
        events = failed_events(events, fail_after, _failed(record.response))
    return StreamAnswer(_sse([event for event in events if event["sequence_number"] > starting_after]))


def _starting_after(text: str | None) -> int:
    if text is None or text == "":
        return -1
    try:
        return int(text)
    except ValueError:
        raise invalid_request(
            "Invalid type for 'starting_after': expected an integer, but got a string instead.",
            param="starting_after",
            code="invalid_type",
        ) from None


def list_input_items(state: ServerState, response_id: str, query: Query) -> JsonAnswer:
    """`GET /v1/responses/{id}/input_items`: one page of the input items, as a `ResponseItemList`."""
    record = _stored(state, response_id)
    values = dict(query)
    limit = limit_parameter(values.get("limit"))
    items = list(record.input_items)
    if order_parameter(values.get("order"), default="desc") == "desc":
        items.reverse()
    after = values.get("after")
    if after:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise ApiError(
                404, f"No item found with id '{after}' in response '{response_id}'.", param="after"
            )
        items = items[ids.index(after) + 1 :]
    page = items[:limit]
    return JsonAnswer(
        {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(items) > limit,
        }
    )


def delete_response(state: ServerState, response_id: str) -> JsonAnswer:
    """`DELETE /v1/responses/{id}`: forget the response."""
    if not state.responses.delete(response_id):
        raise response_not_found(response_id)
    return JsonAnswer({"id": response_id, "object": "response", "deleted": True})


def cancel_response(state: ServerState, response_id: str) -> JsonAnswer:
    """`POST /v1/responses/{id}/cancel`: a queued or in-progress background response is `cancelled`.

    A finished background response comes back unchanged; a foreground one cannot be cancelled (400).
    """
    now = state.clock()
    # Only a queued or in-progress background response changes, so asking the store first is safe.
    record = state.responses.cancel(response_id, now, state.background_seconds)
    if record is None:
        raise response_not_found(response_id)
    if not record.background:
        raise invalid_request("Cannot cancel a synchronous response.")
    return JsonAnswer(response_view(record, now, state.background_seconds))
