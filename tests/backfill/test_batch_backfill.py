"""Batch backfill end to end: batches made through the real openai client on the devserver, backfilled
by `backfill_batches` through the real OTLP HTTP exporter into the in-process receiver (which never
deduplicates, so every count is exact)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from chatspan.backfill.batch_checkpoint import load_batches
from chatspan.backfill.batches import BatchSelection
from chatspan.backfill.window import Selection
from chatspan.devserver import DevServer
from tests.backfill.batch_kit import (
    DAY,
    DetailReceiver,
    Notices,
    detail_receiver,
    exporter_for,
    finished,
    line_span_id,
    output_custom_ids,
    root_span_id,
    run,
    trace_of,
    window,
)
from tests.devserver.batchkit import (
    CHAT,
    EMBEDDINGS,
    RESPONSES,
    STAGE,
    Clock,
    batch_server,
    chat_line,
    client_for,
    create,
    embeddings_line,
    responses_line,
    upload,
)

ERROR = 2
"""`STATUS_CODE_ERROR` of OTLP."""


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock: Clock) -> Iterator[DevServer]:
    with batch_server(clock) as server:
        yield server


@pytest.fixture
def client(server: DevServer) -> Iterator[openai.OpenAI]:
    with client_for(server) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[DetailReceiver]:
    with detail_receiver() as receiver:
        yield receiver


def every_status(client: openai.OpenAI, clock: Clock) -> dict[str, Any]:
    """One finished batch of each terminal status and endpoint, by a name."""
    batches: dict[str, Any] = {}
    batches["completed"] = finished(
        client,
        clock,
        [
            chat_line("c-0", "one"),
            chat_line("c-1", "two"),
            chat_line("c-2", "bad", n=0),
            chat_line("c-3", "x"),
        ],
        CHAT,
    )
    batches["expired"] = finished(
        client,
        clock,
        [chat_line(f"e-{n}", f"line {n}") for n in range(3)],
        CHAT,
        metadata={"chatspan.expire_after": "1"},
    )
    cancelled = create(client, upload(client, [chat_line(f"k-{n}", f"line {n}") for n in range(4)]))
    clock.advance(STAGE + STAGE / 2)
    client.batches.cancel(cancelled.id)
    clock.advance(STAGE)
    batches["cancelled"] = client.batches.retrieve(cancelled.id)
    batches["failed"] = finished(
        client, clock, [chat_line("f-0", "fine"), {**chat_line("f-1", "wrong"), "url": RESPONSES}], CHAT
    )
    batches["responses"] = finished(
        client, clock, [responses_line("r-0", "hello"), responses_line("r-1", "again")], RESPONSES
    )
    batches["embeddings"] = finished(
        client, clock, [embeddings_line("m-0", "vector"), embeddings_line("m-1", "more")], EMBEDDINGS
    )
    assert {name: batch.status for name, batch in batches.items()} == {
        "completed": "completed",
        "expired": "expired",
        "cancelled": "cancelled",
        "failed": "failed",
        "responses": "completed",
        "embeddings": "completed",
    }
    return batches


def expected_spans(client: openai.OpenAI, batches: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(trace id, span id, parent span id) of every span the batches must give: a root and its lines."""
    expected: set[tuple[str, str, str]] = set()
    for batch in batches.values():
        expected.add((trace_of(batch.id), root_span_id(batch.id), ""))
        for file_id in (batch.output_file_id, batch.error_file_id):
            for custom_id in output_custom_ids(client, file_id):
                expected.add((trace_of(batch.id), line_span_id(batch.id, custom_id), root_span_id(batch.id)))
    return expected


def received(receiver: DetailReceiver) -> set[tuple[str, str, str]]:
    return {(span.trace_id, span.span_id, span.parent_span_id) for span in receiver.spans()}


def test_every_terminal_status_gives_exactly_its_spans(
    client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    batches = every_status(client, clock)
    expected = expected_spans(client, batches)
    assert len(expected) == 6 + 4 + 3 + 2 + 0 + 2 + 2  # roots, then each batch's lines
    tally = run(client, exporter_for(receiver), tmp_path / "cp.json", window(clock))
    assert received(receiver) == expected
    assert receiver.duplicates() == {}
    assert len(receiver.spans()) == len(expected)
    assert (tally.exported, tally.skipped, tally.failed) == (len(expected), 0, 0)
    state = load_batches(tmp_path / "cp.json", "batch-test")
    assert set(state.done) == {batch.id for batch in batches.values()}
    assert state.current is None


def test_the_root_span_of_each_batch(
    client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    batches = every_status(client, clock)
    run(client, exporter_for(receiver), tmp_path / "cp.json", window(clock))
    roots = {span.name: span for span in receiver.spans() if not span.parent_span_id}
    events = {
        "completed": ["openai.batch.in_progress", "openai.batch.finalizing", "openai.batch.completed"],
        "expired": ["openai.batch.in_progress", "openai.batch.expired"],
        "cancelled": ["openai.batch.in_progress", "openai.batch.cancelling", "openai.batch.cancelled"],
        "failed": ["openai.batch.failed"],
    }
    for name, batch in batches.items():
        root = roots[f"batch {batch.id}"]
        ended = batch.completed_at or batch.expired_at or batch.cancelled_at or batch.failed_at
        assert (root.start_unix_nano, root.end_unix_nano) == (batch.created_at * 10**9, ended * 10**9)
        assert root.attributes["openai.batch.id"] == batch.id
        assert root.attributes["openai.batch.status"] == batch.status
        assert root.attributes["openai.batch.endpoint"] == batch.endpoint
        assert root.attributes["openai.batch.request_counts.total"] == batch.request_counts.total
        assert root.attributes["chatspan.source"] == "backfill"
        details = receiver.details[root.span_id]
        assert [event for event, _ in details.events] == events.get(name, events["completed"])
        assert all(moment > 0 for _, moment in details.events)
        assert details.links == []
        if name == "failed":
            assert details.status_code == ERROR
            assert root.attributes["error.type"] == "url_mismatch"
            (error,) = root.attributes["openai.batch.errors"]
            assert error.startswith("line 2: url_mismatch: ")
            assert details.status_message == error
        else:
            assert details.status_code != ERROR
            assert "openai.batch.errors" not in root.attributes
        if name != "failed":
            assert isinstance(root.attributes["gen_ai.usage.input_tokens"], int)


def test_line_spans_map_like_stored_completions(
    client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    batches = every_status(client, clock)
    run(client, exporter_for(receiver), tmp_path / "cp.json", window(clock))
    by_id = {span.span_id: span for span in receiver.spans()}
    completed = batches["completed"]
    output = [json.loads(line) for line in client.files.content(completed.output_file_id).text.splitlines()]
    for line in output:
        span = by_id[line_span_id(completed.id, line["custom_id"])]
        body = line["response"]["body"]
        assert span.name == f"chat {body['model']}"
        assert span.start_unix_nano == span.end_unix_nano == body["created"] * 10**9
        assert span.attributes["openai.request.id"] == line["response"]["request_id"]
        assert span.attributes["openai.batch.custom_id"] == line["custom_id"]
        assert span.attributes["openai.batch.request.id"] == line["id"]
        assert span.attributes["gen_ai.response.id"] == body["id"]
        assert span.attributes["gen_ai.usage.input_tokens"] == body["usage"]["prompt_tokens"]
        assert span.attributes["gen_ai.usage.output_tokens"] == body["usage"]["completion_tokens"]
        assert span.attributes["gen_ai.response.finish_reasons"] == ["stop"]
        assert span.attributes["openai.response.created"] == body["created"]
        assert span.attributes["http.response.status_code"] == 200
        assert "gen_ai.input.messages" not in span.attributes  # content capture is off
        assert receiver.details[span.span_id].status_code != ERROR
    (refused,) = [
        json.loads(line) for line in client.files.content(completed.error_file_id).text.splitlines()
    ]
    span = by_id[line_span_id(completed.id, refused["custom_id"])]
    assert receiver.details[span.span_id].status_code == ERROR
    assert span.attributes["error.type"] == refused["response"]["body"]["error"]["code"]
    assert span.attributes["http.response.status_code"] == refused["response"]["status_code"]
    assert span.start_unix_nano == completed.completed_at * 10**9  # no time of its own: the batch's end

    expired = batches["expired"]
    for custom_id in output_custom_ids(client, expired.error_file_id):
        span = by_id[line_span_id(expired.id, custom_id)]
        assert span.attributes["error.type"] == "batch_expired"
        assert receiver.details[span.span_id].status_code == ERROR

    responses = batches["responses"]
    for custom_id in ("r-0", "r-1"):
        span = by_id[line_span_id(responses.id, custom_id)]
        assert span.attributes["openai.api.type"] == "responses"
        assert span.attributes["gen_ai.response.id"].startswith("resp_")
        assert span.attributes["openai.response.status"] == "completed"

    embeddings = batches["embeddings"]
    for custom_id in ("m-0", "m-1"):
        span = by_id[line_span_id(embeddings.id, custom_id)]
        assert span.name.startswith("embeddings text-embedding-3-small")
        assert span.attributes["gen_ai.operation.name"] == "embeddings"
        assert span.attributes["gen_ai.usage.input_tokens"] > 0


def test_a_rerun_exports_nothing_new(
    client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    batches = every_status(client, clock)
    first = run(client, exporter_for(receiver), tmp_path / "cp.json", window(clock))
    count = len(receiver.spans())
    again = run(client, exporter_for(receiver), tmp_path / "cp.json", window(clock))
    assert (again.exported, again.skipped, again.listed) == (0, len(batches), len(batches))
    assert len(receiver.spans()) == count == first.exported
    # --restart sends everything again, with the same ids: a deduplicating backend keeps one of each.
    restarted = run(client, exporter_for(receiver), tmp_path / "cp.json", window(clock), restart=True)
    assert restarted.exported == count
    assert set(Counter(span.span_id for span in receiver.spans()).values()) == {2}


def test_content_capture_joins_the_input_lines(
    client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    batch = finished(
        client,
        clock,
        [chat_line(f"q-{n}", f"question number {n}", temperature=0.25) for n in range(5)],
        CHAT,
    )
    notices = Notices()
    run(client, exporter_for(receiver), tmp_path / "cp.json", window(clock), capture=True, notices=notices)
    assert notices.notes == []
    spans = [span for span in receiver.spans() if span.parent_span_id]
    assert len(spans) == 5
    for span in spans:
        number = span.attributes["openai.batch.custom_id"].removeprefix("q-")
        (message,) = json.loads(span.attributes["gen_ai.input.messages"])
        assert message["role"] == "user"
        assert message["parts"][0]["content"] == f"question number {number}"
        assert json.loads(span.attributes["gen_ai.output.messages"])[0]["role"] == "assistant"
        assert span.attributes["gen_ai.request.model"] == "gpt-4o-mini"  # the request's, not the snapshot
        assert span.attributes["gen_ai.request.temperature"] == 0.25
    assert len({span.span_id for span in spans}) == 5
    assert batch.id in {span.attributes["openai.batch.id"] for span in spans}


def test_content_capture_without_the_input_file(
    client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    batch = finished(client, clock, [chat_line("q-0", "gone soon")], CHAT)
    client.files.delete(batch.input_file_id)
    notices = Notices()
    run(client, exporter_for(receiver), tmp_path / "cp.json", window(clock), capture=True, notices=notices)
    ((noted_id, note),) = notices.notes
    assert noted_id == batch.id and "input file" in note
    (line,) = [span for span in receiver.spans() if span.parent_span_id]
    assert "gen_ai.input.messages" not in line.attributes
    assert "gen_ai.output.messages" in line.attributes


def test_a_dry_run_lists_and_counts_and_writes_nothing(
    client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    batches = every_status(client, clock)
    shown: list[str] = []
    tally = run(client, None, tmp_path / "cp.json", window(clock), show=lambda batch: shown.append(batch.id))
    assert sorted(shown) == sorted(batch.id for batch in batches.values())
    assert tally.exported == len(expected_spans(client, batches))
    assert receiver.requests == 0
    assert list(tmp_path.iterdir()) == []  # no checkpoint, no lock


def test_one_batch_by_id(
    client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    first = finished(client, clock, [chat_line("a-0", "first")], CHAT)
    second = finished(client, clock, [chat_line("b-0", "second")], CHAT)
    selection = BatchSelection(window(clock).window, batch_id=first.id)
    tally = run(client, exporter_for(receiver), tmp_path / "cp.json", selection)
    assert tally.exported == 2
    assert {span.trace_id for span in receiver.spans()} == {trace_of(first.id)}
    assert second.id not in load_batches(tmp_path / "cp.json", "batch-test").done


def test_running_batches_wait_for_a_later_run(
    client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    done = finished(client, clock, [chat_line("a-0", "first")], CHAT)
    running = create(client, upload(client, [chat_line("b-0", "later")]))
    notices = Notices()
    run(client, exporter_for(receiver), tmp_path / "cp.json", window(clock), notices=notices)
    assert {span.trace_id for span in receiver.spans()} == {trace_of(done.id)}
    assert [batch_id for batch_id, _ in notices.notes] == [running.id]
    by_id = BatchSelection(window(clock).window, batch_id=running.id)
    assert run(client, exporter_for(receiver), tmp_path / "cp.json", by_id).exported == 0
    clock.advance(4 * STAGE)
    later = run(client, exporter_for(receiver), tmp_path / "cp.json", window(clock))
    assert (later.exported, later.skipped) == (2, 1)
    assert {span.trace_id for span in receiver.spans()} == {trace_of(done.id), trace_of(running.id)}
    assert receiver.duplicates() == {}


def test_window_and_metadata_edges(
    client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    old = finished(client, clock, [chat_line("o-0", "old")], CHAT, metadata={"team": "a"})
    clock.advance(2 * DAY)
    edge = finished(client, clock, [chat_line("e-0", "edge")], CHAT, metadata={"team": "a"})
    other = finished(client, clock, [chat_line("t-0", "other team")], CHAT, metadata={"team": "b"})
    now = int(clock.now)
    selection = BatchSelection(Selection(since=edge.created_at, until=now, metadata={"team": "a"}))
    run(client, exporter_for(receiver), tmp_path / "cp.json", selection)
    assert {span.trace_id for span in receiver.spans()} == {trace_of(edge.id)}
    # `until` is inclusive too, and a batch created after it is left for another run.
    until_edge = BatchSelection(Selection(since=old.created_at, until=old.created_at))
    run(client, exporter_for(receiver), tmp_path / "other.json", until_edge)
    assert {span.trace_id for span in receiver.spans()} == {trace_of(edge.id), trace_of(old.id)}
    assert trace_of(other.id) not in {span.trace_id for span in receiver.spans()}


def test_the_done_set_is_bounded_by_the_window(
    client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    old = finished(client, clock, [chat_line("o-0", "old")], CHAT)
    clock.advance(10 * DAY)
    new = finished(client, clock, [chat_line("n-0", "new")], CHAT)
    path = tmp_path / "cp.json"
    run(client, exporter_for(receiver), path, window(clock, days=31))
    assert set(load_batches(path, "batch-test").done) == {old.id, new.id}
    run(client, exporter_for(receiver), path, window(clock, days=5))
    assert set(load_batches(path, "batch-test").done) == {new.id}
    assert receiver.duplicates() == {}


def test_the_batch_trace_links_to_the_live_batch_create_span(
    server: DevServer, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    from chatspan.mapping.traceparent import format_traceparent
    from tests.support.recording import instrumented

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHATSPAN_LINK_STORED", "true")
        with instrumented() as recording, client_for(server) as app:
            batch = create(app, upload(app, [chat_line("l-0", "linked")]), metadata={"team": "app"})
    (live,) = [span for span in recording.spans() if span.name == "batch create"]
    assert live.context is not None
    assert batch.metadata["team"] == "app"
    clock.advance(4 * STAGE)
    with client_for(server) as client:
        run(client, exporter_for(receiver), tmp_path / "cp.json", window(clock))
    (root,) = [span for span in receiver.spans() if not span.parent_span_id]
    assert receiver.details[root.span_id].links == [
        (f"{live.context.trace_id:032x}", f"{live.context.span_id:016x}")
    ]
    # A link, not a parent: the batch is its own trace, which outlives the call that made it.
    assert root.trace_id == trace_of(batch.id) != f"{live.context.trace_id:032x}"
    assert root.attributes["openai.batch.metadata.team"] == "app"
    # The submitting span's traceparent, as the live instrumentation wrote it into the metadata.
    assert root.attributes["openai.batch.metadata.chatspan.traceparent"] == format_traceparent(live.context)
