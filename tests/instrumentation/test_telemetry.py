"""Metrics, opt-in content, trace-linked storage, and the instrument/uninstrument lifecycle."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
import wrapt
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from chatspan import ChatspanInstrumentor
from chatspan.devserver import DevServer
from tests.instrumentation.conftest import API_KEY
from tests.instrumentation.expectations import MESSAGES, MODEL
from tests.support.recording import Recording, attributes, instrumented, parsed_json, point_attributes

ALLOWED_METRIC_ATTRIBUTES = {
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "server.address",
    "server.port",
    "error.type",
    "gen_ai.token.type",
}


def test_metrics(client: openai.OpenAI, recording: Recording) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers={"x-chatspan-fault": "500"}
        )
    metrics = recording.metrics()

    durations = metrics["gen_ai.client.operation.duration"]
    assert sum(point.count for point in durations) == 3
    assert {point.attributes.get("error.type") for point in durations} == {None, "500"}
    assert durations[0].explicit_bounds[:3] == (0.01, 0.02, 0.04)

    tokens = metrics["gen_ai.client.token.usage"]
    by_type = {point.attributes["gen_ai.token.type"]: point for point in tokens}
    assert completion.usage is not None
    assert by_type["input"].sum == completion.usage.prompt_tokens
    assert by_type["output"].sum == completion.usage.completion_tokens
    assert by_type["input"].attributes["gen_ai.response.model"] == completion.model

    first_chunk = metrics["gen_ai.client.operation.time_to_first_chunk"]
    assert sum(point.count for point in first_chunk) == 1

    processing = metrics["openai.processing.duration"]
    assert sum(point.count for point in processing) == 3, "the failed call had the header too"
    # Recorded with the call's final attributes, like the operation duration it is compared with.
    assert {point.attributes.get("error.type") for point in processing} == {None, "500"}
    assert {
        p.attributes.get("gen_ai.response.model") for p in processing if "error.type" not in p.attributes
    } == {completion.model}

    for name in ("openai.ratelimit.requests.remaining", "openai.ratelimit.tokens.remaining"):
        (gauge,) = metrics[name]
        assert isinstance(gauge.value, int) and gauge.value > 0
        assert gauge.attributes["gen_ai.request.model"] == MODEL

    for name, points in metrics.items():
        for attrs in point_attributes(points):
            assert set(attrs) <= ALLOWED_METRIC_ATTRIBUTES, (name, attrs)


def test_content_capture_opt_in(server: DevServer, monkeypatch: pytest.MonkeyPatch) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=10)
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    with instrumented() as recording:
        completion = client.chat.completions.create(model=MODEL, messages=MESSAGES, user="user-77")
        chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    plain, streamed = (attributes(span) for span in recording.spans())
    assert plain["user.id"] == "user-77"
    for attrs in (plain, streamed):
        assert parsed_json(attrs["gen_ai.system_instructions"]) == [
            {"type": "text", "content": "You are terse."}
        ]
        assert parsed_json(attrs["gen_ai.input.messages"]) == [
            {"role": "user", "parts": [{"type": "text", "content": "Tell me about the harbour lights"}]}
        ]
    assert parsed_json(plain["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": completion.choices[0].message.content}],
            "finish_reason": completion.choices[0].finish_reason,
        }
    ]
    streamed_text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert parsed_json(streamed["gen_ai.output.messages"])[0]["parts"] == [
        {"type": "text", "content": streamed_text}
    ]
    assert API_KEY not in recording.everything_exported()


def test_streamed_tool_calls_are_captured(server: DevServer, monkeypatch: pytest.MonkeyPatch) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=10)
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    tool: Any = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    with instrumented() as recording:
        list(
            client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "Oslo?"}], tools=[tool], stream=True
            )
        )
    span_attributes = attributes(recording.only_span())
    assert parsed_json(span_attributes["gen_ai.tool.definitions"]) == [tool]
    (message,) = parsed_json(span_attributes["gen_ai.output.messages"])
    (part,) = message["parts"]
    assert part["type"] == "tool_call" and part["name"] == "get_weather"
    assert isinstance(part["arguments"], dict) and "city" in part["arguments"]
    assert message["finish_reason"] == "tool_calls"


def test_link_stored_puts_traceparent_in_metadata(server: DevServer, monkeypatch: pytest.MonkeyPatch) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=10)
    monkeypatch.setenv("CHATSPAN_LINK_STORED", "true")
    user_metadata = {"team": "search"}
    with instrumented() as recording:
        completion = client.chat.completions.create(
            model=MODEL, messages=MESSAGES, store=True, metadata=user_metadata
        )
        unstored = client.chat.completions.create(model=MODEL, messages=MESSAGES)
        taken = client.chat.completions.create(
            model=MODEL, messages=MESSAGES, store=True, metadata={"chatspan.traceparent": "mine"}
        )
        full = client.chat.completions.create(
            model=MODEL, messages=MESSAGES, store=True, metadata={f"k{i}": "v" for i in range(16)}
        )
    span = recording.spans()[0]
    context = span.get_span_context()
    assert context is not None
    expected = f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
    assert server.stored[completion.id].metadata == {"team": "search", "chatspan.traceparent": expected}
    assert user_metadata == {"team": "search"}, "the caller's dict is not changed"
    assert unstored.id not in server.stored
    assert server.stored[taken.id].metadata == {"chatspan.traceparent": "mine"}
    assert "chatspan.traceparent" not in server.stored[full.id].metadata
    assert len(recording.spans()) == 4


def test_uninstrument_restores_and_twice_is_harmless(server: DevServer) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=10)
    original = openai.resources.chat.completions.Completions.create
    with instrumented() as recording:
        ChatspanInstrumentor().instrument()  # already instrumented: a no-op
        raw_before = client.chat.completions.with_raw_response  # captures the wrapped bound method
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
        assert len(recording.spans()) == 1
    assert openai.resources.chat.completions.Completions.create is original
    assert not isinstance(openai.resources.chat.completions.Completions.create, wrapt.ObjectProxy)
    client.chat.completions.create(model=MODEL, messages=MESSAGES)
    raw_before.create(model=MODEL, messages=MESSAGES).parse()
    assert len(recording.spans()) == 1, "nothing is recorded after uninstrument()"


def test_spans_nest_under_the_current_span(client: openai.OpenAI, recording: Recording) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(recording.exporter))
    with provider.get_tracer("app").start_as_current_span("request") as parent:
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    chat = next(span for span in recording.spans() if span.name.startswith("chat"))
    assert chat.parent is not None
    assert chat.parent.span_id == parent.get_span_context().span_id


def test_exemplars_point_at_the_calls_own_span_with_no_span_around(
    client: openai.OpenAI, recording: Recording
) -> None:
    client.chat.completions.create(model=MODEL, messages=MESSAGES)
    recording.assert_exemplars_of(
        recording.only_span(),
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "openai.processing.duration",
    )


def test_exemplars_point_at_the_calls_own_span_not_the_one_around_it(
    client: openai.OpenAI, recording: Recording
) -> None:
    provider = TracerProvider()
    with provider.get_tracer("app").start_as_current_span("request") as parent:
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
        # A stream iterated in the application's context: its measurements are still the stream's
        # (another model, so that its points and their exemplars are not the first call's).
        list(client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    plain, stream = (span.context.span_id for span in recording.spans() if span.context is not None)
    assert parent.get_span_context().span_id not in {plain, stream}
    found = {
        name: {span_id for point in points for _, span_id in point}
        for name, points in recording.exemplars(
            "gen_ai.client.operation.duration",
            "gen_ai.client.token.usage",
            "gen_ai.client.operation.time_to_first_chunk",
        ).items()
    }
    assert found == {
        "gen_ai.client.operation.duration": {plain, stream},
        "gen_ai.client.token.usage": {plain},
        "gen_ai.client.operation.time_to_first_chunk": {stream},
    }


def test_instrument_without_openai_importable_does_not_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    import chatspan.instrumentation.instrumentor as instrumentor_module

    monkeypatch.setattr(
        instrumentor_module,
        "_TABLE",
        (("openai.no_such_module", "Completions", "create", "sync"), ("json", "JSONDecoder", "nope", "sync")),
    )
    with instrumented() as recording:
        assert json.loads("1") == 1
    assert recording.spans() == []
