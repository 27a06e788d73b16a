"""`chatspan backfill --responses FILE` as a user runs it: the real CLI in a subprocess, against the
devserver's stored responses and an in-process OTLP receiver that never deduplicates, so every
count below is exact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from chatspan.devserver import DevServer
from tests.backfill.harness import (
    EXIT,
    Run,
    assert_one_summary,
    chatspan,
    create_responses,
    environment,
    needs_responses,
    response_span_id,
)
from tests.support.otlp_receiver import OtlpReceiver, otlp_receiver

COUNT = 25


@pytest.fixture
def server() -> Iterator[DevServer]:
    with DevServer() as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as running:
        yield running


@pytest.fixture
def stored(server: DevServer) -> list[Any]:
    return create_responses(server, COUNT)


def responses_backfill(env: dict[str, str], source: str, *args: str, stdin: str | None = None) -> Run:
    return chatspan(env, "backfill", "--responses", source, "--json", *args, stdin=stdin, timeout=180)


def id_file(tmp_path: Path, lines: list[str], name: str = "ids.txt") -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def received(receiver: OtlpReceiver) -> list[str]:
    return [span.span_id for span in receiver.spans()]


@needs_responses
def test_every_listed_response_once_comments_blanks_and_bad_lines_skipped(
    server: DevServer, receiver: OtlpReceiver, stored: list[Any], tmp_path: Path
) -> None:
    ids = [response.id for response in stored]
    lines = ["# responses of the search team", "", *ids[:10], f"   {ids[10]}\t", "not-an-id"]
    lines += ["resp_0000gone", "   ", "# more", *ids[11:]]
    path = id_file(tmp_path, lines)
    env = environment(server, receiver.endpoint, tmp_path / "state")
    run = responses_backfill(env, str(path), "--page-size", "10")
    assert run.code == EXIT["ok"], run.stderr
    summary = assert_one_summary(run)
    assert summary["source"] == "responses" and summary["error"] is None and summary["dry_run"] is False
    assert (summary["listed"], summary["exported"], summary["skipped"], summary["failed"]) == (
        COUNT + 2,
        COUNT,
        2,
        0,
    )
    assert set(summary) == {
        "listed", "exported", "skipped", "failed", "seconds", "dry_run", "exporter", "checkpoint",
        "error", "source",
    }  # fmt: skip
    assert "chatspan: skipped resp_0000gone: no stored response" in run.stderr.splitlines()
    assert "chatspan: skipped line 14: not a response id: 'not-an-id'" in run.stderr.splitlines()
    assert "deleted, or created with store=false?" in run.stderr
    assert received(receiver) == [response_span_id(response_id) for response_id in ids], "in file order"
    by_id = {span.attributes["gen_ai.response.id"]: span for span in receiver.spans()}
    for response in stored:
        span = by_id[response.id]
        assert span.name == f"chat {response.model}"
        assert span.start_unix_nano == span.end_unix_nano == int(response.created_at) * 1_000_000_000
        assert span.attributes["chatspan.source"] == "backfill"
        assert span.attributes["openai.api.type"] == "responses"
        assert "gen_ai.input.messages" not in span.attributes, "content capture is off"
    # A file done is done: the re-run lists nothing and sends nothing.
    again = responses_backfill(env, str(path), "--page-size", "10")
    assert again.code == EXIT["ok"], again.stderr
    assert assert_one_summary(again)["exported"] == 0 and assert_one_summary(again)["listed"] == 0
    assert len(receiver.spans()) == COUNT
    # --restart sends every one again, with the same span ids.
    restarted = responses_backfill(env, str(path), "--restart")
    assert assert_one_summary(restarted)["exported"] == COUNT
    assert receiver.duplicates() == {response_span_id(response_id): 2 for response_id in ids}


@needs_responses
def test_ids_from_stdin_once_per_input(
    server: DevServer, receiver: OtlpReceiver, stored: list[Any], tmp_path: Path
) -> None:
    env = environment(server, receiver.endpoint, tmp_path)
    first = "\n".join(response.id for response in stored[:10]) + "\n"
    run = responses_backfill(env, "-", stdin=first)
    assert run.code == EXIT["ok"], run.stderr
    assert assert_one_summary(run)["exported"] == 10
    assert responses_backfill(env, "-", stdin=first).summary()["exported"] == 0, "the same ids again"
    # Other ids on stdin are another input, with their own checkpoint.
    other = "\n".join(response.id for response in stored[10:]) + "\n"
    assert responses_backfill(env, "-", stdin=other).summary()["exported"] == COUNT - 10
    assert sorted(received(receiver)) == sorted(response_span_id(response.id) for response in stored)
    assert receiver.duplicates() == {}


@needs_responses
def test_ids_appended_later_are_sent_and_an_edited_prefix_is_refused(
    server: DevServer, receiver: OtlpReceiver, stored: list[Any], tmp_path: Path
) -> None:
    env = environment(server, receiver.endpoint, tmp_path / "state")
    ids = [response.id for response in stored]
    path = id_file(tmp_path, ids[:15])
    assert responses_backfill(env, str(path)).summary()["exported"] == 15
    id_file(tmp_path, ids)  # ten ids appended
    appended = responses_backfill(env, str(path))
    assert appended.code == EXIT["ok"], appended.stderr
    assert assert_one_summary(appended)["exported"] == 10
    assert receiver.duplicates() == {} and len(receiver.spans()) == COUNT
    id_file(tmp_path, [ids[1], ids[0], *ids[2:]])  # the confirmed lines changed
    edited = responses_backfill(env, str(path))
    assert edited.code == EXIT["config"], edited.stderr
    (line,) = [line for line in edited.stderr.splitlines() if line.startswith("chatspan: error:")]
    assert "no longer begins with the 25 lines" in line and "--restart" in line
    assert len(receiver.spans()) == COUNT


@needs_responses
def test_dry_run_lists_in_file_order_and_writes_nothing(
    server: DevServer, receiver: OtlpReceiver, stored: list[Any], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    env = environment(server, receiver.endpoint, state)
    path = id_file(tmp_path, [response.id for response in stored])
    # The first retrieve answers last: the output keeps the file's order all the same.
    server.set_faults(["responses.retrieve:latency=0.3;nth=1"])
    run = chatspan(env, "backfill", "--responses", str(path), "--dry-run", "--concurrency", "8")
    assert run.code == EXIT["ok"], run.stderr
    shown = [line.split("\t") for line in run.stdout.splitlines()]
    assert [row[0] for row in shown] == [response.id for response in stored]
    first = stored[0]
    assert shown[0][2:] == [first.model, "completed"] and shown[0][1].endswith("Z")
    assert "would export" in run.stderr
    assert not state.exists(), "a dry run makes no state directory, lock or checkpoint"
    assert receiver.spans() == []


@pytest.mark.parametrize(
    "flags",
    [["--since", "7d"], ["--until", "2026-01-01"], ["--model", "gpt-4o"], ["--metadata", "team=search"]],
)
def test_window_and_filter_options_do_not_apply_to_an_id_list(
    server: DevServer, tmp_path: Path, flags: list[str]
) -> None:
    path = id_file(tmp_path, ["resp_0123"])
    run = chatspan(
        environment(server, "http://127.0.0.1:9/v1/traces", tmp_path),
        "backfill",
        "--responses",
        str(path),
        *flags,
    )
    assert run.code == EXIT["usage"], run.stderr
    assert run.stderr == (
        f"chatspan: error: {flags[0]} cannot be combined with --responses: "
        "the id list says what to backfill\n"
    )


def test_an_unreadable_file_is_a_usage_error(server: DevServer, tmp_path: Path) -> None:
    run = chatspan(
        environment(server, "http://127.0.0.1:9/v1/traces", tmp_path),
        "backfill",
        "--responses",
        str(tmp_path / "missing.txt"),
    )
    assert run.code == EXIT["usage"] and "cannot read the id list" in run.stderr
    assert "Traceback" not in run.stderr


@needs_responses
def test_input_items_with_content_capture(server: DevServer, receiver: OtlpReceiver, tmp_path: Path) -> None:
    items: list[Any] = [{"role": "user", "content": f"line {index}"} for index in range(120)]
    (response,) = create_responses(server, 1, input=items)
    path = id_file(tmp_path, [response.id])
    env = environment(
        server, receiver.endpoint, tmp_path, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="true"
    )
    run = responses_backfill(env, str(path))
    assert run.code == EXIT["ok"], run.stderr
    (span,) = receiver.spans()
    messages = json.loads(span.attributes["gen_ai.input.messages"])
    assert len(messages) == 120, "every page of the input items"
    assert messages[119]["parts"][0]["content"] == "line 119"


@needs_responses
def test_the_span_joins_the_live_trace(server: DevServer, receiver: OtlpReceiver, tmp_path: Path) -> None:
    from tests.support.recording import instrumented

    client = openai.OpenAI(base_url=server.base_url, api_key="sk-live", max_retries=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHATSPAN_LINK_STORED", "true")
        with instrumented() as recording:
            response = client.responses.create(model="gpt-4o-mini", input="hello")
    (live,) = recording.spans()
    assert live.context is not None
    run = responses_backfill(
        environment(server, receiver.endpoint, tmp_path), str(id_file(tmp_path, [response.id]))
    )
    assert run.code == EXIT["ok"], run.stderr
    (span,) = receiver.spans()
    assert span.trace_id == f"{live.context.trace_id:032x}"
    assert span.parent_span_id == f"{live.context.span_id:016x}"
    assert span.name == f"stored chat {response.model}"
    assert span.span_id == response_span_id(response.id)
