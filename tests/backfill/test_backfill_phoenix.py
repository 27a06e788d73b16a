"""A seeded list of thousands, backfilled into a real OTLP backend (Phoenix), read back: every
stored completion arrives exactly once, with its attributes and its `created` time."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from pathlib import Path

import openai
import pytest

from chatspan.backfill.spans import span_ids
from chatspan.devserver import DevServer
from tests.backfill.harness import API_KEY, EXIT, backfill, environment
from tests.support.phoenix import Phoenix

STORED = 3000
INGEST_TIMEOUT = 300.0
"""Phoenix acknowledges the exports at once and writes the spans afterwards, at a pace that on a
loaded 2-core machine fell to ~17 a second (2,030 of 3,000 after 120 s): a bound, not a pace."""


@pytest.mark.slow
def test_thousands_arrive_exactly_once(phoenix: Phoenix, tmp_path: Path) -> None:
    project = f"backfill-{secrets.token_hex(4)}"
    with DevServer(seed_stored=STORED, seed=11, api_key=API_KEY) as server:
        env = environment(
            server,
            phoenix.traces_endpoint,
            tmp_path,
            OTEL_RESOURCE_ATTRIBUTES=f"openinference.project.name={project}",
        )
        run = backfill(env, timeout=300)
        assert run.code == EXIT["ok"], run.stderr
        assert run.summary()["exported"] == STORED
        stored = dict(server.stored)
    spans = phoenix.wait_for_spans(project, STORED, INGEST_TIMEOUT)
    assert len(spans) == STORED
    ids = [span["attributes"]["gen_ai.response.id"] for span in spans]
    assert len(set(ids)) == STORED and set(ids) == set(stored)
    span_id_hex = {span["context"]["span_id"] for span in spans}
    assert len(span_id_hex) == STORED
    for span in spans:
        record = stored[span["attributes"]["gen_ai.response.id"]]
        assert span["context"]["span_id"] == f"{span_ids(record.id)[1]:016x}"
        assert span["name"] == f"chat {record.model}"
        assert span["attributes"]["openai.response.created"] == record.created
        assert span["attributes"]["openai.request.id"] == record.request_id
        started = datetime.fromisoformat(span["start_time"]).astimezone(timezone.utc)
        assert int(started.timestamp()) == record.created
        assert span["start_time"] == span["end_time"], "zero-length: the list holds no duration"


@pytest.mark.slow
def test_live_and_backfilled_spans_share_the_trace(phoenix: Phoenix, tmp_path: Path) -> None:
    """A live call with CHATSPAN_LINK_STORED=true, then a backfill: the stored span is its child."""
    from tests.support.recording import instrumented

    project = f"linked-{secrets.token_hex(4)}"
    with DevServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("CHATSPAN_LINK_STORED", "true")
            with instrumented() as recording:
                completion = client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}], store=True
                )
        (live,) = recording.spans()
        env = environment(
            server,
            phoenix.traces_endpoint,
            tmp_path,
            OTEL_RESOURCE_ATTRIBUTES=f"openinference.project.name={project}",
        )
        env["OPENAI_API_KEY"] = API_KEY
        run = backfill(env)
        assert run.code == EXIT["ok"], run.stderr
    (stored,) = phoenix.wait_for_spans(project, 1, 60)
    assert live.context is not None
    assert stored["name"] == f"stored chat {completion.model}"
    assert stored["context"]["trace_id"] == f"{live.context.trace_id:032x}"
    assert stored["parent_id"] == f"{live.context.span_id:016x}"


@pytest.mark.slow
def test_a_submitted_batch_is_one_trace_in_phoenix(phoenix: Phoenix, tmp_path: Path) -> None:
    """A batch submitted by an instrumented app, run to its end, backfilled with `--batches`: Phoenix
    holds its root span and one child per output and error line, with their attributes."""
    import json
    import time

    from tests.backfill.batch_kit import finished, line_span_id, root_span_id, trace_of
    from tests.devserver.batchkit import CHAT, STAGE, Clock, chat_line
    from tests.support.recording import instrumented

    project = f"batch-{secrets.token_hex(4)}"
    clock = Clock(time.time() - 3600)  # the CLI's window is the real "last 31 days"
    lines = [chat_line("ok-1", "hello"), chat_line("ok-2", "there"), chat_line("bad", "x", n=0)]
    with DevServer(clock=clock, batch_seconds=STAGE, api_key=API_KEY) as server:
        with openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client:
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("CHATSPAN_LINK_STORED", "true")
                with instrumented() as recording:
                    batch = finished(client, clock, lines, CHAT, metadata={"team": "phoenix"})
            output = [
                json.loads(line) for line in client.files.content(batch.output_file_id).text.splitlines()
            ]
            errors = [
                json.loads(line) for line in client.files.content(batch.error_file_id).text.splitlines()
            ]
        env = environment(
            server,
            phoenix.traces_endpoint,
            tmp_path,
            OTEL_RESOURCE_ATTRIBUTES=f"openinference.project.name={project}",
        )
        run = backfill(env, "--batches")
        assert run.code == EXIT["ok"], run.stderr
    assert [span.name for span in recording.spans()].count("batch create") == 1
    assert batch.status == "completed"
    assert {line["custom_id"] for line in output} == {"ok-1", "ok-2"}
    assert [line["custom_id"] for line in errors] == ["bad"]
    spans = phoenix.wait_for_spans(project, 1 + len(lines), 60)
    assert len(spans) == 1 + len(lines)
    (root,) = [span for span in spans if span["parent_id"] is None]
    assert root["name"] == f"batch {batch.id}"
    assert root["context"] == {"trace_id": trace_of(batch.id), "span_id": root_span_id(batch.id)}
    assert root["attributes"]["openai.batch.id"] == batch.id
    assert root["attributes"]["openai.batch.status"] == "completed"
    assert root["attributes"]["openai.batch.endpoint"] == CHAT
    assert root["attributes"]["openai.batch.request_counts.total"] == len(lines)
    assert root["attributes"]["openai.batch.metadata.team"] == "phoenix"
    children = {span["attributes"]["openai.batch.custom_id"]: span for span in spans if span is not root}
    assert children.keys() == {"ok-1", "ok-2", "bad"}
    for custom_id, span in children.items():
        assert span["parent_id"] == root_span_id(batch.id)
        assert span["context"] == {
            "trace_id": trace_of(batch.id),
            "span_id": line_span_id(batch.id, custom_id),
        }
    for line in output:
        span = children[line["custom_id"]]
        body = line["response"]["body"]
        assert span["name"] == f"chat {body['model']}"
        assert span["status_code"] in {"OK", "UNSET"}
        assert span["attributes"]["openai.request.id"] == line["response"]["request_id"]
        assert span["attributes"]["openai.batch.request.id"] == line["id"]
        assert span["attributes"]["gen_ai.response.id"] == body["id"]
        assert span["attributes"]["openai.response.created"] == body["created"]
        assert span["attributes"]["gen_ai.usage.output_tokens"] == body["usage"]["completion_tokens"]
    (error,) = errors
    bad = children["bad"]
    assert bad["status_code"] == "ERROR"
    assert bad["attributes"]["error.type"] == error["response"]["body"]["error"]["code"]
