"""`chatspan backfill --batches` as users run it: a subprocess of the real CLI, the devserver's Batch
API, and the in-process OTLP receiver (which never deduplicates, so counts are exact)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from chatspan.devserver import DevServer
from tests.backfill.batch_kit import finished, line_span_id, root_span_id
from tests.backfill.harness import API_KEY, EXIT, backfill, environment
from tests.devserver.batchkit import CHAT, STAGE, Clock, chat_line
from tests.support.otlp_receiver import OtlpReceiver, otlp_receiver


@pytest.fixture
def clock() -> Clock:
    # The CLI's window is the real "last 31 days": the batches are made at the real time.
    return Clock(time.time() - 3600)


@pytest.fixture
def server(clock: Clock) -> Iterator[DevServer]:
    with DevServer(clock=clock, batch_seconds=STAGE, api_key=API_KEY) as running:
        yield running


@pytest.fixture
def client(server: DevServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as made:
        yield made


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as running:
        yield running


def two_batches(client: openai.OpenAI, clock: Clock) -> list[Any]:
    first = finished(client, clock, [chat_line("a", "hello"), chat_line("b", "there")], CHAT)
    second = finished(client, clock, [chat_line("c", "again", model="no-such-model")], CHAT)
    return [first, second]


def test_batches_become_one_trace_each_exactly_once(
    client: openai.OpenAI, clock: Clock, server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    first, second = two_batches(client, clock)
    env = environment(server, receiver.endpoint, tmp_path)
    run = backfill(env, "--batches")
    assert run.code == EXIT["ok"], run.stderr
    assert run.summary()["source"] == "batches"
    spans = receiver.spans()
    ids = {span.span_id for span in spans}
    assert ids >= {root_span_id(first.id), line_span_id(first.id, "a"), line_span_id(first.id, "b")}
    assert ids >= {root_span_id(second.id), line_span_id(second.id, "c")}
    assert receiver.duplicates() == {}
    roots = {span.name for span in spans if span.name.startswith("batch ")}
    assert roots == {f"batch {first.id}", f"batch {second.id}"}
    again = backfill(env, "--batches")
    assert again.code == EXIT["ok"], again.stderr
    assert len(receiver.spans()) == len(spans), "a finished batch is done: nothing is sent twice"


def test_one_batch_by_id_and_a_dry_run_that_writes_nothing(
    client: openai.OpenAI, clock: Clock, server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    first, second = two_batches(client, clock)
    state = tmp_path / "state"
    env = environment(server, receiver.endpoint, state)
    dry = backfill(env, "--batches", "--dry-run")
    assert dry.code == EXIT["ok"], dry.stderr
    assert {first.id, second.id} <= {line.split("\t")[0] for line in dry.stdout.splitlines()[:-1]}
    assert receiver.spans() == []
    assert not state.exists(), "a dry run writes no state directory, lock or checkpoint"
    one = backfill(env, "--batches", "--batch", second.id)
    assert one.code == EXIT["ok"], one.stderr
    assert {span.name for span in receiver.spans() if span.name.startswith("batch ")} == {
        f"batch {second.id}"
    }


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--batch", "batch_x"], "add --batches"),
        (["--batches", "--responses", "-"], "cannot be combined"),
        (["--batches", "--model", "gpt-4o"], "cannot be combined"),
    ],
)
def test_flags_that_do_not_go_together_are_usage_errors(
    flags: list[str], message: str, server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    run = backfill(environment(server, receiver.endpoint, tmp_path), *flags)
    assert run.code == EXIT["usage"]
    assert message in run.stderr
    assert "Traceback" not in run.stderr
