"""Responses API calls as spans: every call form, against the devserver, with the real client.

openai 1.63.2 (the floor) predates `client.responses`: there, instrumenting must simply skip it,
which `test_sdk_without_responses_is_instrumented_without_it` proves; every other test needs it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import BaseModel

from chatspan.devserver import DevServer
from chatspan.mapping.traceparent import format_traceparent
from tests.instrumentation.conftest import API_KEY
from tests.support.clock import ManualClock
from tests.support.recording import Recording, attributes, instrumented

MODEL = "gpt-4o-mini"
INPUT = "Name three rivers"
TOOLS: Any = [{"type": "web_search"}, {"type": "function", "name": "f", "parameters": {}}]
HAS_RESPONSES = hasattr(openai.OpenAI(api_key="sk-probe"), "responses")
needs_responses = pytest.mark.skipif(not HAS_RESPONSES, reason="this openai predates client.responses")


def _version() -> tuple[int, ...]:
    return tuple(int(part) for part in openai.__version__.split(".")[:2])


def test_sdk_without_responses_is_instrumented_without_it(server: DevServer) -> None:
    """The skip above applies only to an SDK older than the Responses API; chat still works there."""
    assert HAS_RESPONSES or _version() < (1, 66)
    with instrumented() as recording:
        client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert len(recording.spans()) == 1


Clock = ManualClock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def rserver(clock: Clock) -> Iterator[DevServer]:
    with DevServer(clock=clock, background_seconds=10) as running:
        yield running


@pytest.fixture
def rclient(rserver: DevServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=rserver.base_url, api_key=API_KEY, max_retries=0, timeout=10) as made:
        yield made


def assert_response_span(recording: Recording, *, stream: bool = False) -> dict[str, Any]:
    span = recording.only_span()
    assert span.name == f"chat {MODEL}"
    assert span.kind is SpanKind.CLIENT
    attrs = attributes(span)
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["openai.api.type"] == "responses"
    assert attrs["gen_ai.request.model"] == MODEL
    assert attrs["gen_ai.request.stream"] is stream
    assert attrs["chatspan.source"] == "live"
    assert str(attrs["gen_ai.response.id"]).startswith("resp_")
    assert str(attrs["gen_ai.response.model"]).startswith(MODEL)
    assert isinstance(attrs["openai.response.created"], int)
    assert str(attrs["openai.request.id"]).startswith("req_")
    assert isinstance(attrs["openai.ratelimit.requests.remaining"], int)
    assert isinstance(attrs["openai.processing.duration"], float)
    return attrs


@needs_responses
def test_create(rclient: openai.OpenAI, recording: Recording) -> None:
    response = rclient.responses.create(
        model=MODEL,
        input=INPUT,
        max_output_tokens=64,
        temperature=0.3,
        top_p=0.9,
        metadata={"team": "search"},
        truncation="auto",
        tools=TOOLS,
    )
    attrs = assert_response_span(recording)
    assert attrs["gen_ai.response.id"] == response.id
    assert attrs["openai.response.status"] == "completed"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.request.max_tokens"] == 64
    assert attrs["gen_ai.request.temperature"] == 0.3
    assert attrs["gen_ai.request.top_p"] == 0.9
    assert attrs["openai.request.store"] is True, "stored unless asked otherwise, on this API"
    assert attrs["openai.request.metadata.team"] == "search"
    assert attrs["openai.request.truncation"] == "auto"
    assert attrs["openai.request.tool.count"] == 2
    assert attrs["openai.request.tool.types"] == ("function", "web_search")
    assert response.usage is not None
    assert attrs["gen_ai.usage.input_tokens"] == response.usage.input_tokens
    assert attrs["gen_ai.usage.output_tokens"] == response.usage.output_tokens
    assert attrs["openai.response.created"] == int(response.created_at)
    assert "gen_ai.input.messages" not in attrs, "content is off by default"
    metrics = recording.metrics()
    tokens = {dict(p.attributes)["gen_ai.token.type"]: p.sum for p in metrics["gen_ai.client.token.usage"]}
    assert tokens == {"input": response.usage.input_tokens, "output": response.usage.output_tokens}
    (duration,) = metrics["gen_ai.client.operation.duration"]
    assert "openai.api.type" not in dict(duration.attributes)


@needs_responses
async def test_create_async(rserver: DevServer, recording: Recording) -> None:
    async with openai.AsyncOpenAI(base_url=rserver.base_url, api_key=API_KEY, max_retries=0) as client:
        response = await client.responses.create(model=MODEL, input=INPUT, store=False)
    attrs = assert_response_span(recording)
    assert attrs["gen_ai.response.id"] == response.id
    assert attrs["openai.request.store"] is False


@needs_responses
def test_reasoning_and_conversation_fields(rclient: openai.OpenAI, recording: Recording) -> None:
    first = rclient.responses.create(model="o4-mini", input=INPUT, reasoning={"effort": "low"})
    first_attrs = attributes(recording.only_span())
    assert first_attrs["openai.request.reasoning.effort"] == "low"
    assert first.usage is not None
    assert (
        first_attrs["gen_ai.usage.reasoning.output_tokens"]
        == first.usage.output_tokens_details.reasoning_tokens
    )
    recording.exporter.clear()
    rclient.responses.create(model="o4-mini", input="and a fourth", previous_response_id=first.id)
    attrs = attributes(recording.only_span())
    assert attrs["openai.request.previous_response_id"] == first.id
    assert "openai.request.reasoning.effort" not in attrs


@needs_responses
def test_stream_consumed(rclient: openai.OpenAI, recording: Recording) -> None:
    events = list(rclient.responses.create(model=MODEL, input=INPUT, stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    attrs = assert_response_span(recording, stream=True)
    last: Any = events[-1]
    final = last.response
    assert attrs["gen_ai.response.id"] == final.id
    assert attrs["gen_ai.usage.output_tokens"] == final.usage.output_tokens
    assert attrs["openai.response.status"] == "completed"
    first_delta = attrs["gen_ai.response.time_to_first_chunk"]
    assert isinstance(first_delta, float) and first_delta > 0
    span = recording.only_span()
    assert span.end_time is not None and span.start_time is not None
    assert first_delta <= (span.end_time - span.start_time) / 1e9
    assert [p.count for p in recording.metrics()["gen_ai.client.operation.time_to_first_chunk"]] == [1]


@needs_responses
def test_stream_events_are_exactly_the_uninstrumented_ones(rserver: DevServer) -> None:
    def run() -> list[str]:
        with openai.OpenAI(base_url=rserver.base_url, api_key=API_KEY, max_retries=0) as client:
            stream = client.responses.create(model=MODEL, input=INPUT, stream=True, store=False)
            return [json.dumps(e.model_dump(exclude={"response", "item_id", "item"})) for e in stream]

    plain = run()
    with instrumented():
        traced = run()
    assert [json.loads(e)["type"] for e in traced] == [json.loads(e)["type"] for e in plain]
    assert len(traced) == len(plain)


@needs_responses
def test_stream_broken_off_and_closed_ends_the_span(rclient: openai.OpenAI, recording: Recording) -> None:
    stream = rclient.responses.create(model=MODEL, input=INPUT, stream=True)
    first = next(iter(stream))
    assert first.type == "response.created"
    assert recording.spans() == []
    stream.close()
    attrs = attributes(recording.only_span())
    assert attrs["openai.response.status"] == "in_progress", "what the stream told before it was closed"
    assert "gen_ai.usage.input_tokens" not in attrs


@needs_responses
def test_stream_in_a_with_block_and_abandoned(rclient: openai.OpenAI, recording: Recording) -> None:
    with rclient.responses.create(model=MODEL, input=INPUT, stream=True) as stream:
        next(iter(stream))
    assert len(recording.spans()) == 1
    abandoned = rclient.responses.create(model=MODEL, input=INPUT, stream=True)
    next(iter(abandoned))
    del abandoned
    import gc

    gc.collect()
    assert len(recording.spans()) == 2


@needs_responses
def test_failed_stream_is_an_error_span(rserver: DevServer, recording: Recording) -> None:
    with openai.OpenAI(
        base_url=rserver.base_url,
        api_key=API_KEY,
        max_retries=0,
        default_headers={"x-chatspan-fault": "fail-after=4"},
    ) as client:
        events = [e.type for e in client.responses.create(model=MODEL, input=INPUT, stream=True)]
    assert "response.failed" in events
    span = recording.only_span()
    assert span.status.status_code is StatusCode.ERROR
    attrs = attributes(span)
    assert attrs["openai.response.status"] == "failed"
    assert attrs["error.type"] == "server_error"
    assert attrs["gen_ai.response.finish_reasons"] == ("error",)
    (duration,) = recording.metrics()["gen_ai.client.operation.duration"]
    assert dict(duration.attributes)["error.type"] == "server_error"


@needs_responses
def test_failed_response_without_a_stream(rserver: DevServer, recording: Recording) -> None:
    with openai.OpenAI(
        base_url=rserver.base_url, api_key=API_KEY, default_headers={"x-chatspan-fault": "fail-after=1"}
    ) as client:
        response = client.responses.create(model=MODEL, input=INPUT)
    assert response.status == "failed"
    span = recording.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert response.error is not None
    assert attributes(span)["openai.response.error.message"] == response.error.message


@needs_responses
def test_incomplete_response_maps_its_reason(rclient: openai.OpenAI, recording: Recording) -> None:
    response = rclient.responses.create(model=MODEL, input="long " * 60, max_output_tokens=16)
    assert response.status == "incomplete"
    attrs = attributes(recording.only_span())
    assert attrs["openai.response.status"] == "incomplete"
    assert attrs["gen_ai.response.finish_reasons"] == ("length",)
    assert recording.only_span().status.status_code is StatusCode.UNSET


@needs_responses
def test_api_error_is_recorded_and_reraised(rclient: openai.OpenAI, recording: Recording) -> None:
    with pytest.raises(openai.BadRequestError):
        rclient.responses.create(model=MODEL, input=INPUT, max_output_tokens=3)
    span = recording.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert attributes(span)["error.type"] == "400"
    assert str(attributes(span)["openai.request.id"]).startswith("req_")


@needs_responses
def test_stream_helper_with_final_response(rclient: openai.OpenAI, recording: Recording) -> None:
    with rclient.responses.stream(model=MODEL, input=INPUT) as stream:
        for _event in stream:
            pass
        final = stream.get_final_response()
    attrs = assert_response_span(recording, stream=True)
    assert attrs["gen_ai.response.id"] == final.id
    assert final.usage is not None
    assert attrs["gen_ai.usage.input_tokens"] == final.usage.input_tokens


class Rivers(BaseModel):
    names: list[str]


@needs_responses
def test_parse_with_a_text_format(rclient: openai.OpenAI, recording: Recording) -> None:
    parsed = rclient.responses.parse(model=MODEL, input=INPUT, text_format=Rivers)
    assert parsed.output_parsed is not None and parsed.output_parsed.names
    attrs = assert_response_span(recording)
    assert attrs["gen_ai.output.type"] == "json"
    assert attrs["gen_ai.response.id"] == parsed.id


@needs_responses
def test_raw_and_streaming_response_forms(rclient: openai.OpenAI, recording: Recording) -> None:
    raw = rclient.responses.with_raw_response.create(model=MODEL, input=INPUT)
    assert raw.parse().id == attributes(recording.spans()[0])["gen_ai.response.id"]
    with rclient.responses.with_streaming_response.create(model=MODEL, input=INPUT, stream=True) as response:
        events = list(response.parse())
    assert len(recording.spans()) == 2
    last: Any = events[-1]
    assert attributes(recording.spans()[1])["gen_ai.response.id"] == last.response.id


@needs_responses
def test_accessors_cached_before_instrument_are_covered(rserver: DevServer) -> None:
    client = openai.OpenAI(base_url=rserver.base_url, api_key=API_KEY, max_retries=0)
    raw = client.responses.with_raw_response
    with instrumented() as recording:
        raw.create(model=MODEL, input=INPUT).parse()
        raw.retrieve(client.responses.create(model=MODEL, input=INPUT).id).parse()
    names = [span.name for span in recording.spans()]
    assert names == [f"chat {MODEL}", f"chat {MODEL}", "fetch_response"]
    assert attributes(recording.spans()[0])["openai.request.store"] is True


@needs_responses
def test_retrieve_is_its_own_operation_without_usage(rclient: openai.OpenAI, recording: Recording) -> None:
    created = rclient.responses.create(model=MODEL, input=INPUT)
    recording.exporter.clear()
    tokens_before = sum(p.sum for p in recording.metrics()["gen_ai.client.token.usage"])
    retrieved = rclient.responses.retrieve(created.id)
    span = recording.only_span()
    assert span.name == "fetch_response"
    attrs = attributes(span)
    assert attrs["gen_ai.operation.name"] == "fetch_response"
    assert attrs["openai.api.type"] == "responses"
    assert attrs["gen_ai.response.id"] == retrieved.id == created.id
    assert attrs["openai.response.status"] == "completed"
    assert not any(key.startswith("gen_ai.usage.") for key in attrs), "a retrieve reports no usage"
    tokens_after = sum(p.sum for p in recording.metrics()["gen_ai.client.token.usage"])
    assert tokens_after == tokens_before, "no token counted twice"


@needs_responses
def test_retrieve_stream_with_starting_after(rclient: openai.OpenAI, recording: Recording) -> None:
    created = rclient.responses.create(model=MODEL, input=INPUT)
    recording.exporter.clear()
    events = list(rclient.responses.retrieve(created.id, stream=True, starting_after=2))
    assert events and all(e.sequence_number > 2 for e in events)
    span = recording.only_span()
    attrs = attributes(span)
    assert span.name == "fetch_response"
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.id"] == created.id
    assert not any(key.startswith("gen_ai.usage.") for key in attrs)


@needs_responses
def test_background_create_then_retrieve_records_each_status(
    rclient: openai.OpenAI, clock: Clock, recording: Recording
) -> None:
    queued = rclient.responses.create(model=MODEL, input=INPUT, background=True)
    assert queued.status == "queued"
    clock.now += 60
    done = rclient.responses.retrieve(queued.id)
    assert done.status == "completed"
    create_span, retrieve_span = recording.spans()
    assert attributes(create_span)["openai.response.status"] == "queued"
    assert attributes(create_span)["openai.request.background"] is True
    assert "gen_ai.response.finish_reasons" not in attributes(create_span)
    assert attributes(retrieve_span)["openai.response.status"] == "completed"
    assert attributes(retrieve_span)["gen_ai.response.finish_reasons"] == ("stop",)


@needs_responses
def test_content_capture(rclient: openai.OpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    with instrumented() as recording:
        response = rclient.responses.create(
            model=MODEL,
            instructions="Answer briefly.",
            input=[{"role": "user", "content": [{"type": "input_text", "text": INPUT}]}],
        )
    attrs = attributes(recording.only_span())
    assert json.loads(str(attrs["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "Answer briefly."}
    ]
    assert json.loads(str(attrs["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": INPUT}]}
    ]
    (message,) = json.loads(str(attrs["gen_ai.output.messages"]))
    assert message["role"] == "assistant"
    assert message["parts"] == [{"type": "text", "content": response.output_text}]


@needs_responses
def test_trace_linked_storage_puts_the_traceparent_in_metadata(
    rclient: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATSPAN_LINK_STORED", "true")
    with instrumented() as recording:
        response = rclient.responses.create(model=MODEL, input=INPUT, metadata={"team": "a"})
        unstored = rclient.responses.create(model=MODEL, input=INPUT, store=False)
    span = recording.spans()[0]
    assert span.context is not None
    assert response.metadata == {"team": "a", "chatspan.traceparent": format_traceparent(span.context)}
    assert not (unstored.metadata or {}), "nothing is added to a response that is not stored"


@needs_responses
def test_azure_client(rserver: DevServer, recording: Recording) -> None:
    client = openai.AzureOpenAI(
        azure_endpoint=rserver.azure_endpoint,
        api_version="2025-03-01-preview",
        api_key=API_KEY,
        max_retries=0,
    )
    client.responses.create(model=MODEL, input=INPUT)
    attrs = attributes(recording.only_span())
    assert attrs["openai.api.type"] == "responses"
    assert str(attrs["gen_ai.response.id"]).startswith("resp_")


@needs_responses
def test_stream_helper_broken_off_ends_its_span_when_its_with_block_ends(
    rclient: openai.OpenAI, recording: Recording
) -> None:
    with rclient.responses.stream(model=MODEL, input=INPUT) as stream:
        for _event in stream:
            break
        assert recording.spans() == []
    attrs = attributes(recording.only_span())
    assert attrs["openai.response.status"] == "in_progress"
    assert stream is not None


@needs_responses
async def test_async_stream_helper_broken_off_ends_its_span(rserver: DevServer, recording: Recording) -> None:
    async with openai.AsyncOpenAI(base_url=rserver.base_url, api_key=API_KEY, max_retries=0) as client:
        async with client.responses.stream(model=MODEL, input=INPUT) as stream:
            async for _event in stream:
                break
        assert len(recording.spans()) == 1
        assert stream is not None
