"""The real openai client's Responses API (`client.responses`) against the devserver, sync, async
and Azure, on every SDK of the matrix. openai 1.63.2 predates `client.responses`: the tests for it
say so in their names, assert that it really lacks it, and drive the endpoint through the SDK's
generic `client.post` instead."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from chatspan.devserver import DevServer
from tests.devserver.conftest import CLIENT_TIMEOUT
from tests.support.clock import ManualClock
from tests.support.openapi import validate

MODEL = "gpt-4o-mini"
INPUT = "Tell me about the tallest mountains in the Alps"
ANSWER = f"You said: {INPUT}"
TOOL: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather at a place",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
    "strict": True,
}
HAS_RESPONSES = hasattr(openai.OpenAI(api_key="sk-probe"), "responses")
needs_responses = pytest.mark.skipif(
    not HAS_RESPONSES,
    reason=f"openai {openai.__version__} predates client.responses (added in 1.66): "
    "test_sdk_without_client_responses_* cover the endpoints through client.post instead",
)


def _version() -> tuple[int, ...]:
    return tuple(int(part) for part in openai.__version__.split(".")[:3] if part.isdigit())


def test_the_sdk_has_client_responses_unless_it_predates_it() -> None:
    """The skip above only ever applies to an SDK older than the Responses API (openai < 1.66)."""
    assert HAS_RESPONSES or _version() < (1, 66)


Clock = ManualClock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed(clock: Clock) -> Iterator[DevServer]:
    with DevServer(clock=clock, background_seconds=5) as server:
        yield server


def _client(server: DevServer, max_retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=server.base_url, api_key="sk-test", timeout=CLIENT_TIMEOUT, max_retries=max_retries
    )


def _without_parsed(value: Any) -> Any:
    """A model dump without the fields the stream helper's ParsedResponse adds (`parsed`,
    `parsed_arguments` of strict function tools): they are the SDK's, not the server's."""
    if isinstance(value, dict):
        return {key: _without_parsed(item) for key, item in value.items() if key not in _PARSED_FIELDS}
    if isinstance(value, list):
        return [_without_parsed(item) for item in value]
    return value


_PARSED_FIELDS = ("parsed", "parsed_arguments")


def _connection_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [openai.APIConnectionError]
    for name in ("httpx", "httpx2"):
        try:
            errors.append(importlib.import_module(name).RemoteProtocolError)
        except ImportError:
            continue
    return tuple(errors)


only_without_responses = pytest.mark.skipif(HAS_RESPONSES, reason="this SDK has client.responses")


@only_without_responses
def test_sdk_without_client_responses_reaches_the_endpoints_through_post(server: DevServer) -> None:
    """openai 1.63.2 has no `client.responses`; its generic `post`/`get`/`delete` reach every endpoint."""
    with _client(server) as client:
        assert not hasattr(client, "responses")
        body: Any = client.post("/responses", cast_to=object, body={"model": MODEL, "input": INPUT})
        validate("Response", body)
        assert body["output"][0]["content"][0]["text"] == ANSWER
        retrieved: Any = client.get(f"/responses/{body['id']}", cast_to=object)
        assert retrieved == body
        items: Any = client.get(f"/responses/{body['id']}/input_items", cast_to=object)
        validate("ResponseItemList", items)
        deleted: Any = client.delete(f"/responses/{body['id']}", cast_to=object)
        assert deleted == {"id": body["id"], "object": "response", "deleted": True}
        with pytest.raises(openai.NotFoundError):
            client.get(f"/responses/{body['id']}", cast_to=object)


@only_without_responses
def test_sdk_without_client_responses_retries_a_429_through_post(server: DevServer) -> None:
    """openai 1.63.2: the generic `post` retries an injected 429, as `responses.create` would."""
    httpx: Any = importlib.import_module("httpx")  # openai 1.x is built on httpx
    with _client(server, max_retries=1) as client:
        raw: Any = client.post(
            "/responses",
            cast_to=httpx.Response,
            body={"model": MODEL, "input": INPUT},
            options={"headers": {"x-chatspan-fault": "429;times=1"}},
        )
    assert raw.status_code == 200
    assert raw.request.headers["x-stainless-retry-count"] == "1"  # the second attempt answered
    assert raw.headers["x-request-id"].startswith("req_")


@needs_responses
def test_create_plain(client: openai.OpenAI) -> None:
    response = client.responses.create(model=MODEL, input=INPUT, instructions="Be brief", metadata={"k": "v"})
    assert response.object == "response" and response.id.startswith("resp_")
    assert response.status == "completed"
    assert response.output_text == ANSWER
    assert response.instructions == "Be brief" and response.metadata == {"k": "v"}
    assert response.usage is not None
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    assert response.usage.input_tokens_details.cached_tokens == 0
    assert response.usage.output_tokens_details.reasoning_tokens == 0


@needs_responses
def test_function_call_round_trip(client: openai.OpenAI) -> None:
    called = client.responses.create(model=MODEL, input=INPUT, tools=[TOOL])
    (call,) = called.output
    assert call.type == "function_call" and call.name == "get_weather"
    answered = client.responses.create(
        model=MODEL,
        tools=[TOOL],
        previous_response_id=called.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 21 degrees"}],
    )
    assert answered.output_text == "The tool returned: Sunny, 21 degrees"
    assert answered.previous_response_id == called.id


@needs_responses
def test_reasoning_and_incomplete(client: openai.OpenAI) -> None:
    reasoned = client.responses.create(
        model="o4-mini", input=INPUT, reasoning={"effort": "low", "summary": "auto"}
    )
    assert reasoned.output[0].type == "reasoning"
    assert reasoned.reasoning is not None and reasoned.reasoning.effort == "low"
    assert reasoned.usage is not None and reasoned.usage.output_tokens_details.reasoning_tokens == 64
    cut = client.responses.create(model=MODEL, input="word " * 60, max_output_tokens=16)
    assert cut.status == "incomplete"
    assert cut.incomplete_details is not None and cut.incomplete_details.reason == "max_output_tokens"


class City(BaseModel):
    city: str
    celsius: float


@needs_responses
def test_parse_with_a_pydantic_model(client: openai.OpenAI) -> None:
    parsed = client.responses.parse(model=MODEL, input=INPUT, text_format=City)
    assert isinstance(parsed.output_parsed, City)


@needs_responses
def test_stream_helper_final_response_equals_the_stored_one(client: openai.OpenAI) -> None:
    with client.responses.stream(
        model="o3", input=INPUT, tools=[TOOL], reasoning={"summary": "auto"}
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.function_call_arguments.delta" in kinds
    assert "response.reasoning_summary_text.delta" in kinds
    stored = client.responses.retrieve(final.id)
    assert _without_parsed(final.model_dump()) == stored.model_dump()
    with client.responses.stream(model=MODEL, input=INPUT) as text_stream:
        deltas = [event.delta for event in text_stream if event.type == "response.output_text.delta"]
        text_final = text_stream.get_final_response()
    assert "".join(deltas) == text_final.output_text == ANSWER
    assert _without_parsed(text_final.model_dump()) == client.responses.retrieve(text_final.id).model_dump()
    with client.responses.stream(model=MODEL, input="Please refuse this.") as refusing:
        refusal = "".join(event.delta for event in refusing if event.type == "response.refusal.delta")
        refused = refusing.get_final_response()
    message: Any = refused.output[0]  # typed as the union of every output item kind
    part = message.content[0]
    assert part.type == "refusal" and part.refusal == refusal
    assert _without_parsed(refused.model_dump()) == client.responses.retrieve(refused.id).model_dump()


@needs_responses
def test_create_stream_true(client: openai.OpenAI) -> None:
    stream = client.responses.create(model=MODEL, input=INPUT, stream=True)
    events = list(stream)
    assert [event.sequence_number for event in events] == list(range(len(events)))
    last = events[-1]
    assert last.type == "response.completed"
    assert last.response.output_text == ANSWER


@needs_responses
def test_retrieve_stream_replays_after_a_sequence_number(client: openai.OpenAI) -> None:
    created = client.responses.create(model=MODEL, input=INPUT)
    replay = list(client.responses.retrieve(created.id, stream=True, starting_after=3))
    assert replay[0].sequence_number == 4
    assert replay[-1].type == "response.completed"


@needs_responses
def test_input_items_delete_and_store_false(client: openai.OpenAI) -> None:
    created = client.responses.create(
        model=MODEL, input=[{"role": "user", "content": "one"}, {"role": "user", "content": "two"}]
    )
    items = client.responses.input_items.list(created.id, order="asc")
    listed: list[Any] = [item for item in items.data if item.type == "message"]
    texts = [item.content[0].text for item in listed]
    assert texts == ["one", "two"]
    pages = list(client.responses.input_items.list(created.id, limit=1))
    assert len(pages) == 2  # the SDK's pager followed has_more / last_id
    deleted = client.responses.with_raw_response.delete(created.id)
    assert deleted.http_response.json() == {"id": created.id, "object": "response", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    unstored = client.responses.create(model=MODEL, input=INPUT, store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model=MODEL, input=INPUT, previous_response_id=unstored.id)
    assert caught.value.code == "previous_response_not_found"


@needs_responses
def test_background_and_cancel(timed: DevServer, clock: Clock) -> None:
    with _client(timed) as client:
        queued = client.responses.create(model=MODEL, input=INPUT, background=True)
        assert queued.status == "queued"
        clock.now += 5
        assert client.responses.retrieve(queued.id).status == "in_progress"
        clock.now += 5
        assert client.responses.retrieve(queued.id).output_text == ANSWER
        other = client.responses.create(model=MODEL, input=INPUT, background=True)
        assert client.responses.cancel(other.id).status == "cancelled"
        foreground = client.responses.create(model=MODEL, input=INPUT)
        with pytest.raises(openai.BadRequestError):
            client.responses.cancel(foreground.id)
        with client.responses.stream(model=MODEL, input=INPUT, background=True) as stream:
            kinds = [event.type for event in stream]
            assert stream.get_final_response().output_text == ANSWER
        assert kinds[:3] == ["response.created", "response.queued", "response.in_progress"]


@needs_responses
def test_errors_and_validation(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=MODEL, input=INPUT, max_output_tokens=1)
    assert caught.value.param == "max_output_tokens"
    with pytest.raises(openai.InternalServerError):
        client.responses.create(model=MODEL, input=INPUT, extra_headers={"x-chatspan-fault": "500"})
    with pytest.raises((openai.APIResponseValidationError, ValueError)):
        client.responses.create(model=MODEL, input=INPUT, extra_headers={"x-chatspan-fault": "malformed"})


@needs_responses
def test_429_once_is_retried(server: DevServer) -> None:
    with _client(server, max_retries=1) as client:
        raw = client.responses.with_raw_response.create(
            model=MODEL, input=INPUT, extra_headers={"x-chatspan-fault": "429;times=1"}
        )
    assert raw.retries_taken == 1
    assert raw.headers["x-request-id"].startswith("req_")
    assert (
        int(raw.headers["x-ratelimit-remaining-requests"])
        == int(raw.headers["x-ratelimit-limit-requests"]) - 1
    )
    assert raw.parse().output_text == ANSWER


@needs_responses
def test_stream_faults(client: openai.OpenAI) -> None:
    failing = client.responses.create(
        model=MODEL, input=INPUT, stream=True, extra_headers={"x-chatspan-fault": "fail-after=3"}
    )
    kinds = [event.type for event in failing]
    assert kinds[-2:] == ["error", "response.failed"]
    dropped = client.responses.create(
        model=MODEL, input=INPUT, stream=True, extra_headers={"x-chatspan-fault": "drop-after=4"}
    )
    received = []
    with pytest.raises(_connection_errors()):
        for event in dropped:
            received.append(event)
    assert len(received) == 4


@needs_responses
async def test_async_create_stream_and_retrieve(async_client: openai.AsyncOpenAI) -> None:
    response = await async_client.responses.create(model=MODEL, input=INPUT)
    assert response.output_text == ANSWER
    async with async_client.responses.stream(model=MODEL, input=INPUT) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert kinds[-1] == "response.completed"
    stored = await async_client.responses.retrieve(final.id)
    assert _without_parsed(final.model_dump()) == stored.model_dump()
    events = [
        event async for event in await async_client.responses.create(model=MODEL, input=INPUT, stream=True)
    ]
    assert events[-1].type == "response.completed"
    await async_client.responses.delete(final.id)
    with pytest.raises(openai.NotFoundError):
        await async_client.responses.retrieve(final.id)


@needs_responses
@pytest.mark.parametrize("deployment", [None, "my-gpt"])
def test_azure_client(server: DevServer, deployment: str | None) -> None:
    with openai.AzureOpenAI(
        azure_endpoint=server.azure_endpoint,
        azure_deployment=deployment,
        api_version="2025-04-01-preview",
        api_key="azure-key",
        timeout=CLIENT_TIMEOUT,
        max_retries=0,
    ) as client:
        raw = client.responses.with_raw_response.create(model="my-gpt", input=INPUT)
        response = raw.parse()
        assert raw.http_request.url.path == "/openai/responses"  # Azure keeps /responses off deployments
        assert raw.http_request.url.params["api-version"] == "2025-04-01-preview"
        assert response.output_text == ANSWER
        assert client.responses.retrieve(response.id).id == response.id
        with client.responses.stream(model="my-gpt", input=INPUT) as stream:
            assert stream.get_final_response().output_text == ANSWER


@needs_responses
def test_azure_v1_path_with_a_plain_client(server: DevServer) -> None:
    with openai.OpenAI(
        base_url=f"{server.azure_endpoint}/openai/v1/",
        api_key="azure-key",
        timeout=CLIENT_TIMEOUT,
        max_retries=0,
    ) as client:
        response = client.responses.create(model=MODEL, input=INPUT)
        assert response.output_text == ANSWER
        assert client.responses.retrieve(response.id).id == response.id
