"""`chatspan backfill` against a misbehaving API and collector: every run ends with the receiver
holding exactly the stored set — nothing lost, no span id twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatspan.devserver import DevServer
from tests.backfill.harness import (
    EXIT,
    Run,
    assert_one_summary,
    backfill,
    command,
    environment,
    interrupt_twice_while_hanging,
    stored_span_ids,
)
from tests.support.fault_waits import FaultWaits
from tests.support.otlp_receiver import OtlpReceiver, otlp_receiver

STORED = 600


@pytest.fixture
def server() -> Iterator[DevServer]:
    with DevServer(seed_stored=STORED, seed=7) as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as running:
        yield running


def assert_exactly_the_stored_set(receiver: OtlpReceiver, server: DevServer) -> None:
    received = [span.span_id for span in receiver.spans()]
    assert receiver.duplicates() == {}
    assert set(received) == stored_span_ids(server)
    assert len(received) == len(server.stored) == STORED


@pytest.mark.parametrize(
    "fault",
    [
        "list:429;times=6",  # a 429 storm the SDK rides out with retry-after
        "list:500;times=2",  # a 5xx on two pages in a row
        "list:drop;nth=3",  # a connection dropped on the third page
        "list:malformed;nth=2",  # a truncated page the SDK cannot parse: chatspan asks again
        "list:hang=20;nth=2",  # a page that never comes: the request times out and is retried
    ],
)
def test_api_faults_are_ridden_out(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path, fault: str
) -> None:
    server.set_faults([fault])
    run = backfill(environment(server, receiver.endpoint, tmp_path), "--page-size", "50", "--timeout", "2")
    assert run.code == EXIT["ok"], run.stderr
    assert assert_one_summary(run)["exported"] == STORED
    assert_exactly_the_stored_set(receiver, server)


def test_a_page_that_stays_broken_stops_the_run_then_resume_completes(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    env = environment(server, receiver.endpoint, tmp_path)
    server.set_faults(["list:500;times=1000"])
    run = backfill(env, "--page-size", "50", "--max-retries", "1")
    assert run.code == EXIT["api"]
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("chatspan: error:")]
    assert "still failing" in line and "resume" in line
    assert "Traceback" not in run.stderr
    assert assert_one_summary(run)["error"] == line.removeprefix("chatspan: error: ")
    server.set_faults([])
    resumed = backfill(env, "--page-size", "50")
    assert resumed.code == EXIT["ok"], resumed.stderr
    assert_exactly_the_stored_set(receiver, server)


def test_broken_page_mid_run_keeps_what_was_confirmed(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    env = environment(server, receiver.endpoint, tmp_path)
    server.set_faults(["list:malformed;nth=4", "list:malformed;nth=5", "list:malformed;nth=6"])
    run = backfill(env, "--page-size", "50")
    assert run.code == EXIT["api"], run.stderr
    assert run.summary()["exported"] == 150, "three pages were confirmed before the broken one"
    assert len(receiver.spans()) == 150
    server.set_faults([])
    resumed = backfill(env, "--page-size", "50")
    assert resumed.code == EXIT["ok"]
    assert resumed.summary()["exported"] == STORED - 150, "the resumed run starts after the confirmed pages"
    assert_exactly_the_stored_set(receiver, server)


def test_dead_collector_then_resume(server: DevServer, receiver: OtlpReceiver, tmp_path: Path) -> None:
    dead = environment(server, "http://127.0.0.1:9/v1/traces", tmp_path)
    run = backfill(dead, "--page-size", "100")
    assert run.code == EXIT["export"]
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("chatspan: error:")]
    assert "collector did not accept" in line and "Traceback" not in run.stderr
    assert "OTLP endpoint http://127.0.0.1:9/v1/traces" in line, "the error names where it sent"
    summary = assert_one_summary(run)
    assert summary["exported"] == 0 and summary["failed"] == 100
    resumed = backfill(environment(server, receiver.endpoint, tmp_path), "--page-size", "100")
    assert resumed.code == EXIT["ok"]
    assert_exactly_the_stored_set(receiver, server)


def test_collector_refusing_for_a_while_is_retried(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    receiver.refuse_next = 3
    run = backfill(environment(server, receiver.endpoint, tmp_path), "--page-size", "100")
    assert run.code == EXIT["ok"], run.stderr
    assert_exactly_the_stored_set(receiver, server)


def test_interrupt_saves_the_checkpoint_and_exits_130(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    env = environment(server, receiver.endpoint, tmp_path)
    server.set_faults(["list:latency=0.2"])
    for sig in (signal.SIGINT, signal.SIGTERM):
        process = subprocess.Popen(
            command("--page-size", "20"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        before = len(receiver.spans())
        wait_for(lambda: len(receiver.spans()) >= before + 40, timeout=30)  # noqa: B023 - read at once
        process.send_signal(sig)
        stdout, stderr = process.communicate(timeout=30)
        assert process.returncode == EXIT["interrupted"], stderr
        assert "Traceback" not in stderr
        summary = assert_one_summary(Run(process.returncode, stdout, stderr))
        assert summary["error"] == "interrupted"
    server.set_faults([])
    resumed = backfill(env, "--page-size", "100")
    assert resumed.code == EXIT["ok"]
    assert_exactly_the_stored_set(receiver, server)


def test_sigkill_mid_run_then_rerun_loses_nothing(
    server: DevServer, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    env = environment(server, receiver.endpoint, tmp_path)
    server.set_faults(["list:latency=0.1"])
    process = subprocess.Popen(
        command("--page-size", "20"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_for(lambda: len(receiver.spans()) >= 100, timeout=30)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    killed_at = len(receiver.spans())
    assert 100 <= killed_at < STORED
    server.set_faults([])
    resumed = backfill(env, "--page-size", "100")
    assert resumed.code == EXIT["ok"], resumed.stderr
    received = [span.span_id for span in receiver.spans()]
    assert set(received) == stored_span_ids(server)
    # A kill between the collector's answer and the checkpoint write can re-send at most the one
    # batch in flight; its spans carry the same ids, so a backend sees the same spans again.
    assert sum(receiver.duplicates().values()) - len(receiver.duplicates()) <= 20


def wait_for(condition: object, timeout: float) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_second_interrupt_abandons_a_page_that_hangs(receiver: OtlpReceiver, tmp_path: Path) -> None:
    waits = FaultWaits()
    with DevServer(seed_stored=STORED, seed=7, fault_wait=waits) as server:
        env = environment(server, receiver.endpoint, tmp_path)
        # The first page hangs: the run waits on it from the start (a later one would be read ahead,
        # in the prefetch thread, while the run may still be exporting and free to stop).
        server.set_faults(["list:hang=60;nth=1"])
        run = interrupt_twice_while_hanging(
            command("--page-size", "50", "--timeout", "120"), env, waits, tmp_path / "stderr.txt"
        )
        assert run.code == EXIT["interrupted"]
        assert "Traceback" not in run.stderr
        assert assert_one_summary(run)["error"] == "interrupted"
        assert waits.delays == [60.0]
        server.set_faults([])
        assert backfill(env, "--page-size", "50").code == EXIT["ok"]
        assert_exactly_the_stored_set(receiver, server)
