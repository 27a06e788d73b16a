"""`chatspan backfill` and `chatspan get` as users meet them: filters, window edges, dry runs,
summaries, re-runs, and every kind of bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import openai
import pytest

from chatspan.backfill.checkpoint import SETTLE_SECONDS
from chatspan.backfill.spans import span_ids
from chatspan.devserver import DevServer
from tests.backfill.harness import API_KEY, EXIT, backfill, environment
from tests.support.otlp_receiver import OtlpReceiver, otlp_receiver

STORED = 300


@pytest.fixture(scope="module")
def server() -> Iterator[DevServer]:
    with DevServer(seed_stored=STORED, seed=3, api_key=API_KEY) as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as running:
        yield running


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def ids_of(receiver: OtlpReceiver) -> set[str]:
    return {str(span.attributes["gen_ai.response.id"]) for span in receiver.spans()}


def test_every_completion_once_with_its_attributes_and_created_time(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    run = backfill(environment(server, receiver.endpoint, tmp_path))
    assert run.code == EXIT["ok"], run.stderr
    assert run.summary()["exported"] == STORED
    assert set(run.summary()) >= {"listed", "exported", "skipped", "failed", "seconds"}
    assert receiver.duplicates() == {}
    by_id = {str(span.attributes["gen_ai.response.id"]): span for span in receiver.spans()}
    assert set(by_id) == set(server.stored)
    for completion_id, record in server.stored.items():
        span = by_id[completion_id]
        assert span.start_unix_nano == span.end_unix_nano == record.created * 10**9
        assert span.span_id == f"{span_ids(completion_id)[1]:016x}"
        assert span.attributes["openai.response.created"] == record.created
        assert span.attributes["openai.request.id"] == record.request_id
        assert span.attributes["gen_ai.response.model"] == record.model
        assert span.attributes["chatspan.source"] == "backfill"
        assert span.attributes["gen_ai.usage.input_tokens"] == record.completion["usage"]["prompt_tokens"]
        for key, value in record.metadata.items():
            assert span.attributes[f"openai.request.metadata.{key}"] == value
        assert "gen_ai.input.messages" not in span.attributes, "content is off by default"
        assert span.resource["service.name"] == "backfill-test"


def test_rerun_is_idempotent(receiver: OtlpReceiver, tmp_path: Path) -> None:
    with DevServer(seed_stored=STORED, seed=3, api_key=API_KEY) as server:
        # Some completions of the last minutes: the unsettled tail a re-run lists again.
        server.seed_stored(20, days=(SETTLE_SECONDS / 2) / 86400, seed=31)
        env = environment(server, receiver.endpoint, tmp_path)
        first = backfill(env)
        assert first.code == EXIT["ok"], first.stderr
        again = backfill(env)
        assert again.code == EXIT["ok"], again.stderr
        stored = set(server.stored)
    assert again.summary()["exported"] == 0, "the tail was confirmed by the first run"
    assert again.summary()["listed"] >= 20 and again.summary()["skipped"] >= 20
    assert receiver.duplicates() == {}, "every span exactly once"
    assert len(receiver.spans()) == len(stored) == STORED + 20
    assert ids_of(receiver) == stored


def test_a_late_arrival_in_the_tail_is_sent_on_the_next_run(receiver: OtlpReceiver, tmp_path: Path) -> None:
    now = int(datetime.now(timezone.utc).timestamp())
    with DevServer(api_key=API_KEY) as server:
        server.seed_stored(10, days=60 / 86400, seed=41, now=now)
        env = environment(server, receiver.endpoint, tmp_path)
        assert backfill(env).code == EXIT["ok"]
        first = set(server.stored)
        # Stored after the first run, with a `created` older than what that run saw (a long stream
        # is stored when it ends), but still inside the unsettled last minutes.
        server.seed_stored(5, days=60 / 86400, seed=42, now=now - 120)
        late = set(server.stored) - first
        assert len(late) == 5 and all(
            server.stored[c].created < min(server.stored[f].created for f in first) for c in late
        )
        again = backfill(env)
        assert again.code == EXIT["ok"], again.stderr
    assert again.summary()["exported"] == 5
    assert receiver.duplicates() == {}
    assert ids_of(receiver) == first | late


def test_model_filter(server: DevServer, receiver: OtlpReceiver, tmp_path: Path) -> None:
    run = backfill(environment(server, receiver.endpoint, tmp_path), "--model", "gpt-4o-mini")
    assert run.code == EXIT["ok"], run.stderr
    # As the API does: the model a completion was requested with, or the snapshot that answered.
    expected = {cid for cid, r in server.stored.items() if "gpt-4o-mini" in (r.request.get("model"), r.model)}
    assert ids_of(receiver) == expected
    assert 0 < len(ids_of(receiver)) < STORED


def test_metadata_filters_all_must_match(server: DevServer, receiver: OtlpReceiver, tmp_path: Path) -> None:
    run = backfill(
        environment(server, receiver.endpoint, tmp_path),
        "--metadata",
        "team=search",
        "--metadata",
        "env=prod",
    )
    assert run.code == EXIT["ok"], run.stderr
    expected = {
        cid
        for cid, r in server.stored.items()
        if r.metadata.get("team") == "search" and r.metadata.get("env") == "prod"
    }
    assert expected and ids_of(receiver) == expected


def test_window_edges_are_inclusive(server: DevServer, receiver: OtlpReceiver, tmp_path: Path) -> None:
    times = sorted({r.created for r in server.stored.values()})
    low, high = times[len(times) // 4], times[len(times) // 2]
    run = backfill(
        environment(server, receiver.endpoint, tmp_path), "--since", iso(low), "--until", iso(high)
    )
    assert run.code == EXIT["ok"], run.stderr
    expected = {cid for cid, r in server.stored.items() if low <= r.created <= high}
    assert ids_of(receiver) == expected


def test_empty_window(server: DevServer, receiver: OtlpReceiver, tmp_path: Path) -> None:
    run = backfill(
        environment(server, receiver.endpoint, tmp_path), "--since", "2001-01-01", "--until", "2001-01-02"
    )
    assert run.code == EXIT["ok"]
    assert run.summary()["listed"] == run.summary()["exported"] == 0
    assert receiver.requests == 0


def test_empty_store(receiver: OtlpReceiver, tmp_path: Path) -> None:
    with DevServer() as empty:
        run = backfill(environment(empty, receiver.endpoint, tmp_path))
    assert run.code == EXIT["ok"]
    assert run.summary()["exported"] == 0


def test_dry_run_lists_and_counts_but_sends_and_saves_nothing(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    run = backfill(environment(server, receiver.endpoint, tmp_path), "--dry-run")
    assert run.code == EXIT["ok"]
    lines = run.stdout.strip().splitlines()
    listed = {line.split("\t")[0] for line in lines[:-1]}
    assert listed == set(server.stored)
    assert run.summary()["dry_run"] is True and run.summary()["exported"] == STORED
    assert receiver.requests == 0
    assert not any(tmp_path.rglob("backfill-*.json")), "a dry run writes no checkpoint"


def test_ignored_limit_still_gets_everything(receiver: OtlpReceiver, tmp_path: Path) -> None:
    with DevServer(seed_stored=130, seed=5, ignore_limit=True) as server:
        run = backfill(environment(server, receiver.endpoint, tmp_path), "--page-size", "100")
        assert run.code == EXIT["ok"], run.stderr
        assert ids_of(receiver) == set(server.stored)


def test_messages_are_fetched_when_content_capture_is_on(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    env = environment(
        server, receiver.endpoint, tmp_path, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="true"
    )
    run = backfill(env, "--page-size", "50")
    assert run.code == EXIT["ok"], run.stderr
    for span in receiver.spans():
        record = server.stored[str(span.attributes["gen_ai.response.id"])]
        sent = [m for m in record.messages if m["role"] not in ("system", "developer")]
        captured = json.loads(str(span.attributes["gen_ai.input.messages"]))
        assert [m["role"] for m in captured] == [m["role"] for m in sent]
        assert "gen_ai.output.messages" in span.attributes


def test_no_messages_overrides_capture(server: DevServer, receiver: OtlpReceiver, tmp_path: Path) -> None:
    env = environment(
        server, receiver.endpoint, tmp_path, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="true"
    )
    server.set_faults(["messages:500;times=100000"])
    try:
        run = backfill(env, "--no-messages")
    finally:
        server.set_faults([])
    assert run.code == EXIT["ok"], "no message was asked for"
    assert all("gen_ai.input.messages" not in span.attributes for span in receiver.spans())


def test_linked_completion_joins_the_live_trace(receiver: OtlpReceiver, tmp_path: Path) -> None:
    live = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with DevServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-x", max_retries=0)
        completion = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            store=True,
            metadata={"chatspan.traceparent": live},
        )
        run = backfill(environment(server, receiver.endpoint, tmp_path, OPENAI_API_KEY="sk-x"))
    assert run.code == EXIT["ok"], run.stderr
    (span,) = receiver.spans()
    assert span.name == f"stored chat {completion.model}"
    assert span.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert span.parent_span_id == "b7ad6b7169203331"


def test_get_prints_the_facts(server: DevServer, tmp_path: Path) -> None:
    record = next(iter(server.stored.values()))
    env = environment(server, "http://127.0.0.1:9/v1/traces", tmp_path)
    text = subprocess.run(
        [sys.executable, "-m", "chatspan", "get", record.id],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert text.returncode == 0, text.stderr
    assert iso(record.created) in text.stdout and str(record.created) in text.stdout
    assert record.request_id in text.stdout and record.model in text.stdout
    data = subprocess.run(
        [sys.executable, "-m", "chatspan", "get", record.id, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    summary = json.loads(data.stdout)
    assert summary["created"] == record.created and summary["created_iso"] == iso(record.created)
    assert summary["request_id"] == record.request_id and summary["metadata"] == record.metadata
    assert summary["usage"]["prompt_tokens"] == record.completion["usage"]["prompt_tokens"]
    missing = subprocess.run(
        [sys.executable, "-m", "chatspan", "get", "chatcmpl-nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == EXIT["api"] and "not found" in missing.stderr


@pytest.mark.parametrize(
    ("args", "env_change", "code", "message"),
    [
        (["--bogus"], {}, "usage", "unrecognized arguments: --bogus"),
        (["--since", "last tuesday"], {}, "usage", "cannot read the time"),
        (["--until", "2001-01-01", "--since", "2002-01-01"], {}, "usage", "is after --until"),
        (["--metadata", "team"], {}, "usage", "key=value"),
        (["--page-size", "0"], {}, "usage", "at least 1"),
        ([], {"OPENAI_API_KEY": ""}, "config", "OPENAI_API_KEY is not set"),
        ([], {"OPENAI_API_KEY": "sk-wrong"}, "auth", "refused the key (401)"),
        ([], {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "carrier-pigeon"}, "config", "not supported"),
    ],
)
def test_bad_input_is_one_clear_line(
    server: DevServer, tmp_path: Path, args: list[str], env_change: dict[str, str], code: str, message: str
) -> None:
    run = backfill(environment(server, "http://127.0.0.1:9/v1/traces", tmp_path, **env_change), *args)
    assert run.code == EXIT[code], run.stderr
    errors = [line for line in run.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0], run.stderr
    assert "Traceback" not in run.stderr


def test_a_checkpoint_of_another_filter_is_refused(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    path = tmp_path / "cp.json"
    env = environment(server, receiver.endpoint, tmp_path)
    assert backfill(env, "--checkpoint", str(path), "--model", "gpt-4o").code == EXIT["ok"]
    other = backfill(env, "--checkpoint", str(path))
    assert other.code == EXIT["config"] and "another source or filter" in other.stderr
    assert backfill(env, "--checkpoint", str(path), "--restart").code == EXIT["ok"]
