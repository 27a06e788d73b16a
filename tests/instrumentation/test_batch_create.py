"""With CHATSPAN_LINK_STORED=true, `batches.create` is a short `batch create` span whose traceparent
goes into the batch's metadata, so a backfilled batch trace can link back to the code that made it."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from chatspan.mapping.traceparent import format_traceparent
from tests.support.recording import attributes, instrumented
from tests.support.transport import http, mock_client, response


def batch_handler(sent: list[dict[str, Any]]) -> Any:
    """An HTTP handler answering `POST /batches` as OpenAI does, keeping each request body."""

    def handler(request: Any) -> Any:
        body = json.loads(request.content)
        sent.append(body)
        batch = {
            "id": "batch_abc",
            "object": "batch",
            "endpoint": body["endpoint"],
            "input_file_id": body["input_file_id"],
            "completion_window": body["completion_window"],
            "status": "validating",
            "created_at": 1_800_000_000,
            "metadata": body.get("metadata"),
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
        }
        headers = {"content-type": "application/json", "x-request-id": "req_batch"}
        return response(200, headers, json.dumps(batch).encode())

    return handler


def batch_server(sent: list[dict[str, Any]]) -> openai.OpenAI:
    return mock_client(batch_handler(sent))


def create(client: openai.OpenAI, **extra: Any) -> Any:
    return client.batches.create(
        input_file_id="file-in", endpoint="/v1/chat/completions", completion_window="24h", **extra
    )


def test_batch_create_span_and_traceparent_in_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATSPAN_LINK_STORED", "true")
    sent: list[dict[str, Any]] = []
    with instrumented() as recording:
        batch = create(batch_server(sent), metadata={"job": "nightly"})
    span = recording.only_span()
    assert span.name == "batch create"
    assert span.context is not None
    assert sent[0]["metadata"] == {"job": "nightly", "chatspan.traceparent": format_traceparent(span.context)}
    assert batch.metadata == sent[0]["metadata"]
    attrs = attributes(span)
    assert attrs["openai.batch.id"] == "batch_abc"
    assert attrs["openai.batch.status"] == "validating"
    assert attrs["openai.batch.endpoint"] == "/v1/chat/completions"
    assert attrs["openai.batch.input_file_id"] == "file-in"
    assert attrs["openai.batch.metadata.job"] == "nightly"
    assert attrs["openai.request.id"] == "req_batch"
    assert "gen_ai.operation.name" not in attrs, "no model operation"
    assert recording.metrics().get("gen_ai.client.operation.duration") is None


def test_a_user_key_or_full_metadata_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATSPAN_LINK_STORED", "true")
    sent: list[dict[str, Any]] = []
    full = {f"k{i}": "v" for i in range(16)}
    with instrumented() as recording:
        create(batch_server(sent), metadata=full)
        create(batch_server(sent), metadata={"chatspan.traceparent": "mine"})
    assert sent[0]["metadata"] == full
    assert sent[1]["metadata"] == {"chatspan.traceparent": "mine"}
    assert len(recording.spans()) == 2


def test_without_the_switch_batches_are_not_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHATSPAN_LINK_STORED", raising=False)
    sent: list[dict[str, Any]] = []
    with instrumented() as recording:
        create(batch_server(sent))
    assert recording.spans() == []
    assert "metadata" not in sent[0]


def test_an_accessor_cached_before_instrument_still_links(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATSPAN_LINK_STORED", "true")
    sent: list[dict[str, Any]] = []
    client = batch_server(sent)
    raw = client.batches.with_raw_response
    with instrumented() as recording:
        raw.create(input_file_id="file-in", endpoint="/v1/chat/completions", completion_window="24h").parse()
    span = recording.only_span()
    assert span.context is not None
    assert sent[0]["metadata"] == {"chatspan.traceparent": format_traceparent(span.context)}


async def test_async_batch_create(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATSPAN_LINK_STORED", "true")
    sent: list[dict[str, Any]] = []
    answer = batch_handler(sent)

    async def handler(request: Any) -> Any:
        return answer(request)

    with instrumented() as recording:
        client = openai.AsyncOpenAI(
            api_key="sk-mock",
            base_url="https://api.openai.com/v1",
            max_retries=0,
            http_client=http.AsyncClient(transport=http.MockTransport(handler)),
        )
        await client.batches.create(input_file_id="f", endpoint="/v1/responses", completion_window="24h")
    assert attributes(recording.only_span())["openai.batch.endpoint"] == "/v1/responses"
    assert "chatspan.traceparent" in sent[0]["metadata"]
