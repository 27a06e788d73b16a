"""The Files and Batch APIs through the real openai client: uploads, every batch status, output files.

The server runs on a test clock (`batchkit.Clock`) with 10 s stages, so each test moves a batch
from `validating` to its end by advancing the clock, never by waiting.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from chatspan.devserver import DevServer
from tests.devserver.batchkit import (
    STAGE,
    Clock,
    batch_server,
    chat_line,
    client_for,
    create,
    upload,
    usage_of,
)

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def clock() -> Clock:
    """The servers' clock."""
    return Clock()


@pytest.fixture
def server(clock: Clock) -> Iterator[DevServer]:
    """A devserver on the test clock."""
    with batch_server(clock) as running:
        yield running


@pytest.fixture
def client(server: DevServer) -> Iterator[openai.OpenAI]:
    """A client without retries."""
    with client_for(server) as sync_client:
        yield sync_client


def _lines(count: int) -> list[dict[str, Any]]:
    return [chat_line(f"request-{index}", f"Question number {index}") for index in range(count)]


def _content_lines(client: openai.OpenAI, file_id: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()]


def test_upload_retrieve_list_delete(client: openai.OpenAI, clock: Clock) -> None:
    data = b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n'
    uploaded = client.files.create(file=("requests.jsonl", data), purpose="batch")
    assert uploaded.id.startswith("file-")
    assert (uploaded.object, uploaded.purpose, uploaded.filename) == ("file", "batch", "requests.jsonl")
    assert uploaded.bytes == len(data)
    assert uploaded.created_at == int(clock.now)
    assert uploaded.expires_at == int(clock.now) + 30 * 86_400
    assert client.files.retrieve(uploaded.id) == uploaded
    assert [listed.id for listed in client.files.list()] == [uploaded.id]
    assert client.files.content(uploaded.id).content == data
    deleted = client.files.delete(uploaded.id)
    assert (deleted.id, deleted.deleted) == (uploaded.id, True)
    with pytest.raises(openai.NotFoundError, match=f"No such File object: {uploaded.id}"):
        client.files.retrieve(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        client.files.delete(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(uploaded.id)


def test_batch_upload_must_be_jsonl(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match=r"Must be \.jsonl"):
        client.files.create(file=("requests.csv", b"a,b\n"), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="empty"):
        client.files.create(file=("requests.jsonl", b"\n\n"), purpose="batch")
    # Other purposes take any file, and never expire.
    other = client.files.create(file=("notes.txt", b"hello"), purpose="user_data")
    assert other.expires_at is None


def test_completed_batch_through_every_stage(client: openai.OpenAI, clock: Clock) -> None:
    file_id = upload(client, _lines(4))
    batch = create(client, file_id, metadata={"chatspan.traceparent": TRACEPARENT, "team": "search"})
    created = int(clock.now)
    assert batch.status == "validating"
    assert (batch.request_counts.total, batch.request_counts.completed) == (0, 0)
    assert batch.metadata == {"chatspan.traceparent": TRACEPARENT, "team": "search"}
    assert batch.expires_at == created + 86_400
    seen = []
    for step in (STAGE, STAGE / 2, STAGE / 2, STAGE):
        clock.advance(step)
        current = client.batches.retrieve(batch.id)
        assert current.request_counts is not None
        seen.append((current.status, current.request_counts.completed, current.output_file_id))
    assert seen[:3] == [("in_progress", 0, None), ("in_progress", 2, None), ("finalizing", 4, None)]
    assert seen[3][:2] == ("completed", 4)
    done = client.batches.retrieve(batch.id)
    assert (done.in_progress_at, done.finalizing_at, done.completed_at) == (
        created + 10,
        created + 20,
        created + 30,
    )
    assert done.failed_at is None and done.cancelled_at is None and done.expired_at is None
    assert done.error_file_id is None
    assert done.model == "gpt-4o-mini-2024-07-18"
    assert done.output_file_id is not None
    output = client.files.retrieve(done.output_file_id)
    assert (output.purpose, output.created_at) == ("batch_output", created + 30)
    lines = _content_lines(client, done.output_file_id)
    assert [line["custom_id"] for line in lines] == [f"request-{index}" for index in range(4)]
    for index, line in enumerate(lines):
        assert line["id"].startswith("batch_req_") and line["error"] is None
        response = line["response"]
        assert response["status_code"] == 200 and response["request_id"].startswith("req_")
        body = response["body"]
        assert body["object"] == "chat.completion"
        assert body["choices"][0]["message"]["content"] == f"You said: Question number {index}"
        assert created + 10 <= body["created"] <= created + 20
    usage = usage_of(done)
    bodies = [line["response"]["body"] for line in lines]
    assert usage["input_tokens"] == sum(body["usage"]["prompt_tokens"] for body in bodies)
    assert usage["output_tokens"] == sum(body["usage"]["completion_tokens"] for body in bodies)
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert output.bytes == len(client.files.content(done.output_file_id).content)


def test_output_is_the_same_on_every_read(client: openai.OpenAI, clock: Clock) -> None:
    batch = create(client, upload(client, _lines(3)))
    clock.advance(3 * STAGE)
    output_id = client.batches.retrieve(batch.id).output_file_id
    assert output_id is not None
    first = client.files.content(output_id).content
    assert client.files.content(output_id).content == first
    streamed = []
    with client.files.with_streaming_response.content(output_id) as response:
        streamed = list(response.iter_lines())
    assert [json.loads(line) for line in streamed] == [json.loads(line) for line in first.splitlines()]


def test_failed_validation_names_the_lines(client: openai.OpenAI, clock: Clock) -> None:
    lines: list[Any] = _lines(2)
    lines.append({**chat_line("request-2", "x"), "url": "/v1/responses"})
    lines.append(chat_line("request-0", "duplicate"))
    lines.append(chat_line("request-4", "another model", model="gpt-4o"))
    lines.append({"custom_id": "request-5", "method": "POST", "url": "/v1/chat/completions"})
    lines.append({**chat_line("request-6", "x"), "method": "GET"})
    data = b"".join(json.dumps(line).encode() + b"\n" for line in lines) + b'{"custom_id": "broken"\n'
    batch = create(client, upload(client, data))
    clock.advance(STAGE)
    failed = client.batches.retrieve(batch.id)
    assert failed.status == "failed"
    assert failed.failed_at == int(clock.now) and failed.in_progress_at is None
    assert failed.errors is not None and failed.errors.data is not None
    found = [(error.line, error.code, error.param) for error in failed.errors.data]
    assert found == [
        (3, "url_mismatch", "url"),
        (4, "duplicate_custom_id", "custom_id"),
        (5, "model_mismatch", "body.model"),
        (6, "missing_required_parameter", "body"),
        (7, "invalid_value", "method"),
        (8, "invalid_json_line", None),
    ]
    clock.advance(10 * STAGE)
    later = client.batches.retrieve(batch.id)
    assert (later.status, later.output_file_id, later.error_file_id) == ("failed", None, None)
    assert later.request_counts is not None and later.request_counts.total == 0


def test_requests_that_fail_go_to_the_error_file(client: openai.OpenAI, clock: Clock) -> None:
    lines = [chat_line("good", "hello"), chat_line("bad", "hello", n=0), chat_line("worse", "x", stream=True)]
    batch = create(client, upload(client, lines))
    clock.advance(3 * STAGE)
    done = client.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.completed, done.request_counts.failed) == (1, 2)
    assert done.output_file_id is not None and done.error_file_id is not None
    assert [line["custom_id"] for line in _content_lines(client, done.output_file_id)] == ["good"]
    errors = _content_lines(client, done.error_file_id)
    assert [line["custom_id"] for line in errors] == ["bad", "worse"]
    assert errors[0]["error"] is None
    assert errors[0]["response"]["status_code"] == 400
    assert errors[0]["response"]["body"]["error"]["code"] == "integer_below_min_value"
    assert errors[1]["response"]["body"]["error"]["param"] == "stream"


def test_unknown_model_fails_every_line(client: openai.OpenAI, clock: Clock) -> None:
    lines = [chat_line(f"r{index}", "hello", model="no-such-model") for index in range(2)]
    batch = create(client, upload(client, lines))
    clock.advance(3 * STAGE)
    done = client.batches.retrieve(batch.id)
    assert (done.status, done.output_file_id) == ("completed", None)
    assert done.request_counts is not None and done.request_counts.failed == 2
    assert done.error_file_id is not None
    for line in _content_lines(client, done.error_file_id):
        assert line["response"]["status_code"] == 404
        assert line["response"]["body"]["error"]["code"] == "model_not_found"


def test_cancel_in_progress_keeps_the_lines_done(client: openai.OpenAI, clock: Clock) -> None:
    batch = create(client, upload(client, _lines(4)))
    clock.advance(STAGE + STAGE / 2)
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling"
    assert cancelling.cancelling_at == int(clock.now) and cancelling.cancelled_at is None
    assert client.batches.cancel(batch.id).status == "cancelling"  # asking again changes nothing
    clock.advance(STAGE)
    cancelled = client.batches.retrieve(batch.id)
    assert cancelled.status == "cancelled"
    assert cancelled.cancelled_at == int(clock.now)
    assert cancelled.request_counts is not None
    assert (cancelled.request_counts.total, cancelled.request_counts.completed) == (4, 2)
    assert cancelled.output_file_id is not None and cancelled.error_file_id is None
    custom_ids = [line["custom_id"] for line in _content_lines(client, cancelled.output_file_id)]
    assert custom_ids == ["request-0", "request-1"]


def test_cancel_while_validating_runs_nothing(client: openai.OpenAI, clock: Clock) -> None:
    batch = create(client, upload(client, _lines(2)))
    clock.advance(STAGE / 2)
    assert client.batches.cancel(batch.id).status == "cancelling"
    clock.advance(STAGE)
    cancelled = client.batches.retrieve(batch.id)
    assert (cancelled.status, cancelled.output_file_id, cancelled.in_progress_at) == ("cancelled", None, None)


def test_a_finished_batch_cannot_be_cancelled(client: openai.OpenAI, clock: Clock) -> None:
    batch = create(client, upload(client, _lines(1)))
    clock.advance(3 * STAGE)
    with pytest.raises(openai.ConflictError, match="Cannot cancel a batch with status 'completed'"):
        client.batches.cancel(batch.id)
    with pytest.raises(openai.NotFoundError):
        client.batches.cancel("batch_unknown")


def test_expired_batch_keeps_what_ran(client: openai.OpenAI, clock: Clock) -> None:
    batch = create(client, upload(client, _lines(4)), metadata={"chatspan.expire_after": "1"})
    clock.advance(2 * STAGE - 1)
    assert client.batches.retrieve(batch.id).status == "in_progress"
    clock.advance(1)
    expired = client.batches.retrieve(batch.id)
    assert expired.status == "expired"
    assert expired.expired_at == int(clock.now) and expired.finalizing_at is None
    assert expired.request_counts is not None
    assert (expired.request_counts.completed, expired.request_counts.failed) == (1, 3)
    assert expired.output_file_id is not None and expired.error_file_id is not None
    assert [line["custom_id"] for line in _content_lines(client, expired.output_file_id)] == ["request-0"]
    stopped = _content_lines(client, expired.error_file_id)
    assert [line["custom_id"] for line in stopped] == ["request-1", "request-2", "request-3"]
    assert all(line["response"] is None for line in stopped)
    assert {line["error"]["code"] for line in stopped} == {"batch_expired"}


def test_output_file_expires(client: openai.OpenAI, clock: Clock) -> None:
    batch = create(
        client, upload(client, _lines(1)), output_expires_after={"anchor": "created_at", "seconds": 3600}
    )
    clock.advance(3 * STAGE)
    output_id = client.batches.retrieve(batch.id).output_file_id
    assert output_id is not None
    assert client.files.retrieve(output_id).expires_at == int(clock.now) + 3600
    clock.advance(3600)
    with pytest.raises(openai.NotFoundError, match=f"No such File object: {output_id}"):
        client.files.content(output_id)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(output_id)
    assert output_id not in [listed.id for listed in client.files.list()]
    with pytest.raises(openai.NotFoundError):
        client.files.delete(output_id)


def test_batch_upload_size_limit(client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    # 200 MB in a test would be slow: the limit is lowered instead, the check is the same.
    monkeypatch.setattr("chatspan.devserver.files.MAX_BATCH_FILE_BYTES", 64)
    with pytest.raises(openai.BadRequestError, match="File is too large"):
        client.files.create(file=("big.jsonl", b"x" * 65), purpose="batch")
    assert client.files.create(file=("ok.jsonl", b"x" * 64), purpose="batch").bytes == 64


def test_batches_list_pages_newest_first(client: openai.OpenAI, clock: Clock) -> None:
    file_id = upload(client, _lines(1))
    ids = []
    for _ in range(5):
        ids.append(create(client, file_id).id)
        clock.advance(1)
    page = client.batches.list(limit=2)
    assert [batch.id for batch in page.data] == ids[::-1][:2]
    assert page.has_more is True
    assert [batch.id for batch in client.batches.list(limit=2)] == ids[::-1]  # auto-pagination
    last = client.batches.list(limit=2, after=ids[1])
    assert ([batch.id for batch in last.data], last.has_more) == ([ids[0]], False)
    with pytest.raises(openai.NotFoundError):
        client.batches.list(after="batch_unknown")
    with pytest.raises(openai.BadRequestError, match="integer above maximum"):
        client.batches.list(limit=101)


def test_files_list_filters_and_pages(client: openai.OpenAI, clock: Clock) -> None:
    batch_ids = []
    for index in range(3):
        batch_ids.append(upload(client, _lines(1), name=f"in-{index}.jsonl"))
        clock.advance(1)
    other = client.files.create(file=("notes.txt", b"x"), purpose="user_data").id
    assert [f.id for f in client.files.list()] == [other, *batch_ids[::-1]]
    assert [f.id for f in client.files.list(purpose="batch")] == batch_ids[::-1]
    assert [f.id for f in client.files.list(order="asc", limit=2)] == [*batch_ids, other]
    page = client.files.list(order="asc", limit=2)
    assert (len(page.data), page.has_more) == (2, True)
    assert [f.id for f in client.files.list(order="asc", after=batch_ids[1]).data] == [batch_ids[2], other]


def test_metadata_is_kept_as_given(client: openai.OpenAI) -> None:
    file_id = upload(client, _lines(1))
    metadata = {f"key{index}": f"value{index}" for index in range(15)}
    metadata["chatspan.traceparent"] = TRACEPARENT
    assert create(client, file_id, metadata=metadata).metadata == metadata
    with pytest.raises(openai.BadRequestError, match="too many properties"):
        create(client, file_id, metadata={**metadata, "one-more": "x"})
    batch = create(client, file_id)
    assert batch.metadata is None


def test_batch_create_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="No such File object: file-missing"):
        create(client, "file-missing")
    not_batch = client.files.create(file=("notes.jsonl", b"{}\n"), purpose="user_data").id
    with pytest.raises(openai.BadRequestError, match="purpose 'user_data'"):
        create(client, not_batch)
    with pytest.raises(openai.BadRequestError, match=r"chatspan\.expire_after"):
        create(client, upload(client, _lines(1)), metadata={"chatspan.expire_after": "soon"})
    with pytest.raises(openai.BadRequestError, match=r"output_expires_after\.seconds"):
        create(
            client, upload(client, _lines(1)), output_expires_after={"anchor": "created_at", "seconds": 60}
        )


def test_deleting_the_input_file_does_not_change_the_batch(client: openai.OpenAI, clock: Clock) -> None:
    file_id = upload(client, _lines(2))
    batch = create(client, file_id)
    client.files.delete(file_id)
    clock.advance(3 * STAGE)
    done = client.batches.retrieve(batch.id)
    assert done.output_file_id is not None
    assert len(_content_lines(client, done.output_file_id)) == 2


async def test_async_client(server: DevServer, clock: Clock) -> None:
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as client:
        uploaded = await client.files.create(
            file=("in.jsonl", b"".join(json.dumps(line).encode() + b"\n" for line in _lines(2))),
            purpose="batch",
        )
        batch = await client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        clock.advance(3 * STAGE)
        done = await client.batches.retrieve(batch.id)
        assert done.status == "completed" and done.output_file_id is not None
        content = await client.files.content(done.output_file_id)
        assert len(content.text.splitlines()) == 2
        assert [listed.id async for listed in client.batches.list()] == [batch.id]


def test_a_failed_batch_never_expires_its_lines(client: openai.OpenAI, clock: Clock) -> None:
    lines = [chat_line("same", "x"), chat_line("same", "y")]
    batch = create(client, upload(client, lines), metadata={"chatspan.expire_after": "1"})
    clock.advance(5 * STAGE)
    failed = client.batches.retrieve(batch.id)
    assert (failed.status, failed.output_file_id, failed.error_file_id) == ("failed", None, None)
    assert [f.purpose for f in client.files.list()] == ["batch"]
