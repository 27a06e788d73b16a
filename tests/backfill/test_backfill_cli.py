"""`chatspan backfill` and `chatspan get` as users meet them: filters, window edges, dry runs,
summaries, re-runs, and every kind of bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import openai
import pytest

from chatspan.backfill.checkpoint import SETTLE_SECONDS
from chatspan.backfill.spans import span_ids
from chatspan.devserver import DevServer
from tests.backfill.harness import (
    API_KEY,
    EXIT,
    assert_one_summary,
    backfill,
    chatspan,
    closed_port,
    environment,
)
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


def test_since_in_the_future_says_so_and_exits_0(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    run = backfill(environment(server, receiver.endpoint, tmp_path), "--since", "2999-01-01")
    assert run.code == EXIT["ok"], run.stderr
    assert assert_one_summary(run)["listed"] == 0
    (hint,) = [line for line in run.stderr.splitlines() if line.startswith("chatspan: hint:")]
    assert "the window starts in the future" in hint and "2999-01-01T00:00:00Z" in hint
    assert receiver.requests == 0


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--model", "no-such-model"], "--model no-such-model"),
        (["--metadata", "team=nobody"], "--metadata team=nobody"),
        (["--dry-run", "--model", "no-such-model"], "--model no-such-model"),
    ],
)
def test_a_filter_that_matches_nothing_says_so_and_exits_0(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path, args: list[str], named: str
) -> None:
    run = backfill(environment(server, receiver.endpoint, tmp_path), *args)
    assert run.code == EXIT["ok"], run.stderr
    assert assert_one_summary(run)["exported"] == 0
    (hint,) = [line for line in run.stderr.splitlines() if line.startswith("chatspan: hint:")]
    assert "no stored completion between" in hint and f"matched {named}" in hint
    assert "check the model name" in hint and "widen --since" in hint


def test_no_hint_when_a_rerun_finds_nothing_new(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    env = environment(server, receiver.endpoint, tmp_path)
    assert backfill(env, "--model", "gpt-4o").code == EXIT["ok"]
    again = backfill(env, "--model", "gpt-4o")
    assert again.code == EXIT["ok"] and again.summary()["exported"] == 0
    assert "hint:" not in again.stderr, "nothing new is not a mistake"
    assert "hint:" not in backfill(env).stderr, "a run that sent something has nothing to hint"


def test_dry_run_writes_no_state_at_all(server: DevServer, receiver: OtlpReceiver, tmp_path: Path) -> None:
    state = tmp_path / "no-such-state-dir"
    run = backfill(environment(server, receiver.endpoint, state), "--dry-run")
    assert run.code == EXIT["ok"], run.stderr
    assert run.summary()["exported"] == STORED
    assert not state.exists(), f"a dry run created {sorted(str(p) for p in state.rglob('*'))}"
    assert not list(tmp_path.iterdir()), "nor anything else beside it"


def test_dry_run_reads_the_checkpoint_and_lists_only_what_a_run_would_send(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    env = environment(server, receiver.endpoint, tmp_path)
    assert backfill(env, "--model", "gpt-4o").code == EXIT["ok"]
    checkpoint = next(tmp_path.rglob("backfill-*.json"))
    before = checkpoint.read_bytes()
    dry = backfill(env, "--model", "gpt-4o", "--dry-run")
    assert dry.code == EXIT["ok"] and dry.summary()["exported"] == 0
    assert checkpoint.read_bytes() == before


@pytest.mark.parametrize("given", ["", "   "])
def test_get_without_an_id_is_a_usage_error(server: DevServer, tmp_path: Path, given: str) -> None:
    run = chatspan(environment(server, "http://127.0.0.1:9/v1/traces", tmp_path), "get", given)
    assert run.code == EXIT["usage"], run.stderr
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("chatspan: error: COMPLETION_ID is empty")
    assert "Traceback" not in run.stderr and run.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["backfill", "--dry-run", "-v"],
        ["-v", "backfill", "--dry-run"],
        ["backfill", "--dry-run", "--verbose"],
    ],
)
def test_verbose_before_or_after_the_command(server: DevServer, tmp_path: Path, args: list[str]) -> None:
    env = environment(server, "http://127.0.0.1:9/v1/traces", tmp_path)
    run = chatspan(env, *args)
    assert run.code == EXIT["ok"], run.stderr
    # The HTTP library's own request log, shown only at -v.
    assert "HTTP Request: GET" in run.stderr, run.stderr
    assert "HTTP Request" not in chatspan(env, "backfill", "--dry-run").stderr


def test_verbose_after_get(server: DevServer, tmp_path: Path) -> None:
    record = next(iter(server.stored.values()))
    env = environment(server, "http://127.0.0.1:9/v1/traces", tmp_path)
    run = chatspan(env, "get", record.id, "-v")
    assert run.code == EXIT["ok"], run.stderr
    assert "HTTP Request: GET" in run.stderr and record.id in run.stdout


def test_nothing_listening_at_the_base_url_is_a_configuration_error_at_once(
    receiver: OtlpReceiver, tmp_path: Path
) -> None:
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    with DevServer() as server:
        env = environment(server, receiver.endpoint, tmp_path, OPENAI_BASE_URL=base_url)
    for command in (["backfill", "--json", "-v"], ["get", "chatcmpl-x", "-v"]):
        run = chatspan(env, *command)
        assert run.code == EXIT["config"], run.stderr
        (line,) = [line for line in run.stderr.splitlines() if line.startswith("chatspan: error:")]
        assert f"nothing answers at {base_url}" in line and "check OPENAI_BASE_URL" in line, line
        assert "resume" not in line
        # At once: neither the SDK's retries with backoff nor chatspan's page attempts.
        assert "Retrying request" not in run.stderr and "trying again" not in run.stderr, run.stderr
    summary = assert_one_summary(chatspan(env, "backfill", "--json"))
    assert summary["error"].startswith("nothing answers at")


def test_console_exporter_prints_the_spans_and_keeps_json_parseable(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    env = environment(server, receiver.endpoint, tmp_path, OTEL_TRACES_EXPORTER="console")
    plain = chatspan(env, "backfill", "--since", "31d", "--restart")
    assert plain.code == EXIT["ok"], plain.stderr
    printed = _console_spans(plain.stdout)
    assert {span["attributes"]["gen_ai.response.id"] for span in printed} == set(server.stored)
    with_json = backfill(env, "--restart")
    assert with_json.code == EXIT["ok"], with_json.stderr
    assert len(with_json.stdout.splitlines()) == 1, "under --json, stdout is the summary alone"
    assert with_json.summary()["exporter"] == "console" and with_json.summary()["exported"] == STORED
    assert len(_console_spans(with_json.stderr)) == STORED, "the spans went to stderr"
    assert receiver.requests == 0


def _console_spans(text: str) -> list[dict[str, Any]]:
    """The spans ConsoleSpanExporter printed: indented JSON objects, one after another."""
    decoder = json.JSONDecoder()
    spans: list[dict[str, Any]] = []
    index = text.find("{")
    while index != -1:
        value, end = decoder.raw_decode(text, index)
        if isinstance(value, dict) and "context" in value:
            spans.append(value)
        index = text.find("{", end)
    return spans


def test_none_exporter_makes_and_counts_spans_but_sends_and_saves_nothing(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    env = environment(server, receiver.endpoint, state, OTEL_TRACES_EXPORTER="none")
    run = backfill(env)
    assert run.code == EXIT["ok"], run.stderr
    assert run.summary()["exported"] == STORED and run.summary()["exporter"] == "none"
    assert "made, sent nowhere" in run.stderr
    assert receiver.requests == 0
    assert not state.exists(), "the checkpoint does not move: a later run sends everything"
    real = backfill(environment(server, receiver.endpoint, state))
    assert real.code == EXIT["ok"] and real.summary()["exported"] == STORED


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER='zipkin'"),
        ({"OTEL_TRACES_EXPORTER": "otlp,console"}, "one exporter"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "localhost:4318"}, "'localhost:4318' is not a URL"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "not a url"}, "'not a url' is not a URL"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://"}, "'http://' is not a URL"),
        (
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "", "OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"},
            "OTEL_EXPORTER_OTLP_ENDPOINT='collector:4318' is not a URL",
        ),
        (
            {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "not a url"},
            "is not an OTLP/gRPC endpoint",
        ),
    ],
)
def test_an_exporter_setting_that_cannot_work_is_a_configuration_error_before_any_api_call(
    tmp_path: Path, variables: dict[str, str], named: str
) -> None:
    # Nothing listens at the API's URL: had the run called it, the error would say so instead.
    env = environment_without_server(tmp_path, OPENAI_BASE_URL=f"http://127.0.0.1:{closed_port()}/v1")
    env.update(variables)
    run = backfill(env)
    assert run.code == EXIT["config"], run.stderr
    (line,) = [line for line in run.stderr.splitlines() if "error:" in line]
    assert named in line, line
    assert "Traceback" not in run.stderr and "nothing answers" not in run.stderr
    assert not (tmp_path / "chatspan").exists()


def environment_without_server(state: Path, **extra: str) -> dict[str, str]:
    with DevServer() as server:
        return environment(server, "http://127.0.0.1:9/v1/traces", state, **extra)


def test_a_refused_key_still_prints_the_summary_once(server: DevServer, tmp_path: Path) -> None:
    run = backfill(environment(server, "http://127.0.0.1:9/v1/traces", tmp_path, OPENAI_API_KEY="sk-wrong"))
    assert run.code == EXIT["auth"], run.stderr
    assert assert_one_summary(run)["error"].startswith("the API refused the key (401)")
