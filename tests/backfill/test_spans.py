from __future__ import annotations

import json
from typing import Any

from openai.types.chat import ChatCompletion
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import SpanKind

from chatspan.backfill.spans import span_ids, stored_span
from chatspan.mapping.completion import completion_attributes

RESOURCE = Resource({"service.name": "test"})
STORED: dict[str, Any] = {
    "object": "chat.completion",
    "id": "chatcmpl-AyPNinnUqUDYo9SAdA52NobMflmj2",
    "model": "gpt-4o-mini-2024-07-18",
    "created": 1738960610,
    "request_id": "req_ded8ab984ec4bf840f37566c1011c417",
    "tool_choice": None,
    "usage": {"total_tokens": 31, "completion_tokens": 18, "prompt_tokens": 13},
    "seed": 4944116822809979520,
    "top_p": 1.0,
    "temperature": 0.7,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
    "system_fingerprint": "fp_50cad350e4",
    "input_user": None,
    "service_tier": "default",
    "tools": None,
    "metadata": {"team": "search"},
    "choices": [
        {
            "index": 0,
            "message": {"content": "Mind of circuits hum", "role": "assistant", "tool_calls": None},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ],
    "response_format": None,
}


def sdk_object(body: dict[str, Any]) -> ChatCompletion:
    return ChatCompletion.model_validate(body)


def test_ids_are_deterministic_and_distinct() -> None:
    assert span_ids("chatcmpl-a") == span_ids("chatcmpl-a")
    assert span_ids("chatcmpl-a") != span_ids("chatcmpl-b")
    trace_id, span_id = span_ids("chatcmpl-a")
    assert 0 < trace_id < 2**128 and 0 < span_id < 2**64


def test_span_is_zero_length_at_created_with_the_live_mapping() -> None:
    span = stored_span(sdk_object(STORED), resource=RESOURCE, capture_content=False)
    assert span.name == "chat gpt-4o-mini-2024-07-18"
    assert span.kind is SpanKind.CLIENT
    assert span.start_time == span.end_time == 1738960610 * 10**9
    assert span.parent is None
    assert span.resource is RESOURCE
    attrs = dict(span.attributes or {})
    for key, value in completion_attributes(STORED).items():
        assert attrs[key] == (tuple(value) if isinstance(value, list) else value), key
    assert attrs["chatspan.source"] == "backfill"
    assert attrs["openai.request.id"] == "req_ded8ab984ec4bf840f37566c1011c417"
    assert attrs["openai.response.created"] == 1738960610
    assert attrs["gen_ai.request.seed"] == 4944116822809979520
    assert attrs["gen_ai.request.temperature"] == 0.7
    assert attrs["gen_ai.request.top_p"] == 1.0
    assert attrs["openai.request.store"] is True
    assert attrs["openai.request.metadata.team"] == "search"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert "gen_ai.output.messages" not in attrs


def test_same_completion_same_span_from_object_or_json() -> None:
    first = stored_span(sdk_object(STORED), resource=RESOURCE, capture_content=False)
    again = stored_span(dict(STORED), resource=RESOURCE, capture_content=False)
    assert first.context == again.context
    assert dict(first.attributes or {}) == dict(again.attributes or {})


def test_linked_completion_joins_its_live_trace() -> None:
    live = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    body = {**STORED, "metadata": {"chatspan.traceparent": live}}
    span = stored_span(body, resource=RESOURCE, capture_content=False)
    assert span.name == "stored chat gpt-4o-mini-2024-07-18"
    assert span.context is not None and span.parent is not None
    assert span.context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    assert span.parent.span_id == 0xB7AD6B7169203331
    assert span.context.span_id == span_ids(STORED["id"])[1]


def test_malformed_traceparent_leaves_the_span_unlinked() -> None:
    span = stored_span(
        {**STORED, "metadata": {"chatspan.traceparent": "garbage"}}, resource=RESOURCE, capture_content=False
    )
    assert span.parent is None and span.name.startswith("chat ")


def test_content_only_when_captured() -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "A haiku?"}]
    span = stored_span(STORED, resource=RESOURCE, capture_content=True, messages=messages)
    attrs = dict(span.attributes or {})
    assert json.loads(str(attrs["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "A haiku?"}]}
    ]
    assert json.loads(str(attrs["gen_ai.system_instructions"])) == [{"type": "text", "content": "Be brief."}]
    assert json.loads(str(attrs["gen_ai.output.messages"]))[0]["parts"] == [
        {"type": "text", "content": "Mind of circuits hum"}
    ]


def test_streaming_is_not_claimed_either_way() -> None:
    # The stored list does not say whether the call streamed.
    span = stored_span(STORED, resource=RESOURCE, capture_content=False)
    assert "gen_ai.request.stream" not in dict(span.attributes or {})


def test_stored_tools_and_user_map_like_live_ones_with_capture_on() -> None:
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    body = {**STORED, "tools": [tool], "input_user": "user-42"}
    captured = dict(stored_span(body, resource=RESOURCE, capture_content=True).attributes or {})
    assert json.loads(str(captured["gen_ai.tool.definitions"])) == [tool]
    assert captured["user.id"] == "user-42"
    plain = dict(stored_span(body, resource=RESOURCE, capture_content=False).attributes or {})
    assert "gen_ai.tool.definitions" not in plain and "user.id" not in plain
