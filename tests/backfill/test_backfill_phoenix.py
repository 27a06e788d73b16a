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
    spans = phoenix.wait_for_spans(project, STORED, 120)
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
