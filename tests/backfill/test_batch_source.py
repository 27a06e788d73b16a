"""BatchSource on its own: the list's window and status checks, paging, and the input-file join."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from chatspan.backfill.batches import BatchSelection, BatchSource
from chatspan.backfill.source import SourceError
from chatspan.backfill.window import Selection
from chatspan.devserver import DevServer
from tests.backfill.batch_kit import finished
from tests.devserver.batchkit import CHAT, Clock, batch_server, chat_line, client_for, create, jsonl, upload
from tests.support.transport import mock_client, response


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


def test_listing_pages_through_every_batch_newest_first(client: openai.OpenAI, clock: Clock) -> None:
    made = [finished(client, clock, [chat_line(f"p-{n}", "x")], CHAT) for n in range(5)]
    running = create(client, upload(client, [chat_line("run", "x")]))
    everything = BatchSelection(Selection(since=0, until=int(clock.now)))
    listed = BatchSource(client, page_size=2).listed(everything)
    assert [batch.id for batch in listed.batches] == [batch.id for batch in reversed(made)]
    assert listed.running == [running.id]
    # The list stops at the window's start: older batches are not even read.
    recent = BatchSelection(Selection(since=made[3].created_at, until=int(clock.now)))
    assert [batch.id for batch in BatchSource(client, page_size=2).listed(recent).batches] == [
        made[4].id,
        made[3].id,
    ]


def test_a_listed_batch_without_created_at_is_an_error() -> None:
    page = {
        "object": "list",
        "data": [{"id": "batch_1", "object": "batch", "status": "completed", "created_at": None}],
        "has_more": False,
    }

    def answer(request: Any) -> Any:
        return response(200, {"content-type": "application/json"}, json.dumps(page).encode())

    with pytest.raises(SourceError, match="batch 'batch_1' has no usable 'created_at'"):
        BatchSource(mock_client(answer)).listed(BatchSelection(Selection(since=0, until=2**40)))


def test_the_input_join_reads_bodies_back_by_custom_id(client: openai.OpenAI) -> None:
    lines = [chat_line(f"in-{n}", f"text {n}") for n in range(4)]
    data = jsonl(lines) + b"{broken\n" + json.dumps({"method": "POST"}).encode() + b"\n"
    file_id = client.files.create(file=("in.jsonl", data), purpose="batch").id
    with BatchSource(client).input_index(file_id) as index:
        assert len(index) == 4 and not index.truncated
        assert index.request("in-2") == lines[2]["body"]
        assert index.request("in-0") == lines[0]["body"]
        assert index.request("missing") is None


def test_the_input_join_stops_at_its_budget(client: openai.OpenAI) -> None:
    lines = [chat_line(f"in-{n}", f"text {n}") for n in range(4)]
    size = len(jsonl(lines[:2])) - 2  # the spool keeps the lines without their newlines
    file_id = upload(client, lines)
    with BatchSource(client).input_index(file_id, budget=size) as index:
        assert index.truncated
        assert len(index) == 2
        assert index.request("in-1") == lines[1]["body"]
        assert index.request("in-2") is None
