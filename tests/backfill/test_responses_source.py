"""The id list, its batches and its checkpoint, without a server: line numbers, batch edges, the
prefix digest, and what a damaged or foreign checkpoint says."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from chatspan.backfill import checkpoint as checkpoints
from chatspan.backfill.responses import IdLine, StoredResponseSource, read_ids
from chatspan.backfill.show import REPORTED_SKIPS, SkipNotices
from chatspan.backfill.source import ordered_map

TEXT = b"# comment\n\nresp_a1\n  resp_b2 \r\nnot an id\nresp_c3\n# trailing\n\n"


class _Responses:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def retrieve(self, response_id: str) -> Any:
        self.asked.append(response_id)
        return type("Response", (), {"id": response_id})()


class _Client:
    """Just what StoredResponseSource asks of a client."""

    def __init__(self) -> None:
        self.responses = _Responses()
        self.base_url = "http://127.0.0.1:1/v1"

    def with_options(self, **options: Any) -> _Client:
        return self


def source(client: _Client) -> StoredResponseSource:
    made: Any = client
    return StoredResponseSource(made, concurrency=2)


def test_entries_strip_whitespace_skip_comments_and_blanks_and_number_lines() -> None:
    entries = list(read_ids(TEXT).entries(0))
    assert [(e.number, e.response_id, e.text) for e in entries] == [
        (3, "resp_a1", "resp_a1"),
        (4, "resp_b2", "resp_b2"),
        (5, None, "not an id"),
        (6, "resp_c3", "resp_c3"),
    ]


@pytest.mark.parametrize("line", ["resp_", "resp_a b", "RESP_a1", "msg_a1", "resp_a1;rm", "resp_a1\ufeff"])
def test_what_is_not_a_response_id(line: str) -> None:
    (entry,) = read_ids(line.encode() + b"\n").entries(0)
    assert entry.response_id is None


def test_batches_end_on_their_last_id_and_the_last_takes_the_trailing_lines() -> None:
    client = _Client()
    ids = read_ids(TEXT)
    batches = list(source(client).batches(ids, start=0, size=2))
    assert [b.end for b in batches] == [4, 8]
    assert [[r.id for r in b.responses] for b in batches] == [["resp_a1", "resp_b2"], ["resp_c3"]]
    assert [line.number for line in batches[1].invalid] == [5]
    # Resumed after the first batch: the rest only; after the last: nothing at all.
    assert [b.end for b in source(client).batches(ids, start=4, size=2)] == [8]
    assert list(source(client).batches(ids, start=8, size=2)) == []
    assert client.responses.asked == ["resp_a1", "resp_b2", "resp_c3", "resp_c3"]


def test_a_byte_order_mark_before_the_first_id_is_not_part_of_it() -> None:
    (entry,) = read_ids("\ufeffresp_a1\n".encode()).entries(0)
    assert entry.response_id == "resp_a1"


def test_an_id_on_the_last_line_without_a_newline_is_read() -> None:
    ids = read_ids(b"resp_a1\nresp_b2")
    (batch,) = source(_Client()).batches(ids, start=0, size=10)
    assert [r.id for r in batch.responses] == ["resp_a1", "resp_b2"] and batch.end == 2


def test_the_digest_covers_every_byte_of_the_prefix() -> None:
    ids = read_ids(TEXT)
    assert ids.digest(4) == read_ids(TEXT + b"resp_d4\n").digest(4), "appending keeps the prefix"
    assert ids.digest(4) != read_ids(TEXT.replace(b"resp_b2 \r\n", b"resp_b2\n")).digest(4)
    assert ids.digest(0) == read_ids(b"").digest(0)


def test_a_line_checkpoint_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    state = checkpoints.LineCheckpoint(scope="s1")
    state.confirm(4, "abc", 2)
    state.confirm(9, "def", 1)
    checkpoints.save(path, state)
    assert checkpoints.load_lines(path, "s1") == checkpoints.LineCheckpoint("s1", 9, "def", 3)
    assert checkpoints.load_lines(tmp_path / "none.json", "s1") == checkpoints.LineCheckpoint("s1")


@pytest.mark.parametrize(
    "content",
    [
        "{",
        json.dumps({"version": 2, "scope": "s1", "covered": [], "current": None, "tail": {}}),
        json.dumps({"version": 2, "kind": "lines", "scope": "s1", "lines": -1, "digest": ""}),
        json.dumps({"version": 2, "kind": "lines", "scope": "s1", "lines": "x", "digest": ""}),
        json.dumps({"version": 3, "kind": "lines", "scope": "s1", "lines": 1, "digest": ""}),
        json.dumps([1, 2]),
    ],
    ids=["truncated", "stored-backfill", "negative", "not-a-number", "newer", "not-an-object"],
)
def test_a_damaged_or_other_checkpoint_says_restart(tmp_path: Path, content: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(content)
    with pytest.raises(checkpoints.CheckpointError, match="damaged; run again with --restart"):
        checkpoints.load_lines(path, "s1")


def test_a_checkpoint_of_another_id_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    checkpoints.save(path, checkpoints.LineCheckpoint(scope="s1", lines=3, digest="abc"))
    with pytest.raises(checkpoints.CheckpointError, match="another source or id list"):
        checkpoints.load_lines(path, "s2")


def test_the_scope_names_the_api_and_the_input() -> None:
    scope = checkpoints.responses_scope("http://h/v1/", "p", "file:/a")
    assert scope == checkpoints.responses_scope("http://h/v1", "p", "file:/a")
    others = {
        checkpoints.responses_scope("http://other/v1", "p", "file:/a"),
        checkpoints.responses_scope("http://h/v1", "q", "file:/a"),
        checkpoints.responses_scope("http://h/v1", "p", "file:/b"),
        checkpoints.scope_key("http://h/v1", "p", None, {}),
    }
    assert scope not in others and len(others) == 4


def test_ordered_map_keeps_order_and_raises_the_first_failure() -> None:
    def slow_first(value: int) -> int:
        if value == 0:
            time.sleep(0.2)
        return value * 10

    assert ordered_map(slow_first, list(range(8)), 4) == [value * 10 for value in range(8)]

    def fails(value: int) -> int:
        if value in (3, 5):
            raise ValueError(str(value))
        return value

    with pytest.raises(ValueError, match="3"):
        ordered_map(fails, list(range(8)), 1)
    assert ordered_map(fails, [], 4) == []


def test_ordered_map_workers_never_hold_the_process_at_exit() -> None:
    seen: list[bool] = []

    def record(value: int) -> int:
        seen.append(threading.current_thread().daemon)
        return value

    ordered_map(record, [1, 2, 3], 2)
    assert seen == [True, True, True]


def test_skip_notices_name_the_first_twenty_of_each_kind_and_count_them_all() -> None:
    out = io.StringIO()
    notices = SkipNotices(out)
    assert notices.hint() is None
    for index in range(25):
        notices.on_missing(f"resp_{index}")
        notices.on_invalid(IdLine(index + 1, None, "x" * 200))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 * REPORTED_SKIPS == 40
    assert lines[0] == "chatspan: skipped resp_0: no stored response"
    assert lines[1] == f"chatspan: skipped line 1: not a response id: {'x' * 80!r}"
    hint = notices.hint()
    assert hint is not None and "skipped 25 ids" in hint and "25 lines" in hint
