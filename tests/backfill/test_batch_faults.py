"""Batch backfill under faults: a collector that refuses or dies, 429/500 storms on the list and on
file content (the SDK retries), truncated and broken files, expired output files, a stop between
sends. Every run ends with exactly the expected span set and no span id twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from chatspan.backfill.batch_checkpoint import load_batches
from chatspan.backfill.export import ExportFailed
from chatspan.backfill.source import SourceError
from chatspan.devserver import DevServer
from tests.backfill.batch_kit import (
    DetailReceiver,
    Notices,
    detail_receiver,
    exporter_for,
    finished,
    line_span_id,
    root_span_id,
    run,
    window,
)
from tests.devserver.batchkit import CHAT, Clock, batch_server, chat_line, client_for


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock: Clock) -> Iterator[DevServer]:
    with batch_server(clock) as server:
        yield server


@pytest.fixture
def client(server: DevServer) -> Iterator[openai.OpenAI]:
    # The SDK's own retries are what carries a run through 429/500 storms.
    with client_for(server, max_retries=3) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[DetailReceiver]:
    with detail_receiver() as receiver:
        yield receiver


def ten_line_batch(client: openai.OpenAI, clock: Clock) -> tuple[str, set[str]]:
    """A finished batch of ten chat lines; its id and the eleven span ids it must give."""
    batch = finished(client, clock, [chat_line(f"t-{n}", f"line {n}") for n in range(10)], CHAT)
    return batch.id, {root_span_id(batch.id)} | {line_span_id(batch.id, f"t-{n}") for n in range(10)}


def span_ids(receiver: DetailReceiver) -> set[str]:
    return {span.span_id for span in receiver.spans()}


def test_a_refusing_collector_that_recovers(
    client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    _, expected = ten_line_batch(client, clock)
    # More refusals than the OTLP exporter retries within its timeout: VerifiedExport asks again.
    receiver.refuse_next = 6
    tally = run(
        client, exporter_for(receiver, attempts=10), tmp_path / "cp.json", window(clock), batch_size=4
    )
    assert receiver.refuse_next == 0
    assert span_ids(receiver) == expected
    assert receiver.duplicates() == {}
    assert (tally.exported, tally.failed) == (11, 0)


def test_a_dead_collector_mid_batch_then_a_rerun(
    client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    batch_id, expected = ten_line_batch(client, clock)
    path = tmp_path / "cp.json"
    sends = 0

    def collector_dies_after_the_first_send() -> bool:
        nonlocal sends
        sends += 1
        receiver.refuse_all = True
        return False

    with pytest.raises(ExportFailed):
        run(
            client,
            exporter_for(receiver, attempts=2),
            path,
            window(clock),
            batch_size=4,
            stop=collector_dies_after_the_first_send,
        )
    assert sends == 1
    state = load_batches(path, "batch-test")
    assert (state.current, state.confirmed, state.done) == (batch_id, 4, {})
    assert len(receiver.spans()) == 4
    receiver.refuse_all = False
    tally = run(client, exporter_for(receiver), path, window(clock), batch_size=4)
    assert tally.exported == 7  # only what the collector had not confirmed
    assert span_ids(receiver) == expected
    assert receiver.duplicates() == {}
    assert set(load_batches(path, "batch-test").done) == {batch_id}


def test_stop_is_honoured_between_sends(
    client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    _, expected = ten_line_batch(client, clock)
    path = tmp_path / "cp.json"
    with pytest.raises(KeyboardInterrupt):
        run(client, exporter_for(receiver), path, window(clock), batch_size=3, stop=lambda: True)
    assert len(receiver.spans()) == 3
    assert load_batches(path, "batch-test").confirmed == 3
    run(client, exporter_for(receiver), path, window(clock), batch_size=3)
    assert span_ids(receiver) == expected
    assert receiver.duplicates() == {}


def test_429_and_500_storms_on_the_list_and_the_content(
    server: DevServer, client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    _, first = ten_line_batch(client, clock)
    _, second = ten_line_batch(client, clock)
    server.set_faults(
        ["batches.list:429;times=2;retry-after=0", "files.content:500;times=2", "files.retrieve:503;times=1"]
    )
    tally = run(client, exporter_for(receiver), tmp_path / "cp.json", window(clock))
    assert span_ids(receiver) == first | second
    assert receiver.duplicates() == {}
    assert tally.exported == 22


def test_a_truncated_file_counts_its_broken_line_and_is_read_again(
    server: DevServer, client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    batch_id, expected = ten_line_batch(client, clock)
    path = tmp_path / "cp.json"
    server.set_faults(["files.content:truncated"])
    notices = Notices()
    tally = run(client, exporter_for(receiver), path, window(clock), notices=notices, batch_size=3)
    ((noted_id, role, number, problem),) = notices.malformed
    assert (noted_id, role, problem) == (batch_id, "output", "not valid JSON")
    assert len(receiver.spans()) == number  # the root and the lines before the cut
    assert tally.skipped == 1
    ((noted_id, note),) = notices.notes
    assert noted_id == batch_id and f"{10 - number} lines short" in note
    state = load_batches(path, "batch-test")
    assert (state.done, state.current, state.confirmed) == ({}, batch_id, number)
    # The whole file again: the cut line and the rest are sent, nothing twice.
    server.set_faults([])
    run(client, exporter_for(receiver), path, window(clock), batch_size=3)
    assert span_ids(receiver) == expected
    assert receiver.duplicates() == {}
    assert set(load_batches(path, "batch-test").done) == {batch_id}


def test_a_stream_that_breaks_midway_resumes(
    server: DevServer, client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    _, expected = ten_line_batch(client, clock)
    path = tmp_path / "cp.json"
    server.set_faults(["files.content:drop-after=5"])
    with pytest.raises(SourceError, match="broke off after line 5"):
        run(client, exporter_for(receiver), path, window(clock), batch_size=2)
    assert load_batches(path, "batch-test").confirmed == 6  # root and five lines, three sends of two
    server.set_faults([])
    run(client, exporter_for(receiver), path, window(clock), batch_size=2)
    assert span_ids(receiver) == expected
    assert receiver.duplicates() == {}


def test_an_expired_output_file_is_reported_and_skipped(
    client: openai.OpenAI, clock: Clock, receiver: DetailReceiver, tmp_path: Path
) -> None:
    expiring = finished(
        client,
        clock,
        [chat_line("x-0", "soon gone")],
        CHAT,
        output_expires_after={"anchor": "created_at", "seconds": 3600},
    )
    clock.advance(3600)
    kept, expected = ten_line_batch(client, clock)
    notices = Notices()
    path = tmp_path / "cp.json"
    tally = run(client, exporter_for(receiver), path, window(clock), notices=notices)
    ((skipped_id, why),) = notices.skipped
    assert skipped_id == expiring.id
    assert f"the output file {expiring.output_file_id} is gone" in why
    assert span_ids(receiver) == expected
    assert tally.skipped == 1
    assert set(load_batches(path, "batch-test").done) == {kept}  # a later run reports it again
    again = Notices()
    run(client, exporter_for(receiver), path, window(clock), notices=again)
    assert [batch_id for batch_id, _ in again.skipped] == [expiring.id]
    assert receiver.duplicates() == {}


def test_malformed_lines_are_yielded_with_their_problem(client: openai.OpenAI) -> None:
    from chatspan.backfill.batches import BatchSource

    good = {"id": "batch_req_1", "custom_id": "a", "response": None, "error": {"code": "x", "message": "y"}}
    data = b"\n".join(
        [
            json.dumps(good).encode(),
            b"{not json",
            b"",
            b"[1, 2]",
            json.dumps({"id": "batch_req_2"}).encode(),
            json.dumps({"custom_id": 7}).encode(),
            json.dumps({**good, "custom_id": "b"}).encode(),
        ]
    )
    file_id = client.files.create(file=("odd.jsonl", data), purpose="batch").id
    lines = list(BatchSource(client).lines(file_id, "output"))
    assert [(line.number, line.problem) for line in lines] == [
        (1, None),
        (2, "not valid JSON"),
        (4, "not a JSON object"),
        (5, "no custom_id"),
        (6, "no custom_id"),
        (7, None),
    ]
    assert [line.data["custom_id"] for line in lines if line.data is not None] == ["a", "b"]
