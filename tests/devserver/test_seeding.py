"""Seeded stored completions: deterministic, realistic, valid, and cheap at 100,000."""

from __future__ import annotations

import collections
import gc
import re
import time
import tracemalloc
from typing import Any

import pytest

from chatspan.devserver import DevServer
from chatspan.devserver.completions import prompt_tokens
from chatspan.devserver.seeding import DAY, seeded_entries
from chatspan.devserver.store import CompletionStore, StoredCompletion
from tests.support.openapi import undeclared_properties, validate

NOW = 1_750_000_000
STORED_ONLY = {
    "request_id",
    "seed",
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "tools",
    "tool_choice",
    "response_format",
    "input_user",
}


@pytest.fixture(scope="module")
def records() -> list[StoredCompletion]:
    """600 seeded records, built whole."""
    store = CompletionStore()
    store.put_entries(seeded_entries(600, days=30, seed=42, now=NOW))
    snapshot = store.snapshot()
    return [snapshot[completion_id] for completion_id in snapshot]


def test_deterministic_for_a_seed() -> None:
    first = seeded_entries(50, seed=9, now=NOW)
    again = seeded_entries(50, seed=9, now=NOW)
    other = seeded_entries(50, seed=10, now=NOW)
    assert [(e.id, e.created, e.model, e.metadata) for e in first] == [
        (e.id, e.created, e.model, e.metadata) for e in again
    ]
    assert [entry.record().as_object() for entry in first] == [entry.record().as_object() for entry in again]
    assert {entry.id for entry in first}.isdisjoint(entry.id for entry in other)


def test_created_spread_over_the_window_never_in_the_future(records: list[StoredCompletion]) -> None:
    created = [record.created for record in records]
    assert min(created) >= NOW - 30 * DAY and max(created) <= NOW
    assert max(created) - min(created) > 25 * DAY  # spread, not bunched
    per_second = collections.Counter(created)
    assert any(count > 1 for count in per_second.values())  # bursts share a second
    # The server seeds from the current time: it lies between these two, however long seeding takes.
    before = time.time()
    with DevServer(seed_stored=200, seed_days=2) as server:
        after = time.time()
        seen = [server.stored[completion_id].created for completion_id in server.stored]
    assert before - 2 * DAY - 1 <= min(seen) and max(seen) <= after


def test_models_and_metadata_mix(records: list[StoredCompletion]) -> None:
    requested = collections.Counter(str(record.request["model"]) for record in records)
    assert {"gpt-4o-mini", "gpt-4o", "o4-mini", "gpt-4.1-nano"} <= set(requested)
    assert {record.model for record in records} <= {
        "gpt-4o-mini-2024-07-18",
        "gpt-4o-2024-08-06",
        "o4-mini-2025-04-16",
        "gpt-4.1-nano-2025-04-14",
    }
    assert {record.metadata.get("team") for record in records} == {None, "search", "support", "billing"}
    assert {record.metadata.get("env") for record in records} == {None, "prod", "staging"}
    assert sum(not record.metadata for record in records) > 50


def test_contents_are_realistic(records: list[StoredCompletion]) -> None:
    assert all([m["role"] for m in record.messages[:2]] == ["system", "user"] for record in records)
    tool_rounds = [r for r in records if any(m["role"] == "tool" for m in r.messages)]
    tool_answers = [r for r in records if r.completion["choices"][0]["finish_reason"] == "tool_calls"]
    assert tool_rounds and tool_answers
    for record in tool_rounds + tool_answers:
        assert record.request["tools"]
    for name in ("temperature", "seed", "top_p"):
        assert 0 < sum(record.request[name] is not None for record in records) < len(records)
    assert len({record.request_id for record in records}) == len(records)
    assert all(re.fullmatch(r"req_[0-9a-f]{32}", record.request_id) for record in records)
    assert all(re.fullmatch(r"chatcmpl-[A-Za-z0-9]{29}", record.id) for record in records)


def test_usage_adds_up(records: list[StoredCompletion]) -> None:
    cached = 0
    for record in records:
        usage: dict[str, Any] = record.completion["usage"]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        assert usage["prompt_tokens"] == prompt_tokens(list(record.messages))
        hit = usage["prompt_tokens_details"]["cached_tokens"]
        assert hit % 128 == 0 and hit <= usage["prompt_tokens"]
        cached += hit > 0
        reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
        if record.model.startswith("o4-mini"):
            assert 0 < reasoning < usage["completion_tokens"]
            assert record.request["temperature"] is None and record.request["top_p"] is None
        else:
            assert reasoning == 0
    assert cached > 0


def test_records_match_the_spec(records: list[StoredCompletion]) -> None:
    for record in records[::30]:
        shown = record.as_object()
        validate("CreateChatCompletionResponse", shown)
        assert set(undeclared_properties("CreateChatCompletionResponse", shown)) <= {
            f"$.{name}" for name in STORED_ONLY
        }


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="negative"):
        seeded_entries(-1)
    with pytest.raises(ValueError, match="days"):
        DevServer(seed_stored=1, seed_days=0)


def test_seeding_again_replaces_the_same_completions() -> None:
    server = DevServer()
    assert server.seed_stored(30, seed=4, now=NOW) == 30
    server.seed_stored(30, seed=4, now=NOW)
    assert len(server.stored) == 30
    server.seed_stored(30, seed=5, now=NOW)
    assert len(server.stored) == 60


def test_100k_seed() -> None:
    # How fast seeding and paging are is measured side by side in bench/backfill.py, not asserted here.
    store = CompletionStore()
    store.put_entries(seeded_entries(100_000, seed=1, now=NOW))
    assert len(store) == 100_000
    page = store.page(limit=100, order="desc")
    assert len(page.records) == 100 and page.has_more


def test_100k_seed_in_tens_of_megabytes() -> None:
    gc.collect()
    tracemalloc.start()
    try:
        store = CompletionStore()
        store.put_entries(seeded_entries(20_000, seed=2, now=NOW))
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(store) == 20_000
    assert held / 20_000 < 600  # bytes a completion: about 370, so 100,000 hold about 37 MB
