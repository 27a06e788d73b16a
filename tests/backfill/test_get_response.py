"""`chatspan get resp_...` as a user types it: the real CLI in a subprocess, against the devserver and
an in-process OTLP receiver (which never deduplicates, so span counts are exact)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import openai
import pytest

from chatspan.devserver import DevServer
from tests.backfill.harness import (
    API_KEY,
    EXIT,
    HAS_RESPONSES,
    chatspan,
    create_responses,
    environment,
    needs_responses,
    response_span_id,
)
from tests.support.otlp_receiver import OtlpReceiver, otlp_receiver

DEAD = "http://127.0.0.1:9/v1/traces"


@pytest.fixture
def server() -> Iterator[DevServer]:
    with DevServer() as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as running:
        yield running


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_sdk_without_the_responses_api_is_one_line(server: DevServer, tmp_path: Path) -> None:
    """openai 1.63.2 (no client.responses): exit 3 and one line; every later SDK runs the command."""
    env = environment(server, DEAD, tmp_path)
    ids = tmp_path / "ids.txt"
    ids.write_text("resp_0123\n")
    for args in (["get", "resp_0123"], ["backfill", "--responses", str(ids)]):
        run = chatspan(env, *args)
        if HAS_RESPONSES:
            assert "has no Responses API" not in run.stderr, run.stderr
            assert run.code in (EXIT["ok"], EXIT["api"]), run.stderr
        else:
            assert run.code == EXIT["config"], run.stderr
            assert run.stderr == (
                f"chatspan: error: this openai ({openai.__version__}) has no Responses API: upgrade openai\n"
            )


@needs_responses
def test_text_shows_created_model_status_tokens_request_id_and_metadata(
    server: DevServer, tmp_path: Path
) -> None:
    (response,) = create_responses(server, 1, model="o4-mini", metadata={"team": "search", "n": "7"})
    run = chatspan(environment(server, DEAD, tmp_path), "get", response.id, "-v")
    assert run.code == EXIT["ok"], run.stderr
    lines = dict(line.split(None, 1) for line in run.stdout.replace("request id", "request_id").splitlines())
    assert lines["id"] == response.id
    assert lines["created"] == f"{iso(response.created_at)}  ({int(response.created_at)})"
    assert lines["model"] == response.model and lines["status"] == "completed"
    usage = response.usage
    assert usage is not None and usage.output_tokens_details.reasoning_tokens > 0, "o4-mini reasons"
    assert lines["tokens"] == (
        f"{usage.input_tokens} input, {usage.output_tokens} output, "
        f"{usage.input_tokens_details.cached_tokens} cached, "
        f"{usage.output_tokens_details.reasoning_tokens} reasoning"
    )
    # The request id is the retrieve's own (a new one per request), as the server sent it.
    request_id = lines["request_id"]
    assert re.fullmatch(r"req_[0-9a-f]+", request_id) and request_id != response._request_id
    assert f"request_id: {request_id}" in run.stderr.splitlines(), "the SDK logged this id for the GET"
    assert run.stdout.count("metadata ") == 2
    assert "metadata    team=search" in run.stdout and "metadata    n=7" in run.stdout
    assert "input items" not in run.stdout, "content capture is off: no input items fetched"


@needs_responses
def test_json_holds_the_same_fields(server: DevServer, tmp_path: Path) -> None:
    (response,) = create_responses(server, 1)
    run = chatspan(environment(server, DEAD, tmp_path), "get", response.id, "--json")
    assert run.code == EXIT["ok"], run.stderr
    summary = json.loads(run.stdout)
    assert set(summary) == {
        "id", "created", "created_iso", "model", "status", "tokens", "request_id", "metadata"
    }  # fmt: skip
    assert summary["id"] == response.id and summary["model"] == response.model
    assert summary["created"] == int(response.created_at) and summary["created_iso"] == iso(
        response.created_at
    )
    assert summary["status"] == "completed" and summary["metadata"] == {"n": "0"}
    assert response.usage is not None
    assert summary["tokens"] == {
        "input": response.usage.input_tokens,
        "output": response.usage.output_tokens,
        "cached": 0,
        "reasoning": 0,
    }
    assert summary["request_id"].startswith("req_")


@needs_responses
@pytest.mark.parametrize(
    ("flags", "capture"), [(["--with-messages"], "false"), ([], "true")], ids=["flag", "capture-on"]
)
def test_input_items_are_fetched_every_page(
    server: DevServer, tmp_path: Path, flags: list[str], capture: str
) -> None:
    # 130 input items: two pages of the input_items list (100 a page).
    items: list[Any] = [{"role": "user", "content": f"line {index}"} for index in range(130)]
    (response,) = create_responses(server, 1, input=items)
    env = environment(server, DEAD, tmp_path, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=capture)
    run = chatspan(env, "get", response.id, "--json", *flags)
    assert run.code == EXIT["ok"], run.stderr
    fetched = json.loads(run.stdout)["input_items"]
    assert [item["content"][0]["text"] for item in fetched] == [f"line {index}" for index in range(130)]
    text = chatspan(env, "get", response.id, *flags)
    assert "input items 130" in text.stdout


@needs_responses
def test_export_sends_one_span_with_the_backfill_span_id(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    (response,) = create_responses(server, 1)
    env = environment(server, receiver.endpoint, tmp_path)
    first = chatspan(env, "get", response.id, "--export", "--json")
    assert first.code == EXIT["ok"], first.stderr
    exported = json.loads(first.stdout)["exported"]
    assert exported["span_id"] == response_span_id(response.id)
    assert exported["to"] == f"OTLP endpoint {receiver.endpoint}"
    (span,) = receiver.spans()
    assert span.span_id == response_span_id(response.id) and span.trace_id == exported["trace_id"]
    assert span.name == f"chat {response.model}"
    assert span.attributes["gen_ai.response.id"] == response.id
    assert span.attributes["chatspan.source"] == "backfill"
    assert span.start_unix_nano == span.end_unix_nano == int(response.created_at) * 1_000_000_000
    again = chatspan(env, "get", response.id, "--export")
    assert again.code == EXIT["ok"], again.stderr
    assert f"exported    span {response_span_id(response.id)}" in again.stdout
    # Sent twice, the same span both times: a backend keeps one.
    assert [s.span_id for s in receiver.spans()] == [span.span_id] * 2
    # Without --export nothing is sent.
    assert chatspan(env, "get", response.id).code == EXIT["ok"]
    assert len(receiver.spans()) == 2


@needs_responses
def test_export_failures_and_settings_have_the_backfill_exit_codes(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    (response,) = create_responses(server, 1)
    dead = chatspan(environment(server, DEAD, tmp_path), "get", response.id, "--export", timeout=180)
    assert dead.code == EXIT["export"], dead.stderr
    assert f"collector did not accept 1 spans after 5 attempts (OTLP endpoint {DEAD})" in dead.stderr
    assert "Traceback" not in dead.stderr and dead.stdout == ""
    receiver.refuse_next = 2
    refusing = chatspan(environment(server, receiver.endpoint, tmp_path), "get", response.id, "--export")
    assert refusing.code == EXIT["ok"], refusing.stderr
    assert [span.span_id for span in receiver.spans()] == [response_span_id(response.id)]
    nowhere = chatspan(
        environment(server, receiver.endpoint, tmp_path, OTEL_TRACES_EXPORTER="none"),
        "get",
        response.id,
        "--export",
    )
    assert nowhere.code == EXIT["ok"] and "exported" not in nowhere.stdout
    bad = chatspan(
        environment(server, receiver.endpoint, tmp_path, OTEL_TRACES_EXPORTER="zipkin"),
        "get",
        response.id,
        "--export",
    )
    assert bad.code == EXIT["config"] and "OTEL_TRACES_EXPORTER='zipkin'" in bad.stderr
    assert len(receiver.spans()) == 1


@needs_responses
def test_a_response_not_stored_is_exit_5_with_the_likely_reasons(server: DevServer, tmp_path: Path) -> None:
    (unstored,) = create_responses(server, 1, store=False)
    env = environment(server, DEAD, tmp_path)
    for response_id in (unstored.id, "resp_0000deleted"):
        run = chatspan(env, "get", response_id)
        assert run.code == EXIT["api"], run.stderr
        assert run.stderr == (
            f"chatspan: error: no stored response {response_id} (deleted, or created with store=false?)\n"
        )


@needs_responses
def test_a_refused_key_is_exit_4(server: DevServer, tmp_path: Path) -> None:
    (response,) = create_responses(server, 1)
    server.set_faults(["responses.retrieve:401"])
    run = chatspan(environment(server, DEAD, tmp_path), "get", response.id)
    assert run.code == EXIT["auth"], run.stderr
    assert "the API refused the key (401)" in run.stderr


@pytest.mark.parametrize("given", ["xyz", "msg_0123", "chatcmpl", "RESP_0123"])
def test_an_id_of_neither_form_is_a_usage_error_naming_both(
    server: DevServer, tmp_path: Path, given: str
) -> None:
    run = chatspan(environment(server, DEAD, tmp_path), "get", given)
    assert run.code == EXIT["usage"], run.stderr
    assert run.stderr.count("\n") == 1 and "(chatcmpl-...)" in run.stderr and "(resp_...)" in run.stderr
    assert run.stdout == ""


def test_a_completion_exports_too(server: DevServer, receiver: OtlpReceiver, tmp_path: Path) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}], store=True
    )
    env = environment(server, receiver.endpoint, tmp_path)
    run = chatspan(env, "get", completion.id, "--export", "--json")
    assert run.code == EXIT["ok"], run.stderr
    summary = json.loads(run.stdout)
    assert summary["id"] == completion.id and summary["exported"]["span_id"] == response_span_id(
        completion.id
    )
    (span,) = receiver.spans()
    assert span.span_id == response_span_id(completion.id)
    assert span.attributes["gen_ai.response.id"] == completion.id
    plain = chatspan(env, "get", completion.id, "--json")
    assert "exported" not in json.loads(plain.stdout) and len(receiver.spans()) == 1
