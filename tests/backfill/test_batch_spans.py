"""The spans of a batch trace, unit by unit: ids, the root span, each kind of line; and the checkpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import StatusCode

from chatspan.backfill.batch_checkpoint import BatchCheckpoint, batches_scope, load_batches, save_batches
from chatspan.backfill.batch_spans import batch_end_time, batch_line_span, batch_span, batch_span_ids
from chatspan.backfill.checkpoint import CheckpointError
from chatspan.backfill.spans import span_ids

RESOURCE = Resource.create({"service.name": "unit"})
CREATED = 1_800_000_000
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def a_batch(**fields: Any) -> dict[str, Any]:
    batch: dict[str, Any] = {
        "id": "batch_abc",
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "status": "completed",
        "completion_window": "24h",
        "input_file_id": "file-in",
        "output_file_id": "file-out",
        "error_file_id": None,
        "created_at": CREATED,
        "in_progress_at": CREATED + 10,
        "finalizing_at": CREATED + 20,
        "completed_at": CREATED + 30,
        "request_counts": {"total": 2, "completed": 2, "failed": 0},
        "usage": {"input_tokens": 40, "output_tokens": 7, "input_tokens_details": {"cached_tokens": 8}},
        "metadata": {"team": "search"},
        "model": "gpt-4o-mini-2024-07-18",
    }
    batch.update(fields)
    return batch


def chat_output(custom_id: str = "req-1", **body: Any) -> dict[str, Any]:
    return {
        "id": "batch_req_1",
        "custom_id": custom_id,
        "response": {
            "status_code": 200,
            "request_id": "req_123",
            "body": {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": CREATED + 15,
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
                "service_tier": "default",
                **body,
            },
        },
        "error": None,
    }


def test_ids_are_deterministic_and_distinct() -> None:
    trace, root = batch_span_ids("batch_abc")
    assert batch_span_ids("batch_abc") == (trace, root)
    line_trace, line = batch_span_ids("batch_abc", "req-1")
    assert line_trace == trace  # one trace per batch
    assert line not in {
        root,
        batch_span_ids("batch_abc", "req-2")[1],
        batch_span_ids("batch_xyz", "req-1")[1],
    }
    assert batch_span_ids("batch_xyz")[0] != trace
    # Not the ids of a stored completion of the same name: the two sources never collide.
    assert span_ids("batch_abc") != (trace, root)
    assert batch_span_ids("batch_\ud800", "\udfff") == batch_span_ids("batch_\ud800", "\udfff")


def test_the_root_span() -> None:
    span = batch_span(a_batch(), resource=RESOURCE)
    assert span.name == "batch batch_abc"
    assert span.parent is None
    assert span.context is not None
    assert (span.context.trace_id, span.context.span_id) == batch_span_ids("batch_abc")
    assert (span.start_time, span.end_time) == (CREATED * 10**9, (CREATED + 30) * 10**9)
    assert [(event.name, event.timestamp) for event in span.events] == [
        ("openai.batch.in_progress", (CREATED + 10) * 10**9),
        ("openai.batch.finalizing", (CREATED + 20) * 10**9),
        ("openai.batch.completed", (CREATED + 30) * 10**9),
    ]
    assert span.attributes is not None
    assert dict(span.attributes) == {
        "gen_ai.provider.name": "openai",
        "openai.batch.id": "batch_abc",
        "openai.batch.endpoint": "/v1/chat/completions",
        "openai.batch.status": "completed",
        "openai.batch.completion_window": "24h",
        "openai.batch.input_file_id": "file-in",
        "openai.batch.output_file_id": "file-out",
        "openai.batch.request_counts.total": 2,
        "openai.batch.request_counts.completed": 2,
        "openai.batch.request_counts.failed": 0,
        "openai.batch.metadata.team": "search",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.usage.input_tokens": 40,
        "gen_ai.usage.output_tokens": 7,
        "gen_ai.usage.cache_read.input_tokens": 8,
        "chatspan.source": "backfill",
    }
    assert span.status.status_code is StatusCode.UNSET
    assert list(span.links) == []


def test_a_failed_batch_carries_its_validation_errors() -> None:
    errors = {
        "data": [
            {"code": "url_mismatch", "line": 3, "message": "The URL does not match.", "param": "url"},
            {"code": "invalid_json_line", "line": 5, "message": "Not JSON.", "param": None},
        ]
    }
    failed = a_batch(
        status="failed",
        errors=errors,
        in_progress_at=None,
        finalizing_at=None,
        completed_at=None,
        failed_at=CREATED + 5,
        output_file_id=None,
        usage=None,
    )
    span = batch_span(failed, resource=RESOURCE)
    assert span.attributes is not None
    assert span.attributes["openai.batch.errors"] == (
        "line 3: url_mismatch: The URL does not match.",
        "line 5: invalid_json_line: Not JSON.",
    )
    assert span.attributes["error.type"] == "url_mismatch"
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "line 3: url_mismatch: The URL does not match."
    assert span.end_time == (CREATED + 5) * 10**9
    assert [event.name for event in span.events] == ["openai.batch.failed"]
    assert "gen_ai.usage.input_tokens" not in span.attributes
    bare = batch_span(a_batch(status="failed", errors=None, failed_at=CREATED + 5), resource=RESOURCE)
    assert bare.attributes is not None and bare.attributes["error.type"] == "failed"
    assert bare.status.status_code is StatusCode.ERROR


def test_the_root_span_links_to_the_submitting_span() -> None:
    span = batch_span(a_batch(metadata={"chatspan.traceparent": TRACEPARENT}), resource=RESOURCE)
    (link,) = span.links
    assert (f"{link.context.trace_id:032x}", f"{link.context.span_id:016x}") == (
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
    )
    assert span.parent is None
    assert span.context is not None and span.context.trace_id == batch_span_ids("batch_abc")[0]
    # The key is a metadata pair like any other: it also goes on the root span as an attribute.
    assert span.attributes is not None
    assert span.attributes["openai.batch.metadata.chatspan.traceparent"] == TRACEPARENT
    junk = batch_span(a_batch(metadata={"chatspan.traceparent": "junk"}), resource=RESOURCE)
    assert list(junk.links) == []
    assert (
        junk.attributes is not None
        and junk.attributes["openai.batch.metadata.chatspan.traceparent"] == "junk"
    )


@pytest.mark.parametrize(
    ("times", "end"),
    [
        ({"completed_at": CREATED + 30}, CREATED + 30),
        ({"completed_at": None, "expired_at": CREATED + 40}, CREATED + 40),
        ({"completed_at": None, "cancelled_at": CREATED + 50}, CREATED + 50),
        ({"completed_at": None, "failed_at": CREATED + 60}, CREATED + 60),
        ({"completed_at": None}, None),
        ({"completed_at": -5}, None),
    ],
)
def test_the_terminal_time(times: dict[str, Any], end: int | None) -> None:
    assert batch_end_time(a_batch(**times)) == end


def test_times_beyond_otlp_are_left_out() -> None:
    span = batch_span(a_batch(created_at=2**64, completed_at=2**63, in_progress_at="soon"), resource=RESOURCE)
    assert (span.start_time, span.end_time) == (0, 0)
    assert [event.name for event in span.events] == ["openai.batch.finalizing"]


def test_a_chat_line() -> None:
    span = batch_line_span(chat_output(), a_batch(), resource=RESOURCE, capture_content=False)
    trace, root = batch_span_ids("batch_abc")
    assert span.context is not None and span.parent is not None
    assert (span.context.trace_id, span.context.span_id) == (trace, batch_span_ids("batch_abc", "req-1")[1])
    assert (span.parent.trace_id, span.parent.span_id) == (trace, root)
    assert span.name == "chat gpt-4o-mini-2024-07-18"
    assert span.start_time == span.end_time == (CREATED + 15) * 10**9
    assert span.attributes is not None
    assert dict(span.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "openai.api.type": "chat_completions",
        "gen_ai.request.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "openai.response.service_tier": "default",
        "openai.response.created": CREATED + 15,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 5,
        "gen_ai.usage.output_tokens": 2,
        "openai.request.id": "req_123",
        "openai.batch.id": "batch_abc",
        "openai.batch.custom_id": "req-1",
        "openai.batch.request.id": "batch_req_1",
        "http.response.status_code": 200,
        "chatspan.source": "backfill",
    }
    assert span.status.status_code is StatusCode.UNSET


def test_a_chat_line_with_its_request_and_content() -> None:
    request = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hello"}],
        "temperature": 0.5,
        "stream": True,
    }
    span = batch_line_span(chat_output(), a_batch(), resource=RESOURCE, capture_content=True, request=request)
    assert span.attributes is not None
    assert span.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert span.attributes["gen_ai.request.temperature"] == 0.5
    assert "gen_ai.request.stream" not in span.attributes  # a batch line never streams
    assert json.loads(str(span.attributes["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "hello"}]}
    ]
    assert json.loads(str(span.attributes["gen_ai.output.messages"]))[0]["parts"][0]["content"] == "hi"
    off = batch_line_span(chat_output(), a_batch(), resource=RESOURCE, capture_content=False, request=request)
    assert off.attributes is not None and "gen_ai.input.messages" not in off.attributes


def test_error_lines() -> None:
    expired = {
        "id": "batch_req_2",
        "custom_id": "req-2",
        "response": None,
        "error": {"code": "batch_expired", "message": "Too late."},
    }
    span = batch_line_span(expired, a_batch(), resource=RESOURCE, capture_content=True)
    assert span.attributes is not None
    assert span.attributes["error.type"] == "batch_expired"
    assert span.attributes["openai.response.error.message"] == "Too late."
    assert "http.response.status_code" not in span.attributes
    assert span.status.status_code is StatusCode.ERROR and span.status.description == "Too late."
    assert span.start_time == (CREATED + 30) * 10**9  # no time of its own: the batch's end
    refused = chat_output("req-3")
    refused["response"] = {
        "status_code": 400,
        "request_id": "req_9",
        "body": {"error": {"code": "integer_below_min_value", "message": "Invalid 'n'."}},
    }
    span = batch_line_span(refused, a_batch(), resource=RESOURCE, capture_content=False)
    assert span.attributes is not None
    assert span.attributes["error.type"] == "integer_below_min_value"
    assert span.attributes["http.response.status_code"] == 400
    assert span.attributes["openai.request.id"] == "req_9"
    assert "gen_ai.response.id" not in span.attributes
    assert span.status.status_code is StatusCode.ERROR
    bare = {"custom_id": "req-4", "response": {"status_code": 500, "body": "oops"}, "error": None}
    span = batch_line_span(bare, a_batch(), resource=RESOURCE, capture_content=False)
    assert span.attributes is not None and span.attributes["error.type"] == "500"
    assert span.status.status_code is StatusCode.ERROR


def test_a_responses_line() -> None:
    body = {
        "id": "resp_1",
        "object": "response",
        "created_at": CREATED + 12,
        "status": "completed",
        "model": "gpt-4.1-nano-2025-04-14",
        "output": [
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "fine"}],
            }
        ],
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
    line = {"id": "batch_req_5", "custom_id": "r-1", "response": {"status_code": 200, "body": body}}
    batch = a_batch(endpoint="/v1/responses")
    span = batch_line_span(
        line, batch, resource=RESOURCE, capture_content=True, request={"model": "gpt-4.1-nano", "input": "q"}
    )
    assert span.name == "chat gpt-4.1-nano-2025-04-14"
    assert span.start_time == (CREATED + 12) * 10**9
    assert span.attributes is not None
    assert span.attributes["openai.api.type"] == "responses"
    assert span.attributes["gen_ai.response.id"] == "resp_1"
    assert span.attributes["gen_ai.usage.input_tokens"] == 3
    assert span.attributes["gen_ai.request.model"] == "gpt-4.1-nano"
    assert "gen_ai.input.messages" in span.attributes and "gen_ai.output.messages" in span.attributes


def test_other_endpoints_get_a_minimal_span() -> None:
    body = {"object": "list", "data": [], "model": "text-embedding-3-small", "usage": {"prompt_tokens": 4}}
    line = {"id": "batch_req_6", "custom_id": "m-1", "response": {"status_code": 200, "body": body}}
    span = batch_line_span(line, a_batch(endpoint="/v1/embeddings"), resource=RESOURCE, capture_content=True)
    assert span.name == "embeddings text-embedding-3-small"
    assert span.attributes is not None
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.usage.input_tokens"] == 4
    unknown = batch_line_span(
        {"custom_id": "x", "response": {"status_code": 200, "body": {}}},
        a_batch(endpoint="/v1/moderations", model=None),
        resource=RESOURCE,
        capture_content=False,
    )
    assert unknown.name == "/v1/moderations"
    assert unknown.status.status_code is StatusCode.UNSET


def test_hostile_line_values_never_raise() -> None:
    hostile = chat_output("\ud800", created="yesterday", usage={"prompt_tokens": -1}, choices="none")
    hostile["response"]["request_id"] = 12
    span = batch_line_span(hostile, a_batch(model=7), resource=RESOURCE, capture_content=True, request={})
    assert span.attributes is not None
    assert "gen_ai.usage.input_tokens" not in span.attributes
    assert "openai.request.id" not in span.attributes
    assert span.attributes["openai.batch.custom_id"] == "\ufffd"
    assert span.start_time == (CREATED + 30) * 10**9


def test_the_checkpoint_round_trip_and_its_refusals(tmp_path: Path) -> None:
    path = tmp_path / "state" / "batches.json"
    scope = batches_scope("http://x/v1/", None, {"team": "a"})
    assert (
        scope == batches_scope("http://x/v1", None, {"team": "a"}) != batches_scope("http://x/v1", None, {})
    )
    state = load_batches(path, scope)
    assert (state.done, state.current, state.confirmed) == ({}, None, 0)
    state.confirm("batch_a", 500, 500)
    save_batches(path, state)
    again = load_batches(path, scope)
    assert (again.current, again.resume_point("batch_a"), again.resume_point("batch_b")) == (
        "batch_a",
        500,
        0,
    )
    again.finish("batch_a", 100)
    again.finish("batch_b", 300)
    assert (again.current, again.confirmed, again.is_done("batch_a")) == (None, 0, True)
    assert again.forget_before(200) is True
    assert again.forget_before(200) is False
    assert again.done == {"batch_b": 300}
    with pytest.raises(CheckpointError, match="another source or filter set"):
        load_batches(path, "other")
    path.write_text("{broken")
    with pytest.raises(CheckpointError, match="damaged"):
        load_batches(path, scope)
    path.write_text(json.dumps({**BatchCheckpoint(scope).to_json(), "confirmed": -1}))
    with pytest.raises(CheckpointError, match="damaged"):
        load_batches(path, scope)
    path.write_text(json.dumps({"version": 2, "scope": scope, "covered": []}))  # a stored-completions one
    with pytest.raises(CheckpointError, match="damaged"):
        load_batches(path, scope)
    assert sorted(p.name for p in path.parent.iterdir()) == ["batches.json"]  # no temporary left behind
