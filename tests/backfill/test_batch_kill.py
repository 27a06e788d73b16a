"""`chatspan backfill --batches` killed with SIGKILL in the middle of a large output file, then run
again: the checkpoint written before the kill survives it, and the union of what the receiver got
is exactly the batch's spans — every line once by span id, the root span, no id with two contents."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest

from chatspan.devserver import DevServer
from chatspan.devserver.batch_seeding import LARGE_LINES
from tests.backfill.batch_kit import line_span_id, output_custom_ids, root_span_id
from tests.backfill.harness import API_KEY, EXIT, backfill, command, environment
from tests.support.otlp_receiver import OtlpReceiver, ReceivedSpan, otlp_receiver

KILL_AFTER = 2_000
"""Spans the receiver must hold before the kill: well into the file, far from its end."""


@pytest.fixture
def server() -> Iterator[DevServer]:
    # One seeded batch: the large completed one, finished within the last month.
    with DevServer(seed_batches=1, seed=3, api_key=API_KEY) as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as running:
        yield running


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def content(span: ReceivedSpan) -> tuple[object, ...]:
    """Everything a backend would store of a span, so two receipts of one id can be compared."""
    return (
        span.trace_id,
        span.parent_span_id,
        span.name,
        span.start_unix_nano,
        span.end_unix_nano,
        sorted(span.attributes.items()),
    )


@pytest.mark.slow
def test_sigkill_mid_file_then_rerun_sends_exactly_the_batch(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    with openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client:
        (batch,) = client.batches.list().data
        assert batch.status == "completed"
        custom_ids = output_custom_ids(client, batch.output_file_id)
        custom_ids += output_custom_ids(client, batch.error_file_id)
    assert len(custom_ids) == LARGE_LINES == len(set(custom_ids))
    expected = {root_span_id(batch.id)} | {line_span_id(batch.id, custom_id) for custom_id in custom_ids}

    checkpoint = tmp_path / "batches.json"
    env = environment(server, receiver.endpoint, tmp_path)
    process = subprocess.Popen(
        command("--batches", "--checkpoint", str(checkpoint)),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: len(receiver.spans()) >= KILL_AFTER, 120, f"{KILL_AFTER} spans")
        wait_for(checkpoint.is_file, 30, "the checkpoint file")
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    killed_at = len(receiver.spans())
    assert KILL_AFTER <= killed_at < len(expected), "killed mid-file"

    state = json.loads(checkpoint.read_text())
    assert state["kind"] == "batches"
    assert state["current"] == batch.id and state["done"] == {}
    assert 0 < state["confirmed"] <= killed_at, "only spans the collector confirmed are recorded"

    rerun = backfill(env, "--batches", "--checkpoint", str(checkpoint))
    assert rerun.code == EXIT["ok"], rerun.stderr
    assert rerun.summary()["exported"] <= len(expected) - state["confirmed"], "resumed, not restarted"

    spans = receiver.spans()
    assert {span.span_id for span in spans} == expected
    assert root_span_id(batch.id) in {span.span_id for span in spans if span.name == f"batch {batch.id}"}
    seen: dict[str, tuple[object, ...]] = {}
    for span in spans:
        assert seen.setdefault(span.span_id, content(span)) == content(span), f"{span.span_id} changed"
    # A kill between the collector's answer and the checkpoint write re-sends at most the spans in
    # flight (one export batch); they carry the same ids and the same content.
    assert len(spans) - len(expected) <= killed_at - state["confirmed"]
    finished = json.loads(checkpoint.read_text())
    assert finished["done"].keys() == {batch.id} and finished["current"] is None
