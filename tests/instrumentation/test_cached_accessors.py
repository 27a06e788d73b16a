"""Calls through `with_raw_response` / `with_streaming_response` accessors the SDK cached before
`instrument()`, or in an earlier instrument/uninstrument cycle, still get exactly one span each while
instrumented, and none after `uninstrument()`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import openai
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chatspan import ChatspanInstrumentor
from chatspan.devserver import DevServer
from tests.instrumentation.conftest import API_KEY
from tests.support.recording import Recording, instrumented

MESSAGES: list[Any] = [{"role": "user", "content": "hello"}]
MODEL = "gpt-4o-mini"


def sync_forms(client: openai.OpenAI) -> list[Callable[[], None]]:
    """One callable per call form, each making one chat call through the accessors as they are now."""
    raw = client.chat.completions.with_raw_response
    streaming = client.chat.completions.with_streaming_response

    def raw_create() -> None:
        raw.create(model=MODEL, messages=MESSAGES).parse()

    def raw_stream() -> None:
        for _ in raw.create(model=MODEL, messages=MESSAGES, stream=True).parse():
            pass

    def streaming_create() -> None:
        with streaming.create(model=MODEL, messages=MESSAGES) as response:
            response.parse()

    def streaming_stream() -> None:
        with streaming.create(model=MODEL, messages=MESSAGES, stream=True) as response:
            for _ in response.parse():
                pass

    def plain() -> None:
        client.chat.completions.create(model=MODEL, messages=MESSAGES)

    return [raw_create, raw_stream, streaming_create, streaming_stream, plain]


def async_forms(client: openai.AsyncOpenAI) -> list[Callable[[], Awaitable[None]]]:
    raw = client.chat.completions.with_raw_response
    streaming = client.chat.completions.with_streaming_response

    async def raw_create() -> None:
        (await raw.create(model=MODEL, messages=MESSAGES)).parse()

    async def streaming_stream() -> None:
        async with streaming.create(model=MODEL, messages=MESSAGES, stream=True) as response:
            async for _ in await response.parse():
                pass

    async def plain() -> None:
        await client.chat.completions.create(model=MODEL, messages=MESSAGES)

    return [raw_create, streaming_stream, plain]


def spans_of(recording: Recording) -> list[str]:
    return [span.name for span in recording.spans()]


def make_client(server: DevServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=10)


def test_accessors_cached_before_instrument_are_covered(server: DevServer) -> None:
    client = make_client(server)
    forms = sync_forms(client)  # the accessors, and the bound methods inside them, cached now
    with instrumented() as recording:
        for form in forms:
            form()
    assert spans_of(recording) == [f"chat {MODEL}"] * len(forms)
    for span in recording.spans():
        assert span.end_time is not None
        assert str((span.attributes or {}).get("openai.request.id", "")).startswith("req_")


def test_accessors_cached_in_an_earlier_cycle_are_covered_and_none_after_uninstrument(
    server: DevServer,
) -> None:
    # One provider for every cycle, kept alive throughout: a wrapper left active after
    # uninstrument() would still record into it.
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = ChatspanInstrumentor()
    client = make_client(server)
    instrumentor.instrument(tracer_provider=provider)
    try:
        forms = sync_forms(client)
        forms[0]()
    finally:
        instrumentor.uninstrument()
    assert len(exporter.get_finished_spans()) == 1
    exporter.clear()
    for cycle in range(3):
        for form in forms:
            form()
        assert exporter.get_finished_spans() == (), f"a span after uninstrument(), cycle {cycle}"
        instrumentor.instrument(tracer_provider=provider)
        try:
            later = sync_forms(make_client(server))  # first used in this cycle
            for form in forms + later:
                form()
        finally:
            instrumentor.uninstrument()
        names = [span.name for span in exporter.get_finished_spans()]
        assert names == [f"chat {MODEL}"] * (len(forms) + len(later)), cycle
        exporter.clear()
        forms = forms + later
    provider.shutdown()


async def test_async_accessors_cached_before_instrument_are_covered(server: DevServer) -> None:
    async with openai.AsyncOpenAI(
        base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=10
    ) as client:
        forms = async_forms(client)
        with instrumented() as recording:
            for form in forms:
                await form()
        assert spans_of(recording) == [f"chat {MODEL}"] * len(forms)
        with instrumented() as later:
            for form in forms:
                await form()
        assert len(later.spans()) == len(forms)
        for form in forms:
            await form()
        assert len(later.spans()) == len(forms), "none after uninstrument()"


def test_a_cached_accessor_call_is_one_span_not_two(server: DevServer) -> None:
    client = make_client(server)
    with instrumented() as recording:
        raw = client.chat.completions.with_raw_response  # cached while instrumented: both hooks see it
        raw.create(model=MODEL, messages=MESSAGES).parse()
    assert spans_of(recording) == [f"chat {MODEL}"]


def test_a_call_reached_only_at_request_records_its_request_attributes(server: DevServer) -> None:
    client = make_client(server)
    raw = client.chat.completions.with_raw_response
    with instrumented() as recording:
        raw.create(
            model=MODEL, messages=MESSAGES, temperature=0.5, max_tokens=7, store=True, metadata={"k": "v"}
        ).parse()
    attrs: dict[str, Any] = dict(recording.only_span().attributes or {})
    assert attrs["gen_ai.request.temperature"] == 0.5
    assert attrs["gen_ai.request.max_tokens"] == 7
    assert attrs["openai.request.metadata.k"] == "v"
    assert attrs["gen_ai.response.id"].startswith("chatcmpl-")
    assert attrs["server.address"] == "127.0.0.1"
