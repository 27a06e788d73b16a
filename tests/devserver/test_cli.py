"""`python -m chatspan.devserver` as a separate process: its one line, serving, SIGTERM/SIGINT, errors."""

from __future__ import annotations

import importlib
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

import chatspan.devserver

LINE = re.compile(r"^chatspan devserver listening on (http://127\.0\.0\.1:(\d+)/v1)$")
WAIT = 15.0


def _env() -> dict[str, str]:
    # The package's src directory on the path, whether or not it is installed in this interpreter.
    source = str(Path(chatspan.devserver.__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))}


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "chatspan.devserver", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )


def _first_line(process: subprocess.Popen[str]) -> str:
    """The first stdout line, or a test failure after WAIT seconds."""
    assert process.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.append(process.stdout.readline() if process.stdout else "")
    )
    reader.daemon = True
    reader.start()
    reader.join(WAIT)
    if not lines:
        process.kill()
        pytest.fail("the devserver printed nothing in time")
    return lines[0]


@pytest.fixture
def running() -> Iterator[subprocess.Popen[str]]:
    process = _start("--port", "0", "--rpm", "7")
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=WAIT)


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serves_then_stops_on_signal(running: subprocess.Popen[str], stop_signal: signal.Signals) -> None:
    line = _first_line(running)
    match = LINE.match(line.rstrip("\n"))
    assert match, line
    with openai.OpenAI(base_url=match.group(1), api_key="sk-test", timeout=10, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert raw.headers["x-ratelimit-limit-requests"] == "7"
    running.send_signal(stop_signal)
    stdout, stderr = running.communicate(timeout=WAIT)
    assert running.returncode == 0, stderr
    assert stdout == ""  # exactly one line in all
    assert "Traceback" not in stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "binds 127.0.0.1 only; refusing --host 0.0.0.0"),
        (["--host", "localhost"], "refusing --host localhost"),
        (["--fault", "explode"], "unknown fault"),
        (["--rpm", "0"], "--rpm and --tpm must be at least 1"),
    ],
)
def test_refuses_bad_arguments(args: list[str], message: str) -> None:
    process = _start("--port", "0", *args)
    stdout, stderr = process.communicate(timeout=WAIT)
    assert process.returncode == 2
    assert stdout == ""
    assert message in stderr
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_port_in_use_is_one_clear_line(running: subprocess.Popen[str]) -> None:
    match = LINE.match(_first_line(running).rstrip("\n"))
    assert match
    process = _start("--port", match.group(2))
    _, stderr = process.communicate(timeout=WAIT)
    assert process.returncode == 1
    assert stderr.startswith(f"error: cannot listen on 127.0.0.1:{match.group(2)}")
    assert len(stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_seeded_server_ignoring_limit_and_quiet_drops() -> None:
    process = _start(
        "--port", "0", "--seed-stored", "60", "--seed", "3", "--ignore-limit", "--fault", "list:drop;nth=2"
    )
    try:
        match = LINE.match(_first_line(process).rstrip("\n"))
        assert match
        with openai.OpenAI(base_url=match.group(1), api_key="sk-test", timeout=10, max_retries=0) as client:
            first = client.chat.completions.list(limit=5)
            assert len(first.data) == 20 and first.has_more  # --ignore-limit: pages of 20
            with pytest.raises(openai.APIConnectionError):
                first.get_next_page()  # the 2nd list request: dropped
            stream = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "one two three four"}],
                stream=True,
                extra_headers={"x-chatspan-fault": "drop-after=2"},
            )
            with pytest.raises((openai.APIConnectionError, httpx_remote_protocol_error())):
                list(stream)
            ids = [c.id for c in client.chat.completions.list(order="desc")]
        assert len(ids) == 60 == len(set(ids))
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=WAIT)
    assert process.returncode == 0
    assert stdout == ""
    assert stderr == ""  # no "Exception occurred during processing of request", no traceback


def httpx_remote_protocol_error() -> type[Exception]:
    """The error a dropped stream raises in openai 1.x, which lets httpx's error through."""
    for name in ("httpx2", "httpx"):
        try:
            error: type[Exception] = importlib.import_module(name).RemoteProtocolError
            return error
        except ImportError:
            continue
    return openai.APIConnectionError


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed-stored", "-1"], "--seed-stored must be at least 0"),
        (["--seed-days", "0", "--seed-stored", "3"], "--seed-days above 0"),
        (["--fault", "list:hang=9999"], "at most 600 seconds"),
        (["--background-seconds", "-1"], "--background-seconds must be at least 0"),
        (["--background-seconds", "nan"], "--background-seconds must be at least 0"),
        (["--fault", "chat:fail-after=2"], "only responses and responses.retrieve send"),
    ],
)
def test_refuses_bad_seeding_arguments(args: list[str], message: str) -> None:
    process = _start("--port", "0", *args)
    stdout, stderr = process.communicate(timeout=WAIT)
    assert process.returncode == 2
    assert stdout == ""
    assert message in stderr
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_background_seconds_paces_background_responses() -> None:
    """`--background-seconds 0`: a background response is queued when created and done when asked."""
    process = _start("--port", "0", "--background-seconds", "0")
    try:
        match = LINE.match(_first_line(process).rstrip("\n"))
        assert match
        with openai.OpenAI(base_url=match.group(1), api_key="sk-test", timeout=10, max_retries=0) as client:
            created: Any = client.post(
                "/responses", cast_to=object, body={"model": "gpt-4o-mini", "input": "hi", "background": True}
            )
            retrieved: Any = client.get(f"/responses/{created['id']}", cast_to=object)
        assert (created["status"], retrieved["status"]) == ("queued", "completed")
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=WAIT)
    assert process.returncode == 0
