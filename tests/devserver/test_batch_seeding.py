"""Seeded batches (`DevServer(seed_batches=N)`): the mix, the times, determinism, and the large one.

The large output file (50,000 lines, about 43 MB) is streamed through the SDK while the process's
resident memory is sampled: it must stay within `STREAM_RSS_BOUND`, far below the file's size, so
neither the server nor the client holds the file whole.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import replace

import pytest

from chatspan.devserver import DevServer
from chatspan.devserver.batch_seeding import LARGE_LINES, seed_batches
from chatspan.devserver.batches import BatchStore, engine_lines
from chatspan.devserver.files import FileStore
from tests.devserver.batchkit import Clock, client_for, usage_of

DAY = 86_400
STREAM_RSS_BOUND = 15_000_000
"""Bytes the process may grow by while the 50,000-line file is streamed (measured: about 1 MB)."""


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_the_mix_of_seeded_batches() -> None:
    clock = Clock()
    with DevServer(clock=clock, seed_batches=8, seed=5) as server, client_for(server) as client:
        batches = list(client.batches.list())
        assert len(batches) == 8
        statuses = Counter(batch.status for batch in batches)
        assert statuses == Counter(completed=5, expired=1, cancelled=1, failed=1)
        assert [batch.created_at for batch in batches] == sorted(
            (b.created_at for b in batches), reverse=True
        )
        for batch in batches:
            assert clock.now - 30 * DAY <= batch.created_at <= clock.now
            ended = batch.completed_at or batch.expired_at or batch.cancelled_at or batch.failed_at
            assert ended is not None and ended <= clock.now
            assert client.files.retrieve(batch.input_file_id).purpose == "batch"
        (failed,) = [batch for batch in batches if batch.status == "failed"]
        assert failed.errors is not None and failed.errors.data is not None
        assert [(error.line, error.code) for error in failed.errors.data] == [
            (3, "url_mismatch"),
            (5, "invalid_json_line"),
        ]
        (large,) = [
            batch for batch in batches if batch.request_counts and batch.request_counts.total == LARGE_LINES
        ]
        assert large.status == "completed" and usage_of(large)["total_tokens"] > 0
        assert any(batch.metadata and "chatspan.traceparent" in batch.metadata for batch in batches)
        endpoints = {batch.endpoint for batch in batches}
        assert endpoints == {"/v1/chat/completions", "/v1/responses", "/v1/embeddings"}
        with_errors = [b for b in batches if b.status == "completed" and b.error_file_id is not None]
        assert with_errors, "a completed seeded batch has lines in its error file"


def test_seeding_is_deterministic() -> None:
    def snapshot(seed: int) -> list[tuple[str, str, bytes]]:
        with DevServer(clock=Clock(), seed_batches=4, seed=seed) as server, client_for(server) as client:
            found: list[tuple[str, str, bytes]] = []
            for batch in client.batches.list():
                small = batch.request_counts is not None and batch.request_counts.total < LARGE_LINES
                data = (
                    client.files.content(batch.output_file_id).content
                    if small and batch.output_file_id
                    else b""
                )
                found.append((batch.id, batch.status, data))
            return found

    assert snapshot(1) == snapshot(1)
    assert [batch_id for batch_id, _, _ in snapshot(1)] != [batch_id for batch_id, _, _ in snapshot(2)]


def test_seeding_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="negative"):
        seed_batches(BatchStore(), FileStore(), -1, now=0)
    with pytest.raises(ValueError, match="days"):
        seed_batches(BatchStore(), FileStore(), 1, days=0, now=0)
    with pytest.raises(ValueError, match="batch_seconds"):
        DevServer(batch_seconds=-1)


def test_large_output_reads_as_the_engine_would_answer() -> None:
    """The large batch's template lines equal what the chat engine answers its input lines."""
    batches, files = BatchStore(), FileStore()
    seed_batches(batches, files, 1, seed=9, now=2_000_000_000)
    (record,) = batches.all()
    run = replace(record.run(), ran=20)

    def comparable(data: bytes) -> dict[str, object]:
        line = json.loads(data)
        body = line["response"]["body"]
        return {
            **line,
            "id": None,
            "response": {**line["response"], "request_id": None, "body": {**body, "id": None}},
        }

    templated = [comparable(line.data) for line in record.produce(run)]
    answered = [comparable(line.data) for line in engine_lines(run)]
    assert len(templated) == 20
    assert templated == answered
    tokens = [line.tokens for line in record.produce(run)]
    assert tokens == [line.tokens for line in engine_lines(run)]


def test_large_output_streams_with_flat_memory() -> None:
    with DevServer(clock=Clock(), seed_batches=1, seed=1) as server, client_for(server) as client:
        (large,) = client.batches.list().data
        assert large.output_file_id is not None
        size = client.files.retrieve(large.output_file_id).bytes
        assert size > 2 * STREAM_RSS_BOUND  # the bound would catch a server or client holding the file
        before = peak = _rss()
        count = streamed = 0
        with client.files.with_streaming_response.content(large.output_file_id) as response:
            for line in response.iter_lines():
                if count % 1_000 == 0:
                    assert json.loads(line)["custom_id"] == f"request-{count:06d}"
                    peak = max(peak, _rss())
                count += 1
                streamed += len(line) + 1
    assert count == LARGE_LINES
    assert streamed == size
    assert peak - before < STREAM_RSS_BOUND


def test_large_input_file_is_what_its_size_says() -> None:
    with DevServer(clock=Clock(), seed_batches=1, seed=1) as server, client_for(server) as client:
        (large,) = client.batches.list().data
        size = client.files.retrieve(large.input_file_id).bytes
        count = streamed = 0
        with client.files.with_streaming_response.content(large.input_file_id) as response:
            for line in response.iter_lines():
                if count % 5_000 == 0:
                    request = json.loads(line)
                    assert request["custom_id"] == f"request-{count:06d}"
                    assert (request["method"], request["url"]) == ("POST", "/v1/chat/completions")
                count += 1
                streamed += len(line) + 1
    assert (count, streamed) == (LARGE_LINES, size)
