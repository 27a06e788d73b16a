"""Non-streaming calls in every form the SDK offers, sync and async, against the local server."""

from __future__ import annotations

import openai
import pytest
from openai.types.chat import ChatCompletion
from pydantic import BaseModel

from chatspan.devserver import DevServer
from tests.instrumentation.conftest import API_KEY
from tests.instrumentation.expectations import (
    MESSAGES,
    MODEL,
    assert_chat_span,
    assert_error_span,
    assert_header_attributes,
    assert_usage,
)
from tests.support.compat import chat_resource
from tests.support.recording import Recording, attributes


def test_create_sync(client: openai.OpenAI, recording: Recording) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        temperature=0.3,
        top_p=0.9,
        max_tokens=40,
        seed=3,
        stop=["zzz"],
        n=2,
        user="u-1",
    )
    assert type(completion) is ChatCompletion
    attrs = assert_chat_span(recording.only_span(), stream=False)
    assert "user.id" not in attrs, "an end-user id is personal data: only with content capture on"
    assert_usage(attrs)
    assert attrs["gen_ai.response.id"] == completion.id
    assert attrs["openai.response.created"] == completion.created
    assert attrs["gen_ai.request.temperature"] == 0.3
    assert attrs["gen_ai.request.top_p"] == 0.9
    assert attrs["gen_ai.request.max_tokens"] == 40
    assert attrs["gen_ai.request.seed"] == 3
    assert attrs["gen_ai.request.stop_sequences"] == ("zzz",)
    assert attrs["gen_ai.request.choice.count"] == 2
    assert attrs["gen_ai.response.finish_reasons"] == tuple(c.finish_reason for c in completion.choices)
    assert completion.usage is not None
    assert attrs["gen_ai.usage.input_tokens"] == completion.usage.prompt_tokens
    assert attrs["openai.response.system_fingerprint"] == completion.system_fingerprint
    assert attrs["openai.response.service_tier"] == completion.service_tier
    assert attrs["openai.retries"] == 0


async def test_create_async(async_client: openai.AsyncOpenAI, recording: Recording) -> None:
    completion = await async_client.chat.completions.create(
        model=MODEL, messages=MESSAGES, service_tier="flex"
    )
    assert type(completion) is ChatCompletion
    attrs = assert_chat_span(recording.only_span(), stream=False)
    assert_usage(attrs)
    assert attrs["gen_ai.response.id"] == completion.id
    assert attrs["openai.request.service_tier"] == "flex"


def test_request_id_matches_what_the_sdk_saw(client: openai.OpenAI, recording: Recording) -> None:
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    completion = raw.parse()
    assert type(completion) is ChatCompletion
    assert raw.parse() is completion, "parse() still caches: nothing parsed twice"
    attrs = assert_chat_span(recording.only_span(), stream=False)
    assert attrs["openai.request.id"] == raw.headers["x-request-id"] == completion._request_id
    assert attrs["openai.processing.duration"] == int(raw.headers["openai-processing-ms"]) / 1000
    assert attrs["openai.ratelimit.requests.remaining"] == int(raw.headers["x-ratelimit-remaining-requests"])


async def test_raw_response_async(async_client: openai.AsyncOpenAI, recording: Recording) -> None:
    raw = await async_client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    completion = raw.parse()
    assert attrs_of(recording)["gen_ai.response.id"] == completion.id
    assert raw.headers["x-request-id"] == attrs_of(recording)["openai.request.id"]


def test_streaming_response_sync(client: openai.OpenAI, recording: Recording) -> None:
    with client.chat.completions.with_streaming_response.create(model=MODEL, messages=MESSAGES) as response:
        assert response.headers["x-request-id"]
        completion = response.parse()
        assert type(completion) is ChatCompletion
    attrs = assert_chat_span(recording.only_span(), stream=False)
    assert attrs["gen_ai.response.id"] == completion.id


async def test_streaming_response_async(async_client: openai.AsyncOpenAI, recording: Recording) -> None:
    async with async_client.chat.completions.with_streaming_response.create(
        model=MODEL, messages=MESSAGES
    ) as response:
        completion = await response.parse()
    attrs = assert_chat_span(recording.only_span(), stream=False)
    assert attrs["gen_ai.response.id"] == completion.id


def test_streaming_response_read_raw_still_ends_span(client: openai.OpenAI, recording: Recording) -> None:
    with client.chat.completions.with_streaming_response.create(model=MODEL, messages=MESSAGES) as response:
        body = response.read()
    assert b"chatcmpl-" in body
    span = recording.only_span()
    assert_header_attributes(span)
    assert "gen_ai.response.id" not in attributes(span), "the body was the app's to read, not ours"


class Verdict(BaseModel):
    answer: str
    confidence: int


def test_parse_with_a_pydantic_model(client: openai.OpenAI, recording: Recording) -> None:
    completion = chat_resource(client, "parse")(model=MODEL, messages=MESSAGES, response_format=Verdict)
    assert isinstance(completion.choices[0].message.parsed, Verdict)
    attrs = assert_chat_span(recording.only_span(), stream=False)
    assert attrs["gen_ai.output.type"] == "json"


async def test_parse_async(async_client: openai.AsyncOpenAI, recording: Recording) -> None:
    completion = await chat_resource(async_client, "parse")(
        model=MODEL, messages=MESSAGES, response_format=Verdict
    )
    assert isinstance(completion.choices[0].message.parsed, Verdict)
    assert_chat_span(recording.only_span(), stream=False)


def test_tool_call(client: openai.OpenAI, recording: Recording) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[
            {
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
        ],
    )
    assert completion.choices[0].message.tool_calls
    attrs = assert_chat_span(recording.only_span(), stream=False)
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)


def test_clients_made_before_instrument_are_covered(server: DevServer) -> None:
    from tests.support.recording import instrumented

    early = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=10)
    with instrumented() as recording:
        early.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert_chat_span(recording.only_span(), stream=False)


def test_retried_call_is_one_span_with_its_retry_count(server: DevServer, recording: Recording) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=2, timeout=10)
    client.chat.completions.create(
        model=MODEL, messages=MESSAGES, extra_headers={"x-chatspan-fault": "429;times=1"}
    )
    attrs = assert_chat_span(recording.only_span(), stream=False)
    assert attrs["openai.retries"] == 1


def test_api_error_is_recorded_and_reraised_unchanged(client: openai.OpenAI, recording: Recording) -> None:
    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers={"x-chatspan-fault": "500"}
        )
    span = recording.only_span()
    attrs = assert_error_span(span, "500")
    assert attrs["openai.request.id"] == raised.value.request_id
    assert_header_attributes(span)
    assert span.events[0].attributes is not None
    assert str(span.events[0].attributes["exception.type"]).endswith("InternalServerError")


def test_rate_limit_error_after_retries(server: DevServer, recording: Recording) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=1, timeout=10)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers={"x-chatspan-fault": "429"}
        )
    attrs = assert_error_span(recording.only_span(), "429")
    assert attrs["openai.retries"] == 1


def test_bad_request_metadata_without_store(client: openai.OpenAI, recording: Recording) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL, messages=MESSAGES, metadata={"a": "b"})
    assert_error_span(recording.only_span(), "400")


def test_connection_error(recording: Recording) -> None:
    dead = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key=API_KEY, max_retries=0, timeout=2)
    with pytest.raises(openai.APIConnectionError):
        dead.chat.completions.create(model=MODEL, messages=MESSAGES)
    attrs = assert_error_span(recording.only_span(), "APIConnectionError")
    assert "openai.request.id" not in attrs


async def test_async_error(async_client: openai.AsyncOpenAI, recording: Recording) -> None:
    with pytest.raises(openai.InternalServerError):
        await async_client.chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers={"x-chatspan-fault": "500"}
        )
    assert_error_span(recording.only_span(), "500")


def test_store_and_metadata_attributes(
    client: openai.OpenAI, recording: Recording, server: DevServer
) -> None:
    completion = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, store=True, metadata={"team": "search", "run": "7"}
    )
    attrs = assert_chat_span(recording.only_span(), stream=False)
    assert attrs["openai.request.store"] is True
    assert attrs["openai.request.metadata.team"] == "search"
    assert attrs["openai.request.metadata.run"] == "7"
    assert completion.id in server.stored


def test_api_key_never_exported(
    client: openai.OpenAI, recording: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.chat.completions.create(model=MODEL, messages=MESSAGES)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers={"x-chatspan-fault": "500"}
        )
    exported = recording.everything_exported()
    assert len(recording.spans()) == 2
    assert API_KEY not in exported
    assert "harbour lights" not in exported, "content is off by default"


def attrs_of(recording: Recording) -> dict[str, object]:
    return attributes(recording.only_span())


def test_azure_client(server: DevServer, recording: Recording) -> None:
    azure = openai.AzureOpenAI(
        azure_endpoint=server.azure_endpoint,
        api_version="2024-10-21",
        api_key=API_KEY,
        max_retries=0,
        timeout=10,
    )
    completion = azure.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    attrs = assert_chat_span(recording.only_span(), stream=False)
    assert attrs["gen_ai.response.id"] == completion.id


async def test_async_azure_stream(server: DevServer, recording: Recording) -> None:
    azure = openai.AsyncAzureOpenAI(
        azure_endpoint=server.azure_endpoint,
        api_version="2024-10-21",
        api_key=API_KEY,
        max_retries=0,
        timeout=10,
    )
    chunks = [
        c async for c in await azure.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    ]
    attrs = assert_chat_span(recording.only_span(), stream=True)
    assert attrs["gen_ai.response.id"] == chunks[0].id
