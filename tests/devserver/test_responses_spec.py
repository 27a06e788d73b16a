"""Every kind of Responses API answer the devserver sends, validated against OpenAI's OpenAPI spec.

Raw HTTP, so what is validated is exactly what went over the wire: the `Response` of each kind of
request, every SSE event against both `ResponseStreamEvent` and its own event schema, the input
items list (`ResponseItemList`), and the error bodies (`ErrorResponse`). Each is also checked for
keys the spec does not declare; the one OpenAI sends that the spec lacks is `store`.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from chatspan.devserver import DevServer
from chatspan.devserver.response_events import response_events
from chatspan.devserver.responses import build_response
from chatspan.devserver.responses_request import read_responses_request
from tests.devserver.rawhttp import request, responses
from tests.support.openapi import undeclared_properties, validate

INPUT = "What is the weather like in Paris today?"
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather at a place",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["location", "unit"],
        "additionalProperties": False,
    },
    "strict": True,
}
WEATHER_FORMAT = {
    "type": "json_schema",
    "name": "weather",
    "strict": True,
    "schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}},
        "required": ["city", "celsius"],
        "additionalProperties": False,
    },
}
REQUESTS: dict[str, dict[str, Any]] = {
    "plain": {},
    "instructions": {"instructions": "Answer in one sentence."},
    "items": {
        "input": [
            {"role": "developer", "content": "Be brief."},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": INPUT}]},
        ]
    },
    "tools": {"tools": [WEATHER_TOOL]},
    "tool-result": {
        "tools": [WEATHER_TOOL],
        "input": [
            {"role": "user", "content": INPUT},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "18 degrees and sunny"},
        ],
    },
    "refusal": {"input": "Please refuse this one."},
    "json-schema": {"text": {"format": WEATHER_FORMAT}},
    "json-object": {"text": {"format": {"type": "json_object"}}},
    "incomplete": {"max_output_tokens": 16, "input": "word " * 60},
    "reasoning": {"model": "o3-mini", "reasoning": {"effort": "low"}},
    "reasoning-summary": {"model": "gpt-5", "reasoning": {"effort": "high", "summary": "auto"}},
    "reasoning-tools": {"model": "o4-mini", "tools": [WEATHER_TOOL], "reasoning": {"summary": "detailed"}},
    "echoes": {
        "metadata": {"team": "chatspan"},
        "temperature": 0.3,
        "top_p": 0.8,
        "service_tier": "flex",
        "truncation": "auto",
        "user": "user-1",
        "safety_identifier": "hashed-user",
        "prompt_cache_key": "key-1",
        "parallel_tool_calls": False,
        "max_tool_calls": 3,
    },
    "conversation": {"conversation": "conv_123"},
    "not-stored": {"store": False},
    "background": {"background": True},
}
EVENT_SCHEMAS = {
    "response.created": "ResponseCreatedEvent",
    "response.queued": "ResponseQueuedEvent",
    "response.in_progress": "ResponseInProgressEvent",
    "response.output_item.added": "ResponseOutputItemAddedEvent",
    "response.output_item.done": "ResponseOutputItemDoneEvent",
    "response.content_part.added": "ResponseContentPartAddedEvent",
    "response.content_part.done": "ResponseContentPartDoneEvent",
    "response.output_text.delta": "ResponseTextDeltaEvent",
    "response.output_text.done": "ResponseTextDoneEvent",
    "response.refusal.delta": "ResponseRefusalDeltaEvent",
    "response.refusal.done": "ResponseRefusalDoneEvent",
    "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaEvent",
    "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneEvent",
    "response.reasoning_summary_part.added": "ResponseReasoningSummaryPartAddedEvent",
    "response.reasoning_summary_part.done": "ResponseReasoningSummaryPartDoneEvent",
    "response.reasoning_summary_text.delta": "ResponseReasoningSummaryTextDeltaEvent",
    "response.reasoning_summary_text.done": "ResponseReasoningSummaryTextDoneEvent",
    "response.completed": "ResponseCompletedEvent",
    "response.incomplete": "ResponseIncompleteEvent",
    "response.failed": "ResponseFailedEvent",
    "error": "ResponseErrorEvent",
}
SPEC_OMITS = {"$.store", "$.response.store"}
"""`store` is in every Response OpenAI sends, but not among the spec's `Response` properties."""


def _body(overrides: dict[str, Any]) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "input": INPUT, **overrides}


def _check(schema_name: str, instance: object) -> None:
    validate(schema_name, instance)
    assert set(undeclared_properties(schema_name, instance)) <= SPEC_OMITS


def _check_event(event: dict[str, Any]) -> None:
    _check("ResponseStreamEvent", event)
    _check(EVENT_SCHEMAS[event["type"]], event)


@pytest.mark.parametrize("kind", sorted(REQUESTS))
def test_response_matches_spec(server: DevServer, kind: str) -> None:
    answer = responses(server, _body(REQUESTS[kind]))
    assert answer.status == 200, answer.body
    assert answer.headers["content-type"] == "application/json"
    _check("Response", answer.json())


@pytest.mark.parametrize("kind", sorted(REQUESTS))
def test_every_event_matches_spec(server: DevServer, kind: str) -> None:
    answer = responses(server, _body({**REQUESTS[kind], "stream": True}))
    assert answer.status == 200, answer.body
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = answer.named_events()
    assert [name for name, _ in events] == [data["type"] for _, data in events]  # `event:` names the type
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    for _, data in events:
        _check_event(data)
    assert events[-1][1]["type"] in ("response.completed", "response.incomplete")
    assert b"[DONE]" not in answer.body  # the Responses API has no closing marker


def test_every_event_kind_is_covered(server: DevServer) -> None:
    """The request kinds above, with a failing stream, send every event type the map names."""
    seen: set[str] = set()
    for overrides in REQUESTS.values():
        seen.update(
            data["type"] for _, data in responses(server, _body({**overrides, "stream": True})).named_events()
        )
    failing = responses(server, _body({"stream": True}), {"x-chatspan-fault": "fail-after=3"}).named_events()
    for _, data in failing:
        _check_event(data)
        seen.add(data["type"])
    assert seen == set(EVENT_SCHEMAS)


def test_failed_json_response_matches_spec(server: DevServer) -> None:
    answer = responses(server, _body({}), {"x-chatspan-fault": "fail-after=0"})
    assert answer.status == 200
    _check("Response", answer.json())
    assert answer.json()["status"] == "failed"


def test_replayed_events_match_spec(server: DevServer) -> None:
    created = responses(server, _body(REQUESTS["reasoning-summary"])).json()
    replay = request(server, "GET", f"/v1/responses/{created['id']}?stream=true&starting_after=2")
    assert replay.status == 200
    events = [data for _, data in replay.named_events()]
    assert events[0]["sequence_number"] == 3
    for event in events:
        _check_event(event)


@pytest.mark.parametrize("kind", ["plain", "items", "tool-result"])
def test_input_items_match_spec(server: DevServer, kind: str) -> None:
    created = responses(server, _body(REQUESTS[kind])).json()
    for query in ("", "?order=asc&limit=1"):
        listed = request(server, "GET", f"/v1/responses/{created['id']}/input_items{query}")
        assert listed.status == 200
        _check("ResponseItemList", listed.json())


def test_retrieved_and_cancelled_match_spec(server: DevServer) -> None:
    stored = responses(server, _body({})).json()
    _check("Response", request(server, "GET", f"/v1/responses/{stored['id']}").json())
    background = responses(server, _body({"background": True})).json()
    cancelled = request(server, "POST", f"/v1/responses/{background['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    _check("Response", cancelled.json())


def test_delete_result_has_the_documented_shape(server: DevServer) -> None:
    """The spec gives the 200 of `DELETE /responses/{id}` no schema; its reference shows this object."""
    created = responses(server, _body({})).json()
    deleted = request(server, "DELETE", f"/v1/responses/{created['id']}")
    assert deleted.json() == {"id": created["id"], "object": "response", "deleted": True}
    again = request(server, "DELETE", f"/v1/responses/{created['id']}")
    assert again.status == 404
    _check("ErrorResponse", again.json())


ERRORS: dict[str, tuple[bytes | dict[str, Any], int]] = {
    "malformed-json": (b'{"model": "gpt-4o-mini", "input": ', 400),
    "missing-model": ({"input": INPUT}, 400),
    "missing-input": ({"model": "gpt-4o-mini"}, 400),
    "input-type": (_body({"input": 42}), 400),
    "bad-role": (_body({"input": [{"role": "robot", "content": "hi"}]}), 400),
    "max-output-tokens": (_body({"max_output_tokens": 4}), 400),
    "temperature": (_body({"temperature": 3}), 400),
    "reasoning-on-gpt-4o": (_body({"reasoning": {"effort": "low"}}), 400),
    "unknown-previous": (_body({"previous_response_id": "resp_nope"}), 404),
    "previous-and-conversation": (_body({"previous_response_id": "resp_x", "conversation": "conv_1"}), 400),
}


@pytest.mark.parametrize("kind", sorted(ERRORS))
def test_error_body_matches_spec(server: DevServer, kind: str) -> None:
    body, status = ERRORS[kind]
    answer = responses(server, body)
    assert answer.status == status, answer.body
    _check("ErrorResponse", answer.json())
    assert answer.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/v1/responses/resp_nope", {}, 404),
        ("GET", "/v1/responses/resp_nope/input_items", {}, 404),
        ("POST", "/v1/responses/resp_nope/cancel", {}, 404),
        ("GET", "/v1/responses", {}, 404),
        ("POST", "/v1/responses", {"x-chatspan-fault": "500"}, 500),
        ("POST", "/v1/responses", {"x-chatspan-fault": "429"}, 429),
    ],
)
def test_other_errors_match_spec(
    server: DevServer, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    answer = request(server, method, path, _body({}), headers)
    assert answer.status == status
    _check("ErrorResponse", answer.json())


# The validator must be strict: a valid response or event, broken in one place, fails.
def _originals() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    built = build_response(read_responses_request(_body(REQUESTS["reasoning-tools"])), [], now=1_700_000_000)
    return built.response, response_events(built.response)


def test_originals_are_valid() -> None:
    response, events = _originals()
    _check("Response", response)
    for event in events:
        _check_event(event)


def _broken() -> list[Any]:
    response, events = _originals()
    by_type = {event["type"]: event for event in events}
    cases: list[Any] = []

    def broken(name: str, schema_name: str, source: dict[str, Any], change: Any) -> None:
        instance = copy.deepcopy(source)
        change(instance)
        cases.append(pytest.param(schema_name, instance, id=name))

    broken("wrong object", "Response", response, lambda r: r.update(object="chat.completion"))
    broken("bad status", "Response", response, lambda r: r.update(status="done"))
    broken("missing output", "Response", response, lambda r: r.pop("output"))
    broken("usage as string", "Response", response, lambda r: r["usage"].update(input_tokens="2"))
    broken(
        "missing reasoning_tokens",
        "Response",
        response,
        lambda r: r["usage"]["output_tokens_details"].clear(),
    )
    broken("null user", "Response", response, lambda r: r.update(user=None))
    broken("bad item type", "Response", response, lambda r: r["output"][0].update(type="thought"))
    broken("call without name", "Response", response, lambda r: r["output"][1].pop("name"))
    created = by_type["response.created"]
    broken(
        "event without sequence_number", "ResponseCreatedEvent", created, lambda e: e.pop("sequence_number")
    )
    delta = by_type["response.function_call_arguments.delta"]
    broken("delta as number", "ResponseFunctionCallArgumentsDeltaEvent", delta, lambda e: e.update(delta=1))
    broken("unknown event type", "ResponseStreamEvent", delta, lambda e: e.update(type="response.nope"))
    return cases


@pytest.mark.parametrize(("schema_name", "instance"), _broken())
def test_broken_responses_fail_validation(schema_name: str, instance: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        validate(schema_name, instance)
