"""`chatspan backfill --responses FILE` against a misbehaving API and collector, and killed mid-file:
every run ends with the receiver holding exactly the listed responses — nothing lost, and no span
id twice except the one batch a SIGKILL may catch in flight."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chatspan.devserver import DevServer
from tests.backfill.harness import (
    EXIT,
    Run,
    assert_one_summary,
    chatspan,
    create_responses,
    environment,
    interrupt_twice_while_hanging,
    needs_responses,
    response_span_id,
)
from tests.support.fault_waits import FaultWaits
from tests.support.otlp_receiver import OtlpReceiver, otlp_receiver

pytestmark = needs_responses
COUNT = 60


@pytest.fixture
def server() -> Iterator[DevServer]:
    with DevServer() as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as running:
        yield running


@pytest.fixture
def ids(server: DevServer, tmp_path: Path) -> Path:
    path = tmp_path / "ids.txt"
    path.write_text("".join(f"{response.id}\n" for response in create_responses(server, COUNT)))
    return path


def command(path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "chatspan", "backfill", "--responses", str(path), "--json", *args]


def run_file(env: dict[str, str], path: Path, *args: str) -> Run:
    return chatspan(env, "backfill", "--responses", str(path), "--json", *args, timeout=180)


def expected(path: Path) -> set[str]:
    return {response_span_id(line) for line in path.read_text().split()}


def assert_exactly_the_listed_set(receiver: OtlpReceiver, path: Path) -> None:
    received = [span.span_id for span in receiver.spans()]
    assert receiver.duplicates() == {}
    assert set(received) == expected(path) and len(received) == COUNT


def wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def error_line(run: Run) -> str:
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("chatspan: error:")]
    assert "Traceback" not in run.stderr
    return line


def test_a_collector_refusing_for_a_while_is_retried(
    server: DevServer, receiver: OtlpReceiver, ids: Path, tmp_path: Path
) -> None:
    receiver.refuse_next = 3
    run = run_file(environment(server, receiver.endpoint, tmp_path), ids, "--page-size", "20")
    assert run.code == EXIT["ok"], run.stderr
    assert assert_one_summary(run)["exported"] == COUNT
    assert_exactly_the_listed_set(receiver, ids)


def test_a_dead_collector_stops_the_run_then_resume_completes(
    server: DevServer, receiver: OtlpReceiver, ids: Path, tmp_path: Path
) -> None:
    dead = environment(server, "http://127.0.0.1:9/v1/traces", tmp_path)
    run = run_file(dead, ids, "--page-size", "20")
    assert run.code == EXIT["export"], run.stderr
    assert "collector did not accept 20 spans" in error_line(run)
    summary = assert_one_summary(run)
    assert summary["exported"] == 0 and summary["failed"] == 20 and summary["source"] == "responses"
    # The collector recovers: the next run sends all, the refused batch included, once each.
    resumed = run_file(environment(server, receiver.endpoint, tmp_path), ids, "--page-size", "20")
    assert resumed.code == EXIT["ok"], resumed.stderr
    assert_exactly_the_listed_set(receiver, ids)


def test_a_collector_that_goes_away_mid_file_keeps_what_it_confirmed(
    server: DevServer, receiver: OtlpReceiver, ids: Path, tmp_path: Path
) -> None:
    env = environment(server, receiver.endpoint, tmp_path)
    receiver.refuse_all = True
    run = run_file(env, ids, "--page-size", "20")
    assert run.code == EXIT["export"], run.stderr
    receiver.refuse_all = False
    assert run_file(env, ids, "--page-size", "20").code == EXIT["ok"]
    assert_exactly_the_listed_set(receiver, ids)
    assert run_file(env, ids).summary()["exported"] == 0
    assert len(receiver.spans()) == COUNT


@pytest.mark.parametrize("fault", ["responses.retrieve:500;times=2", "responses.retrieve:429;times=3"])
def test_transient_api_failures_are_ridden_out(
    server: DevServer, receiver: OtlpReceiver, ids: Path, tmp_path: Path, fault: str
) -> None:
    server.set_faults([fault])
    run = run_file(environment(server, receiver.endpoint, tmp_path), ids, "--page-size", "20")
    assert run.code == EXIT["ok"], run.stderr
    assert_exactly_the_listed_set(receiver, ids)


def test_an_api_failure_that_stays_is_exit_5_then_resume_completes(
    server: DevServer, receiver: OtlpReceiver, ids: Path, tmp_path: Path
) -> None:
    env = environment(server, receiver.endpoint, tmp_path)
    # One at a time: retrieves 21-23 are the 21st id's three attempts, after a confirmed batch of 20.
    server.set_faults([f"responses.retrieve:malformed;nth={nth}" for nth in (21, 22, 23)])
    run = run_file(env, ids, "--page-size", "20", "--concurrency", "1")
    assert run.code == EXIT["api"], run.stderr
    line = error_line(run)
    assert "still failing after 3 attempts" in line and "run again to resume" in line
    summary = assert_one_summary(run)
    assert summary["exported"] == 20 and summary["error"] == line.removeprefix("chatspan: error: ")
    assert len(receiver.spans()) == 20
    server.set_faults([])
    resumed = run_file(env, ids, "--page-size", "20")
    assert resumed.code == EXIT["ok"], resumed.stderr
    assert resumed.summary()["exported"] == COUNT - 20, "resumed after the confirmed batch"
    assert_exactly_the_listed_set(receiver, ids)


def test_a_refused_key_is_exit_4(
    server: DevServer, receiver: OtlpReceiver, ids: Path, tmp_path: Path
) -> None:
    server.set_faults(["responses.retrieve:403"])
    run = run_file(environment(server, receiver.endpoint, tmp_path), ids)
    assert run.code == EXIT["auth"], run.stderr
    assert "the API refused the key (403)" in error_line(run)
    assert assert_one_summary(run)["exported"] == 0 and receiver.spans() == []


def test_sigkill_mid_file_then_rerun_loses_nothing(
    server: DevServer, receiver: OtlpReceiver, ids: Path, tmp_path: Path
) -> None:
    env = environment(server, receiver.endpoint, tmp_path)
    server.set_faults(["responses.retrieve:latency=0.05"])
    process = subprocess.Popen(
        command(ids, "--page-size", "5", "--concurrency", "1"),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: len(receiver.spans()) >= 15, timeout=60)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    killed_at = len(receiver.spans())
    assert 15 <= killed_at < COUNT
    server.set_faults([])
    resumed = run_file(env, ids)
    assert resumed.code == EXIT["ok"], resumed.stderr
    assert resumed.summary()["exported"] <= COUNT - killed_at + 5, "resumed, not started over"
    received = [span.span_id for span in receiver.spans()]
    assert set(received) == expected(ids)
    # A kill between the collector's answer and the checkpoint write re-sends at most the batch in
    # flight, with the same span ids.
    assert sum(receiver.duplicates().values()) - len(receiver.duplicates()) <= 5


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_finishes_the_batch_saves_and_exits_130(
    server: DevServer, receiver: OtlpReceiver, ids: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    env = environment(server, receiver.endpoint, tmp_path)
    server.set_faults(["responses.retrieve:latency=0.05"])
    process = subprocess.Popen(
        command(ids, "--page-size", "5", "--concurrency", "1"),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: len(receiver.spans()) >= 10, timeout=60)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == EXIT["interrupted"], stderr
    assert "Traceback" not in stderr and "stopping after the batch in flight" in stderr
    summary: dict[str, Any] = assert_one_summary(Run(process.returncode, stdout, stderr))
    assert summary["error"] == "interrupted" and summary["exported"] == len(receiver.spans())
    server.set_faults([])
    resumed = run_file(env, ids)
    assert resumed.code == EXIT["ok"], resumed.stderr
    assert_exactly_the_listed_set(receiver, ids)


def test_a_second_interrupt_abandons_a_retrieve_that_hangs(receiver: OtlpReceiver, tmp_path: Path) -> None:
    waits = FaultWaits()
    with DevServer(fault_wait=waits) as server:
        ids = tmp_path / "ids.txt"
        ids.write_text("".join(f"{response.id}\n" for response in create_responses(server, COUNT)))
        env = environment(server, receiver.endpoint, tmp_path)
        # The first retrieve hangs: the run waits on it from the start (a later page would be read
        # ahead while the run may still be exporting and free to stop).
        server.set_faults(["responses.retrieve:hang=60;nth=1"])
        run = interrupt_twice_while_hanging(
            command(ids, "--page-size", "5", "--concurrency", "1", "--timeout", "120"),
            env,
            waits,
            tmp_path / "stderr.txt",
        )
        assert run.code == EXIT["interrupted"], run.stderr
        assert "Traceback" not in run.stderr
        assert assert_one_summary(run)["error"] == "interrupted"
        assert waits.delays == [60.0]
        server.set_faults([])
        assert run_file(env, ids).code == EXIT["ok"]
        assert_exactly_the_listed_set(receiver, ids)
