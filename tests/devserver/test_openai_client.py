"""The real openai client, sync and async, against the devserver: what an application sees."""

from __future__ import annotations

import importlib
import json
import re
import socket
import time
from typing import Any, cast

import openai
import pytest
from pydantic import BaseModel

from chatspan.devserver import DevServer
from tests.devserver.conftest import CLIENT_TIMEOUT
from tests.support.fault_waits import FaultWaits
from tests.support.openapi import validate

MODEL = "gpt-4o-mini"
MESSAGES: Any = [{"role": "user", "content": "Tell me about the tallest mountains in the Alps"}]
WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather at a place",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["location", "unit", "days"],
        },
    },
}
GO_DURATION = re.compile(r"^(?:(?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?s|\d+(?:\.\d+)?(?:ms|µs|ns))$")
RATE_LIMIT_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
)


def _connection_errors() -> tuple[type[BaseException], ...]:
    """What a dropped stream raises: openai 2+/3 wrap it, openai 1.x lets httpx's error through."""
    errors: list[type[BaseException]] = [openai.APIConnectionError]
    for name in ("httpx", "httpx2"):
        try:
            errors.append(importlib.import_module(name).RemoteProtocolError)
        except ImportError:
            continue
    return tuple(errors)


def _completions(client: openai.OpenAI | openai.AsyncOpenAI) -> Any:
    """Where `parse()` lives: `client.chat.completions` since openai 2, `client.beta.chat...` in 1.x."""
    if hasattr(client.chat.completions, "parse"):
        return client.chat.completions
    beta: Any = client.beta  # typed loosely: `beta.chat` differs between SDK versions
    return beta.chat.completions


def _client(server: DevServer, max_retries: int = 0, api_key: str = "sk-test") -> openai.OpenAI:
    return openai.OpenAI(
        base_url=server.base_url, api_key=api_key, timeout=CLIENT_TIMEOUT, max_retries=max_retries
    )


def test_plain_completion(client: openai.OpenAI) -> None:
    before = int(time.time())
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    after = time.time()
    assert completion.object == "chat.completion"
    assert re.fullmatch(r"chatcmpl-[A-Za-z0-9]{29}", completion.id)
    assert completion.model == "gpt-4o-mini-2024-07-18"
    assert re.fullmatch(r"fp_[0-9a-f]{10}", completion.system_fingerprint or "")
    assert completion.service_tier == "default"
    assert before <= completion.created <= after  # stamped while it was answered, in whole seconds
    choice = completion.choices[0]
    assert choice.message.content == "You said: Tell me about the tallest mountains in the Alps"
    assert choice.finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 12  # 47 characters / 4, rounded up
    assert (
        completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 0
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == 0


def test_reasoning_model_reports_reasoning_tokens(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="o4-mini", messages=MESSAGES, service_tier="flex")
    assert completion.model == "o4-mini-2025-04-16"
    assert completion.service_tier == "flex"
    assert completion.usage is not None and completion.usage.completion_tokens_details is not None
    reasoning = completion.usage.completion_tokens_details.reasoning_tokens or 0
    assert 0 < reasoning < completion.usage.completion_tokens


def test_n_choices_stop_and_max_tokens(client: openai.OpenAI) -> None:
    many = client.chat.completions.create(model=MODEL, messages=MESSAGES, n=3)
    assert [choice.index for choice in many.choices] == [0, 1, 2]
    assert len({choice.message.content for choice in many.choices}) == 3
    stopped = client.chat.completions.create(model=MODEL, messages=MESSAGES, stop=["tallest"])
    assert stopped.choices[0].message.content == "You said: Tell me about the "
    assert stopped.choices[0].finish_reason == "stop"
    cut = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_completion_tokens=4)
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage is not None and cut.usage.completion_tokens == 4
    assert "You said: Tell me about the tallest".startswith(cut.choices[0].message.content or "?")


def test_stream_without_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text == "You said: Tell me about the tallest mountains in the Alps"
    assert len(chunks) >= 10  # about one chunk per word
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(chunk.usage is None for chunk in chunks)
    assert len({chunk.id for chunk in chunks}) == 1


def test_stream_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}, n=2
    )
    chunks = list(stream)
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None and last.usage.prompt_tokens == 12
    assert all(chunk.usage is None for chunk in chunks[:-1])
    finishes = [
        (c.choices[0].index, c.choices[0].finish_reason) for c in chunks[:-1] if c.choices[0].finish_reason
    ]
    assert finishes == [(0, "stop"), (1, "stop")]


def test_tool_calls_then_tool_result(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=[WEATHER_TOOL])
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls or []
    assert len(calls) == 1
    call: Any = calls[0]
    assert re.fullmatch(r"call_[A-Za-z0-9]{24}", call.id)
    assert call.type == "function"
    assert call.function.name == "get_weather"
    parsed = json.loads(call.function.arguments)
    assert parsed["unit"] == "celsius" and isinstance(parsed["location"], str) and 1 <= parsed["days"] <= 7
    follow_up = client.chat.completions.create(
        model=MODEL,
        tools=[WEATHER_TOOL],
        messages=[
            *MESSAGES,
            cast(Any, choice.message.model_dump(exclude_none=True)),
            {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 degrees"},
        ],
    )
    assert follow_up.choices[0].finish_reason == "stop"
    assert follow_up.choices[0].message.content == "The tool returned: Sunny, 21 degrees"
    none = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, tools=[WEATHER_TOOL], tool_choice="none"
    )
    assert none.choices[0].message.tool_calls is None


def test_streamed_tool_call(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=[WEATHER_TOOL], stream=True)
    )
    deltas = [call for chunk in chunks for call in chunk.choices[0].delta.tool_calls or []]
    assert {delta.index for delta in deltas} == {0}
    assert deltas[0].id is not None and deltas[0].function is not None
    assert deltas[0].function.name == "get_weather"
    arguments = "".join(delta.function.arguments or "" for delta in deltas if delta.function)
    assert json.loads(arguments)["unit"] == "celsius"
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_refusal(client: openai.OpenAI) -> None:
    messages: Any = [{"role": "user", "content": "I want you to refuse this."}]
    completion = client.chat.completions.create(model=MODEL, messages=messages)
    assert completion.choices[0].message.content is None
    assert completion.choices[0].message.refusal
    chunks = list(client.chat.completions.create(model=MODEL, messages=messages, stream=True))
    refusal = "".join(chunk.choices[0].delta.refusal or "" for chunk in chunks if chunk.choices)
    assert refusal == completion.choices[0].message.refusal


class Mountain(BaseModel):
    name: str
    height_m: int
    country: str
    first_ascent: int | None


class Mountains(BaseModel):
    mountains: list[Mountain]
    summary: str


def test_parse_with_pydantic_model(client: openai.OpenAI) -> None:
    completion = _completions(client).parse(model=MODEL, messages=MESSAGES, response_format=Mountains)
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, Mountains)
    assert parsed.mountains and parsed.mountains[0].country == "France"


def test_json_object(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, response_format={"type": "json_object"}
    )
    content = json.loads(completion.choices[0].message.content or "")
    assert content == {"answer": "You said: Tell me about the tallest mountains in the Alps"}


def test_headers_readable_with_raw_response(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    headers = raw.headers
    assert re.fullmatch(r"req_[0-9a-f]{32}", headers["x-request-id"])
    assert headers["openai-version"] == "2020-10-01"
    assert headers["openai-organization"]
    assert int(headers["x-envoy-upstream-service-time"]) >= int(headers["openai-processing-ms"]) >= 0
    for name in RATE_LIMIT_HEADERS:
        assert name in headers
    assert GO_DURATION.match(headers["x-ratelimit-reset-requests"])
    assert GO_DURATION.match(headers["x-ratelimit-reset-tokens"])
    validate("CreateChatCompletionResponse", raw.http_response.json())
    assert raw.parse().choices[0].message.content


def test_rate_limit_remaining_decreases(client: openai.OpenAI) -> None:
    first = client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    second = client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    requests = [int(r.headers["x-ratelimit-remaining-requests"]) for r in (first, second)]
    tokens = [int(r.headers["x-ratelimit-remaining-tokens"]) for r in (first, second)]
    assert requests[0] == int(first.headers["x-ratelimit-limit-requests"]) - 1
    assert requests[1] == requests[0] - 1
    usage = second.parse().usage
    assert usage is not None and tokens[1] == tokens[0] - usage.total_tokens
    assert GO_DURATION.match(second.headers["x-ratelimit-reset-requests"])


def test_rate_limit_exhausted_answers_429() -> None:
    """On a clock that stands still, the oldest request leaves the window in exactly 60 s."""
    with DevServer(rpm=2, clock=lambda: 1_800_000_000.0) as server, _client(server) as client:
        for _ in range(2):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
    error = caught.value
    assert error.status_code == 429
    assert error.code == "rate_limit_exceeded"
    headers = error.response.headers
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("60", "60000")
    assert headers["x-ratelimit-reset-requests"] == "1m0s"
    validate("ErrorResponse", error.response.json())


def test_token_limit_exhausted_answers_429() -> None:
    with DevServer(tpm=60) as server, _client(server) as client:
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert caught.value.type == "tokens"
    assert "tokens per min (TPM)" in caught.value.message


def test_429_once_is_retried_to_success(server: DevServer, sdk_sleeps: list[float]) -> None:
    with _client(server, max_retries=2) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=MESSAGES, extra_headers={"x-chatspan-fault": "429;times=1"}
        )
    assert raw.retries_taken == 1
    assert raw.http_request.headers["x-stainless-retry-count"] == "1"
    assert raw.parse().choices[0].message.content
    assert sdk_sleeps == [0.01]  # retry-after-ms: 10 was honoured, not the SDK's own 0.5 s+ backoff


def test_500_fault(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers={"x-chatspan-fault": "500"}
        )
    assert caught.value.status_code == 500
    assert caught.value.response.headers["x-request-id"].startswith("req_")
    validate("ErrorResponse", caught.value.response.json())


def test_500_twice_then_success(server: DevServer) -> None:
    with _client(server, max_retries=2) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=MESSAGES, extra_headers={"x-chatspan-fault": "500;times=2;retry-after=0.01"}
        )
    assert raw.retries_taken == 2


def test_persistent_faults(server: DevServer, client: openai.OpenAI) -> None:
    server.set_faults(["503"])
    assert server.faults == ["503"]
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    server.set_faults([])
    assert client.chat.completions.create(model=MODEL, messages=MESSAGES).choices


def test_latency_and_first_token() -> None:
    """`latency` waits before the answer; `first-token` after the stream's headers, before its first
    chunk. The server's waits are observed, not timed: the first-token wait is held until the client
    has the headers, which it could not have if the server waited before sending them."""
    waits = FaultWaits(held=(0.3,))
    with DevServer(fault_wait=waits) as server, _client(server) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=MESSAGES, extra_headers={"x-chatspan-fault": "latency=0.2"}
        )
        assert raw.parse().choices[0].message.content
        assert (waits.delays, waits.ended(1)) == ([0.2], ["elapsed"])
        waits.started.clear()
        stream = client.chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True, extra_headers={"x-chatspan-fault": "first-token=0.3"}
        )
        assert waits.started.wait(CLIENT_TIMEOUT)  # headers are in, the server is waiting
        assert waits.delays == [0.2, 0.3]
        waits.release.set()
        first = next(iter(stream))
        stream.close()
    assert first.choices[0].delta.role == "assistant"
    assert waits.ended(2) == ["elapsed", "released"]


def test_drop_after_raises_while_iterating(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, extra_headers={"x-chatspan-fault": "drop-after=3"}
    )
    received = []
    with pytest.raises(_connection_errors()):
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 3


def test_malformed_body_raises(client: openai.OpenAI) -> None:
    with pytest.raises((openai.APIResponseValidationError, ValueError)):
        client.chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers={"x-chatspan-fault": "malformed"}
        )


def test_metadata_without_store_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=MESSAGES, metadata={"team": "chatspan"})
    assert caught.value.param == "metadata"
    assert caught.value.type == "invalid_request_error"
    body = cast("dict[str, Any]", caught.value.body)
    assert body["message"] == "The 'metadata' parameter is only allowed when 'store' is enabled."


def test_store_keeps_the_record(server: DevServer, client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=MESSAGES,
        store=True,
        metadata={"team": "chatspan"},
        seed=42,
        temperature=0.5,
        top_p=0.9,
        user="user-1",
        tools=[WEATHER_TOOL],
        tool_choice="none",
    )
    completion = raw.parse()
    record = server.stored[completion.id]
    assert record.metadata == {"team": "chatspan"}
    assert record.messages == tuple(MESSAGES)
    assert record.request_id == raw.headers["x-request-id"]
    assert record.completion["choices"][0]["message"]["content"] == completion.choices[0].message.content
    assert (record.request["seed"], record.request["temperature"], record.request["top_p"]) == (42, 0.5, 0.9)
    assert record.request["user"] == "user-1"
    assert record.request["tools"] == [WEATHER_TOOL]
    assert record.as_object()["input_user"] == "user-1"
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, store=True, stream=True)
    (streamed_id,) = {chunk.id for chunk in stream}
    assert list(server.stored) == [completion.id, streamed_id]
    client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert len(server.stored) == 2


def test_bad_key_is_401() -> None:
    with DevServer(api_key="sk-right") as server:
        with (
            _client(server, api_key="sk-wrong") as client,
            pytest.raises(openai.AuthenticationError) as caught,
        ):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
        assert caught.value.code == "invalid_api_key"
        with _client(server, api_key="sk-right") as client:
            assert client.chat.completions.create(model=MODEL, messages=MESSAGES).choices


def test_binds_loopback_only() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1 only"):
        DevServer(host="0.0.0.0")
    with DevServer() as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        assert server.port > 0
        socket.create_connection(("127.0.0.1", server.port), timeout=CLIENT_TIMEOUT).close()
        # Another loopback address reaches the same machine, but nothing listens there.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.2", server.port), timeout=CLIENT_TIMEOUT)


async def test_async_plain_and_stream(async_client: openai.AsyncOpenAI) -> None:
    completion = await async_client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert (
        completion.choices[0].message.content == "You said: Tell me about the tallest mountains in the Alps"
    )
    stream = await async_client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == completion.choices[0].message.content
    )
    assert chunks[-1].usage is not None and completion.usage is not None
    assert chunks[-1].usage.total_tokens == completion.usage.total_tokens


async def test_async_tools_and_parse(async_client: openai.AsyncOpenAI) -> None:
    completion = await async_client.chat.completions.create(
        model=MODEL, messages=MESSAGES, tools=[WEATHER_TOOL]
    )
    assert completion.choices[0].finish_reason == "tool_calls"
    parsed = await _completions(async_client).parse(model=MODEL, messages=MESSAGES, response_format=Mountains)
    assert isinstance(parsed.choices[0].message.parsed, Mountains)


async def test_async_retry_and_errors(server: DevServer) -> None:
    async with openai.AsyncOpenAI(
        base_url=server.base_url, api_key="sk-test", timeout=CLIENT_TIMEOUT, max_retries=1
    ) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model=MODEL, messages=MESSAGES, extra_headers={"x-chatspan-fault": "429;times=1"}
        )
        assert raw.retries_taken == 1
        assert (
            int(raw.headers["x-ratelimit-remaining-requests"])
            == int(raw.headers["x-ratelimit-limit-requests"]) - 1
        )
        with pytest.raises(openai.BadRequestError):
            await client.chat.completions.create(model=MODEL, messages=[])
        stream = await client.chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True, extra_headers={"x-chatspan-fault": "drop-after=2"}
        )
        received = []
        with pytest.raises(_connection_errors()):
            async for chunk in stream:
                received.append(chunk)
        assert len(received) == 2
