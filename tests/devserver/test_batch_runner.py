"""Batch input validation and the line runner, without a server: each check, ids, embeddings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chatspan.devserver.batch_input import (
    CHAT,
    EMBEDDINGS,
    MAX_REPORTED_ERRORS,
    MAX_TASKS,
    RESPONSES,
    check_body,
    known_model,
    plan_batch,
)
from chatspan.devserver.batch_runner import BatchRun, OutputLine
from chatspan.devserver.batches import BatchRecord, BatchStore, engine_lines
from chatspan.devserver.embeddings import embedding_response
from chatspan.devserver.errors import ApiError
from chatspan.devserver.files import FileStore, GeneratedContent, StaticContent
from chatspan.devserver.stable import stable_ids
from tests.devserver.batchkit import chat_line, jsonl


def _codes(data: bytes, endpoint: str = CHAT) -> list[tuple[int | None, str, str | None]]:
    return [(e["line"], e["code"], e["param"]) for e in plan_batch(StaticContent(data), endpoint).errors]


@pytest.mark.parametrize(
    ("line", "code", "param"),
    [
        (b"[1, 2]", "invalid_json_line", None),
        (b"not json", "invalid_json_line", None),
        (
            b'{"method": "POST", "url": "/v1/chat/completions", "body": {}}',
            "missing_required_parameter",
            "custom_id",
        ),
        (
            b'{"custom_id": "a", "url": "/v1/chat/completions", "body": {}}',
            "missing_required_parameter",
            "method",
        ),
        (b'{"custom_id": "a", "method": "POST", "body": {}}', "missing_required_parameter", "url"),
        (
            b'{"custom_id": 7, "method": "POST", "url": "/v1/chat/completions", "body": {}}',
            "invalid_type",
            "custom_id",
        ),
        (
            b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": []}',
            "invalid_type",
            "body",
        ),
    ],
)
def test_each_line_check(line: bytes, code: str, param: str | None) -> None:
    assert _codes(jsonl([chat_line("first", "x")]) + line + b"\n") == [(2, code, param)]


def test_blank_lines_are_no_requests() -> None:
    plan = plan_batch(StaticContent(jsonl([chat_line("a", "x")]) + b"\n  \n"), CHAT)
    assert (plan.total, plan.errors) == (1, ())


def test_empty_file() -> None:
    assert _codes(b"\n") == [(None, "empty_file", None)]


def test_too_many_tasks() -> None:
    line = json.dumps(chat_line("x", "y")).encode() + b"\n"

    def lines() -> Iterator[bytes]:
        for number in range(MAX_TASKS + 1):
            yield line.replace(b'"x"', f'"x{number}"'.encode(), 1)

    codes = [error["code"] for error in plan_batch(GeneratedContent(lines), CHAT).errors]
    assert codes == ["too_many_tasks"]


def test_reported_errors_are_capped() -> None:
    plan = plan_batch(StaticContent(b"bad\n" * (MAX_REPORTED_ERRORS + 20)), CHAT)
    assert len(plan.errors) == MAX_REPORTED_ERRORS
    assert plan.total == MAX_REPORTED_ERRORS + 20


def test_lines_that_will_fail_are_counted() -> None:
    lines = [chat_line("a", "x"), chat_line("b", "x", n=0), chat_line("c", "x", temperature=5)]
    plan = plan_batch(StaticContent(jsonl(lines)), CHAT)
    assert plan.succeeds == b"\x01\x00\x00"
    assert (plan.successes(1), plan.successes(3)) == (1, 1)


@pytest.mark.parametrize(
    ("endpoint", "body", "param"),
    [
        (RESPONSES, {"model": "gpt-4.1", "input": "x", "stream": True}, "stream"),
        (
            RESPONSES,
            {"model": "gpt-4.1", "input": "x", "previous_response_id": "resp_1"},
            "previous_response_id",
        ),
        (RESPONSES, {"model": "gpt-4.1", "input": "x", "reasoning": {"effort": "low"}}, "reasoning.effort"),
        (CHAT, {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream": True}, "stream"),
        (EMBEDDINGS, {"input": "x"}, None),
        (EMBEDDINGS, {"model": 3, "input": "x"}, "model"),
        (EMBEDDINGS, {"model": "text-embedding-3-small"}, "input"),
        (EMBEDDINGS, {"model": "text-embedding-3-small", "input": []}, "input"),
        (EMBEDDINGS, {"model": "text-embedding-3-small", "input": [""]}, "input"),
        (EMBEDDINGS, {"model": "text-embedding-3-small", "input": "x", "dimensions": 0}, "dimensions"),
        (EMBEDDINGS, {"model": "text-embedding-3-small", "input": "x", "dimensions": True}, "dimensions"),
        (EMBEDDINGS, {"model": "gpt-4o", "input": "x"}, None),
    ],
)
def test_bodies_the_endpoints_refuse(endpoint: str, body: dict[str, Any], param: str | None) -> None:
    with pytest.raises(ApiError) as raised:
        check_body(endpoint, body)
    assert raised.value.param == param


def test_known_models() -> None:
    assert all(
        known_model(CHAT, model) for model in ("gpt-4o", "o4-mini", "chatgpt-4o-latest", "ft:gpt-4o:x")
    )
    assert not known_model(CHAT, "llama-3")
    assert known_model(EMBEDDINGS, "text-embedding-3-large") and not known_model(EMBEDDINGS, "gpt-4o")


def test_stable_ids_keep_prefix_and_length() -> None:
    body = {
        "id": "chatcmpl-AbC123",
        "choices": [{"message": {"tool_calls": [{"id": "call_xyzXYZ"}]}}],
        "x": "id",
    }
    once, again = stable_ids(body, "batch_1:0"), stable_ids(body, "batch_1:0")
    assert once == again
    assert once["id"].startswith("chatcmpl-") and len(once["id"]) == len(body["id"])
    call_id = once["choices"][0]["message"]["tool_calls"][0]["id"]
    assert call_id.startswith("call_") and len(call_id) == len("call_xyzXYZ") and call_id.isascii()
    assert once["x"] == "id"
    assert stable_ids(body, "batch_1:1")["id"] != once["id"]
    hexed = stable_ids({"id": "resp_0123abcd"}, "s")["id"]
    assert hexed.startswith("resp_") and all(c in "0123456789abcdef" for c in hexed[5:])


def test_embeddings_are_unit_vectors_derived_from_the_text() -> None:
    answer = embedding_response(
        {"model": "text-embedding-3-small", "input": ["one", "two"], "dimensions": 32}
    )
    vectors = [item["embedding"] for item in answer["data"]]
    assert [len(vector) for vector in vectors] == [32, 32]
    assert all(abs(sum(value * value for value in vector) - 1) < 1e-3 for vector in vectors)
    assert vectors[0] != vectors[1]
    again = embedding_response({"model": "text-embedding-3-small", "input": "one", "dimensions": 32})
    assert again["data"][0]["embedding"] == vectors[0]
    assert answer["usage"] == {"prompt_tokens": 2, "total_tokens": 2}


def test_a_finished_batch_is_run_once_to_settle() -> None:
    """Settling runs a batch's lines to total them; later requests must not run them again."""
    runs: list[int] = []

    def produce(run: BatchRun) -> Iterator[OutputLine]:
        runs.append(run.ran)
        return engine_lines(run)

    content = StaticContent(jsonl([chat_line("a", "x")]))
    record = BatchRecord(
        "batch_1", CHAT, "file-1", content, 0.0, plan_batch(content, CHAT), 1.0, produce=produce
    )
    batches, files = BatchStore(), FileStore()
    batches.put(record)
    batches.settle(2.9, files)
    assert runs == []
    batches.settle(3.0, files)
    batches.settle(4.0, files)
    assert runs == [1]
    settled = batches.get("batch_1")
    assert settled is not None and settled.outcome is not None and settled.outcome.output_file_id is not None
    assert len(files) == 1
