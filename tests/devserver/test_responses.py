"""The Responses API over raw HTTP: content, conversation state, storage and background mode.
Paths, headers, rate limits and faults are `test_responses_http.py`; what the SDK sees is
`test_responses_client.py`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chatspan.devserver import DevServer
from chatspan.devserver.response_store import ResponseStore, StoredResponse
from tests.devserver.rawhttp import RawResponse, chat, request, responses
from tests.support.clock import ManualClock

INPUT = "Tell me about the tallest mountains in the Alps"
BODY: dict[str, Any] = {"model": "gpt-4o-mini", "input": INPUT}
TOOL = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


Clock = ManualClock
"""A clock the test moves by hand: background responses progress without sleeping."""


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed(clock: Clock) -> Iterator[DevServer]:
    with DevServer(clock=clock, background_seconds=5) as server:
        yield server


def _text(response: dict[str, Any]) -> str:
    return "".join(
        part.get("text", part.get("refusal", ""))
        for item in response["output"]
        if item["type"] == "message"
        for part in item["content"]
    )


def _get(server: DevServer, path: str) -> RawResponse:
    return request(server, "GET", path)


def test_plain_answer_and_usage(server: DevServer) -> None:
    answer = responses(server, BODY).json()
    assert answer["object"] == "response" and answer["id"].startswith("resp_")
    assert answer["status"] == "completed"
    assert answer["model"] == "gpt-4o-mini-2024-07-18"
    assert _text(answer) == f"You said: {INPUT}"
    usage = answer["usage"]
    assert usage["input_tokens"] == 12  # 47 characters / 4, as the chat completion counts them
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_tokens_details"]["cached_tokens"] == 0
    assert usage["output_tokens_details"]["reasoning_tokens"] == 0
    assert answer["store"] is True and answer["background"] is False
    assert answer["completed_at"] == answer["created_at"]


def test_same_content_as_the_chat_completion(server: DevServer) -> None:
    completion = chat(
        server, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": INPUT}]}
    ).json()
    answer = responses(server, BODY).json()
    assert _text(answer) == completion["choices"][0]["message"]["content"]
    assert answer["usage"]["output_tokens"] == completion["usage"]["completion_tokens"]


def test_instructions_count_as_input_but_are_not_carried_over(server: DevServer) -> None:
    plain = responses(server, BODY).json()
    instructed = responses(server, {**BODY, "instructions": "Answer in French, please."}).json()
    assert instructed["instructions"] == "Answer in French, please."
    assert plain["usage"]["input_tokens"] == 12
    assert instructed["usage"]["input_tokens"] == 18  # (25 + 47 characters) / 4, rounded up
    follow = responses(server, {**BODY, "previous_response_id": instructed["id"]}).json()
    assert follow["instructions"] is None


def test_previous_response_id_carries_the_conversation(server: DevServer) -> None:
    first = responses(server, BODY).json()
    second = responses(
        server, {"model": "gpt-4o-mini", "input": "And Mont Blanc?", "previous_response_id": first["id"]}
    ).json()
    assert second["previous_response_id"] == first["id"]
    assert _text(second) == "You said: And Mont Blanc?"
    # The earlier turn's input (47 characters) and answer (57) are in the prompt now, before the 15 new.
    assert second["usage"]["input_tokens"] == 30  # 119 characters / 4, rounded up
    assert (
        responses(server, {"model": "gpt-4o-mini", "input": "And Mont Blanc?"}).json()["usage"][
            "input_tokens"
        ]
        == 4
    )


def test_unknown_previous_response_is_404(server: DevServer) -> None:
    answer = responses(server, {**BODY, "previous_response_id": "resp_unknown"})
    assert answer.status == 404
    assert answer.json()["error"] == {
        "message": "Previous response with id 'resp_unknown' not found.",
        "type": "invalid_request_error",
        "param": "previous_response_id",
        "code": "previous_response_not_found",
    }
    not_stored = responses(server, {**BODY, "store": False}).json()
    assert responses(server, {**BODY, "previous_response_id": not_stored["id"]}).status == 404


def test_tools_call_a_function_then_read_its_output(server: DevServer) -> None:
    called = responses(server, {**BODY, "tools": [TOOL]}).json()
    (call,) = called["output"]
    assert call["type"] == "function_call" and call["name"] == "get_weather"
    assert call["call_id"].startswith("call_") and isinstance(json.loads(call["arguments"])["city"], str)
    assert called["tools"] == [{**TOOL, "description": None, "strict": True}]
    result = responses(
        server,
        {
            "model": "gpt-4o-mini",
            "tools": [TOOL],
            "previous_response_id": called["id"],
            "input": [
                {"type": "function_call_output", "call_id": call["call_id"], "output": "Sunny, 21 degrees"}
            ],
        },
    ).json()
    assert _text(result) == "The tool returned: Sunny, 21 degrees"
    none = responses(server, {**BODY, "tools": [TOOL], "tool_choice": "none"}).json()
    assert [item["type"] for item in none["output"]] == ["message"]


def test_refusal(server: DevServer) -> None:
    answer = responses(server, {**BODY, "input": "I want you to refuse this."}).json()
    (part,) = answer["output"][0]["content"]
    assert part == {"type": "refusal", "refusal": "I'm sorry, but I can't help with that request."}


def test_json_schema_output_and_echo(server: DevServer) -> None:
    text_format = {
        "type": "json_schema",
        "name": "city",
        "strict": True,
        "schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
    answer = responses(server, {**BODY, "text": {"format": text_format}}).json()
    assert answer["text"]["format"] == text_format
    assert set(json.loads(_text(answer))) == {"city"}


def test_max_output_tokens_makes_it_incomplete(server: DevServer) -> None:
    answer = responses(server, {**BODY, "input": "word " * 60, "max_output_tokens": 16}).json()
    assert answer["status"] == "incomplete"
    assert answer["incomplete_details"] == {"reason": "max_output_tokens"}
    assert answer["output"][-1]["status"] == "incomplete"
    assert answer["usage"]["output_tokens"] == 16
    assert answer["completed_at"] is None


def test_reasoning_models(server: DevServer) -> None:
    plain = responses(server, {**BODY, "model": "o4-mini"}).json()
    assert plain["reasoning"] == {"effort": "medium", "summary": None}
    assert plain["output"][0]["type"] == "reasoning" and plain["output"][0]["summary"] == []
    assert plain["usage"]["output_tokens_details"]["reasoning_tokens"] == 64
    summarised = responses(
        server, {**BODY, "model": "gpt-5", "reasoning": {"effort": "low", "summary": "auto"}}
    ).json()
    assert summarised["reasoning"] == {"effort": "low", "summary": "auto"}
    (summary,) = summarised["output"][0]["summary"]
    assert summary["type"] == "summary_text" and "Tell me about" in summary["text"]
    refused = responses(server, {**BODY, "reasoning": {"effort": "low"}})
    assert refused.status == 400 and refused.json()["error"]["param"] == "reasoning.effort"


def test_request_fields_are_echoed(server: DevServer) -> None:
    sent = {
        "metadata": {"team": "chatspan"},
        "temperature": 0.25,
        "top_p": 0.5,
        "service_tier": "flex",
        "truncation": "auto",
        "user": "user-1",
        "conversation": {"id": "conv_9"},
        "store": False,
    }
    answer = responses(server, {**BODY, **sent}).json()
    echoed = {name: answer[name] for name in sent}
    assert echoed == {**sent, "conversation": {"id": "conv_9"}}
    defaults = responses(server, BODY).json()
    assert (defaults["service_tier"], defaults["truncation"], defaults["temperature"]) == (
        "default",
        "disabled",
        1.0,
    )
    assert defaults["metadata"] == {} and defaults["conversation"] is None and "user" not in defaults


def test_retrieve_delete_and_store_false(server: DevServer) -> None:
    stored = responses(server, BODY).json()
    assert _get(server, f"/v1/responses/{stored['id']}").json() == stored
    assert list(server.stored_responses) == [stored["id"]]
    unstored = responses(server, {**BODY, "store": False}).json()
    missing = _get(server, f"/v1/responses/{unstored['id']}")
    assert missing.status == 404
    assert missing.json()["error"]["message"] == f"Response with id '{unstored['id']}' not found."
    assert request(server, "DELETE", f"/v1/responses/{stored['id']}").status == 200
    assert _get(server, f"/v1/responses/{stored['id']}").status == 404
    assert len(server.stored_responses) == 0


def test_input_items_pages(server: DevServer) -> None:
    items = [{"role": "user", "content": f"message {index}"} for index in range(5)]
    created = responses(server, {"model": "gpt-4o-mini", "input": items}).json()
    path = f"/v1/responses/{created['id']}/input_items"
    newest_first = _get(server, path).json()
    texts = [item["content"][0]["text"] for item in newest_first["data"]]
    assert texts == [f"message {index}" for index in (4, 3, 2, 1, 0)]  # default order: desc
    first = _get(server, f"{path}?order=asc&limit=2").json()
    assert [item["content"][0]["text"] for item in first["data"]] == ["message 0", "message 1"]
    assert first["has_more"] is True and first["first_id"] == first["data"][0]["id"]
    rest = _get(server, f"{path}?order=asc&limit=10&after={first['last_id']}").json()
    assert [item["content"][0]["text"] for item in rest["data"]] == ["message 2", "message 3", "message 4"]
    assert rest["has_more"] is False
    assert _get(server, f"{path}?limit=0").status == 400
    assert _get(server, f"{path}?after=msg_nope").status == 404


def test_stream_replay_after_a_sequence_number(server: DevServer) -> None:
    streamed = responses(server, {**BODY, "stream": True}).named_events()
    response_id = streamed[0][1]["response"]["id"]
    replay = _get(server, f"/v1/responses/{response_id}?stream=true&starting_after=4").named_events()
    assert [data for _, data in replay] == [data for _, data in streamed[5:]]
    whole = _get(server, f"/v1/responses/{response_id}?stream=true").named_events()
    assert [data for _, data in whole] == [data for _, data in streamed]
    assert streamed[-1][1]["response"] == _get(server, f"/v1/responses/{response_id}").json()
    assert _get(server, f"/v1/responses/{response_id}?stream=true&starting_after=x").status == 400


def test_stream_text_deltas_join_to_the_text(server: DevServer) -> None:
    events = [data for _, data in responses(server, {**BODY, "stream": True}).named_events()]
    deltas = [event["delta"] for event in events if event["type"] == "response.output_text.delta"]
    (done,) = [event for event in events if event["type"] == "response.output_text.done"]
    assert "".join(deltas) == done["text"] == f"You said: {INPUT}"
    assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []


def test_background_progresses_with_the_clock(timed: DevServer, clock: Clock) -> None:
    created = responses(timed, {**BODY, "background": True}).json()
    assert (created["status"], created["output"], created["background"]) == ("queued", [], True)
    path = f"/v1/responses/{created['id']}"
    assert _get(timed, path).json()["status"] == "queued"
    clock.now += 5
    assert _get(timed, path).json()["status"] == "in_progress"
    clock.now += 4.9
    assert _get(timed, path).json()["status"] == "in_progress"
    clock.now += 0.1
    done = _get(timed, path).json()
    assert done["status"] == "completed" and _text(done) == f"You said: {INPUT}"
    assert done["completed_at"] == created["created_at"] + 10
    cancelled_late = request(timed, "POST", f"{path}/cancel")
    assert cancelled_late.status == 200 and cancelled_late.json() == done  # finished: unchanged


def test_cancel_a_background_response(timed: DevServer, clock: Clock) -> None:
    created = responses(timed, {**BODY, "background": True}).json()
    path = f"/v1/responses/{created['id']}"
    clock.now += 6
    cancelled = request(timed, "POST", f"{path}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["output"] == []
    clock.now += 100
    assert _get(timed, path).json()["status"] == "cancelled"  # it stays cancelled
    foreground = responses(timed, BODY).json()
    refused = request(timed, "POST", f"/v1/responses/{foreground['id']}/cancel")
    assert refused.status == 400
    assert refused.json()["error"]["message"] == "Cannot cancel a synchronous response."
    assert responses(timed, {**BODY, "background": True, "store": False}).status == 400


def test_background_stream_says_queued_first(timed: DevServer) -> None:
    events = [
        data for _, data in responses(timed, {**BODY, "background": True, "stream": True}).named_events()
    ]
    assert [event["type"] for event in events[:3]] == [
        "response.created",
        "response.queued",
        "response.in_progress",
    ]
    assert events[0]["response"]["status"] == "queued"
    assert events[-1]["type"] == "response.completed"


def test_response_store_is_bounded() -> None:
    store = ResponseStore(capacity=2)
    records = [
        StoredResponse({"id": f"resp_{index}", "status": "completed"}, (), (), ()) for index in range(3)
    ]
    for record in records:
        store.put(record)
    assert store.ids() == ["resp_1", "resp_2"]
    assert store.get("resp_0") is None and store.get("resp_2") is records[2]
    with pytest.raises(ValueError):
        ResponseStore(capacity=0)


def test_a_repeated_long_prompt_reports_cached_tokens(server: DevServer) -> None:
    long_body = {"model": "gpt-4o", "input": "word " * 1000}
    first, second = responses(server, long_body).json(), responses(server, long_body).json()
    assert first["usage"]["input_tokens"] == 1250
    assert first["usage"]["input_tokens_details"]["cached_tokens"] == 0
    assert second["usage"]["input_tokens_details"]["cached_tokens"] == 1152  # whole 128-token steps
