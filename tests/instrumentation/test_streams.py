"""Streams: every chunk delivered, the span ended exactly once however the stream ends."""

from __future__ import annotations

import gc
from typing import Any

import openai
import pytest

from chatspan.devserver import DevServer
from tests.instrumentation.conftest import API_KEY
from tests.instrumentation.expectations import (
    MESSAGES,
    MODEL,
    assert_chat_span,
    assert_error_span,
    assert_usage,
)
from tests.support.compat import chat_resource
from tests.support.recording import Recording, attributes, instrumented


def chunk_dumps(chunks: list[Any]) -> list[dict[str, Any]]:
    # ids, timestamps and request ids differ per call; everything else must be the same.
    dumped = []
    for chunk in chunks:
        data = chunk.model_dump()
        for key in ("id", "created", "system_fingerprint", "obfuscation"):
            data.pop(key, None)
        dumped.append(data)
    return dumped


def test_stream_fully_consumed(client: openai.OpenAI, recording: Recording) -> None:
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    assert isinstance(stream, openai.Stream)
    chunks = list(stream)
    attrs = assert_chat_span(recording.only_span(), stream=True)
    assert attrs["gen_ai.response.id"] == chunks[0].id
    assert type(attrs["gen_ai.response.time_to_first_chunk"]) is float
    assert "gen_ai.usage.input_tokens" not in attrs, "no usage chunk was asked for"
    assert stream.response.headers["x-request-id"] == attrs["openai.request.id"]


def test_stream_chunks_identical_to_uninstrumented(server: DevServer) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=10)
    plain = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True, n=2))
    with instrumented() as recording:
        seen = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True, n=2))
    assert chunk_dumps(seen) == chunk_dumps(plain)
    assert attributes(recording.only_span())["gen_ai.response.finish_reasons"] == ("stop", "stop")


def test_user_asked_usage_reaches_user_and_span(client: openai.OpenAI, recording: Recording) -> None:
    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    attrs = assert_chat_span(recording.only_span(), stream=True)
    assert_usage(attrs)
    assert attrs["gen_ai.usage.output_tokens"] == chunks[-1].usage.completion_tokens


def test_include_usage_switch_adds_usage_but_app_sees_the_same_chunks(
    server: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=10)
    plain = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    monkeypatch.setenv("CHATSPAN_STREAM_INCLUDE_USAGE", "true")
    with instrumented() as recording:
        seen = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    assert chunk_dumps(seen) == chunk_dumps(plain), "the usage chunk chatspan asked for stays with chatspan"
    assert_usage(assert_chat_span(recording.only_span(), stream=True))


async def test_async_stream_fully_consumed(async_client: openai.AsyncOpenAI, recording: Recording) -> None:
    stream = await async_client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    assert isinstance(stream, openai.AsyncStream)
    chunks = [chunk async for chunk in stream]
    attrs = assert_chat_span(recording.only_span(), stream=True)
    assert_usage(attrs)
    assert attrs["gen_ai.response.id"] == chunks[0].id


def test_stream_broken_off_by_the_server(client: openai.OpenAI, recording: Recording) -> None:
    stream = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, extra_headers={"x-chatspan-fault": "drop-after=3"}
    )
    received = []
    # openai 3 raises APIError here, older SDKs httpx's RemoteProtocolError: whatever it is, it is
    # the SDK's own exception that reaches the app, and the span names it.
    with pytest.raises(Exception) as raised:
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 3
    span = recording.only_span()
    attrs = assert_error_span(span, type(raised.value).__qualname__)
    assert attrs["gen_ai.request.stream"] is True


def test_stream_closed_early(client: openai.OpenAI, recording: Recording) -> None:
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    first = next(iter(stream))
    stream.close()
    stream.close()
    span = recording.only_span()
    assert attributes(span)["gen_ai.response.id"] == first.id
    assert "gen_ai.response.finish_reasons" not in attributes(span)


def test_stream_left_in_a_with_block(client: openai.OpenAI, recording: Recording) -> None:
    with client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True) as stream:
        for _chunk in stream:
            break
    assert len(recording.spans()) == 1


def test_abandoned_stream_ends_its_span(client: openai.OpenAI, recording: Recording) -> None:
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    next(iter(stream))
    assert recording.spans() == []
    del stream
    gc.collect()
    assert len(recording.spans()) == 1


async def test_async_stream_closed_and_abandoned(
    async_client: openai.AsyncOpenAI, recording: Recording
) -> None:
    stream = await async_client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    await stream.__anext__()
    await stream.close()
    assert len(recording.spans()) == 1
    abandoned = await async_client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    await abandoned.__anext__()
    del abandoned
    gc.collect()
    assert len(recording.spans()) == 2


async def test_async_stream_in_async_with(async_client: openai.AsyncOpenAI, recording: Recording) -> None:
    async with await async_client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True
    ) as stream:
        async for _chunk in stream:
            break
    assert len(recording.spans()) == 1


def test_stream_duration_covers_the_whole_stream(client: openai.OpenAI, recording: Recording) -> None:
    stream = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, extra_headers={"x-chatspan-fault": "first-token=0.3"}
    )
    list(stream)
    span = recording.only_span()
    assert span.end_time is not None and span.start_time is not None
    assert (span.end_time - span.start_time) / 1e9 >= 0.3
    assert attributes(span)["gen_ai.response.time_to_first_chunk"] >= 0.3


def test_raw_response_stream(client: openai.OpenAI, recording: Recording) -> None:
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES, stream=True)
    assert raw.headers["x-request-id"]
    stream = raw.parse()
    assert raw.parse() is stream
    chunks = list(stream)
    attrs = assert_chat_span(recording.only_span(), stream=True)
    assert attrs["gen_ai.response.id"] == chunks[0].id


def test_streaming_response_stream(client: openai.OpenAI, recording: Recording) -> None:
    with client.chat.completions.with_streaming_response.create(
        model=MODEL, messages=MESSAGES, stream=True
    ) as response:
        chunks = list(response.parse())
    attrs = assert_chat_span(recording.only_span(), stream=True)
    assert attrs["gen_ai.response.id"] == chunks[0].id


async def test_streaming_response_stream_async(
    async_client: openai.AsyncOpenAI, recording: Recording
) -> None:
    async with async_client.chat.completions.with_streaming_response.create(
        model=MODEL, messages=MESSAGES, stream=True
    ) as response:
        chunks = [chunk async for chunk in await response.parse()]
    attrs = assert_chat_span(recording.only_span(), stream=True)
    assert attrs["gen_ai.response.id"] == chunks[0].id


def test_stream_helper(client: openai.OpenAI, recording: Recording) -> None:
    with chat_resource(client, "stream")(model=MODEL, messages=MESSAGES) as stream:
        for _event in stream:
            pass
        final = stream.get_final_completion()
    attrs = assert_chat_span(recording.only_span(), stream=True)
    assert attrs["gen_ai.response.id"] == final.id


async def test_stream_helper_async(async_client: openai.AsyncOpenAI, recording: Recording) -> None:
    async with chat_resource(async_client, "stream")(model=MODEL, messages=MESSAGES) as stream:
        async for _event in stream:
            pass
        final = await stream.get_final_completion()
    attrs = assert_chat_span(recording.only_span(), stream=True)
    assert attrs["gen_ai.response.id"] == final.id


def test_stream_helper_broken_off_ends_its_span_when_its_with_block_ends(
    client: openai.OpenAI, recording: Recording
) -> None:
    # The helper closes the stream's HTTP response, not the stream: that must end the span too.
    with chat_resource(client, "stream")(model=MODEL, messages=MESSAGES) as stream:
        for _event in stream:
            break
        assert recording.spans() == []
    assert len(recording.spans()) == 1, "ended at the with block's end, not left to garbage collection"
    assert stream is not None


async def test_async_stream_helper_broken_off_ends_its_span_when_its_with_block_ends(
    async_client: openai.AsyncOpenAI, recording: Recording
) -> None:
    async with chat_resource(async_client, "stream")(model=MODEL, messages=MESSAGES) as stream:
        async for _event in stream:
            break
    assert len(recording.spans()) == 1
    assert stream is not None
