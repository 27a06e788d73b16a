"""Run `chatspan backfill` the way a user does: a real subprocess with OTEL_* and OPENAI_* variables."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest

from chatspan.backfill.spans import span_ids
from chatspan.devserver import DevServer
from tests.support.fault_waits import FaultWaits

API_KEY = "sk-backfill-test-5d41402abc4b2a76b9719d911017c592"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def summary(self) -> dict[str, Any]:
        """The `--json` summary: the last line of stdout."""
        data: dict[str, Any] = json.loads(self.stdout.strip().splitlines()[-1])
        return data


def environment(server: DevServer, endpoint: str, state: Path, **extra: str) -> dict[str, str]:
    """The variables a user sets, and nothing inherited that could point elsewhere."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "OPENAI_"))}
    env.update(
        {
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_BASE_URL": server.base_url,
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "2",
            "OTEL_SERVICE_NAME": "backfill-test",
            "XDG_STATE_HOME": str(state),
        }
    )
    env.update(extra)
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "chatspan", "backfill", "--json", "--since", "31d", *args]


def interrupt_twice_while_hanging(
    args: list[str], env: dict[str, str], waits: FaultWaits, stderr_path: Path
) -> Run:
    """Run the CLI until the server's fault wait begins, Ctrl-C it, see that it waits, Ctrl-C again.

    The first Ctrl-C must only ask for a stop after the batch in flight (the CLI says so on
    stderr and keeps running while the request hangs); the second must end it at once.
    """
    with stderr_path.open("w") as stderr_file:
        process = subprocess.Popen(
            args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr_file, text=True
        )
        assert waits.started.wait(60), "the request never started hanging"
        process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 30
        while "again to abort" not in stderr_path.read_text():
            assert time.monotonic() < deadline, "the first Ctrl-C was never acknowledged"
            time.sleep(0.05)
        assert process.poll() is None, "the first Ctrl-C waits for the batch in flight"
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=30)
    return Run(process.returncode, stdout, stderr_path.read_text())


def backfill(env: dict[str, str], *args: str, timeout: float = 180) -> Run:
    """Run a backfill to its end (bounded by `timeout`)."""
    done = subprocess.run(
        command(*args), env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return Run(done.returncode, done.stdout, done.stderr)


def stored_span_ids(server: DevServer) -> set[str]:
    """The span ids the stored set must produce, in the receiver's hex form."""
    return {f"{span_ids(completion_id)[1]:016x}" for completion_id in server.stored}


EXIT = {"ok": 0, "usage": 2, "config": 3, "auth": 4, "api": 5, "export": 6, "interrupted": 130}
"""The exit codes `chatspan` documents."""


def summaries(run: Run) -> tuple[list[str], list[dict[str, Any]]]:
    """The final progress lines (stderr) and the `--json` objects (stdout) a run printed."""
    done = [line for line in run.stderr.splitlines() if line.startswith("chatspan backfill: done: ")]
    objects = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    return done, objects


def assert_one_summary(run: Run) -> dict[str, Any]:
    """Exactly one final line and one `--json` object, whatever ended the run; the object."""
    done, objects = summaries(run)
    assert len(done) == 1, f"{len(done)} final lines:\n{run.stderr}"
    assert len(objects) == 1, f"{len(objects)} summaries:\n{run.stdout}"
    return objects[0]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def chatspan(env: dict[str, str], *args: str, timeout: float = 120, stdin: str | None = None) -> Run:
    """`chatspan ARGS...` as typed, nothing added (`stdin`: what is piped in; else nothing)."""
    done = subprocess.run(
        [sys.executable, "-m", "chatspan", *args],
        env=env,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


HAS_RESPONSES = importlib.util.find_spec("openai.resources.responses") is not None
"""openai 1.63.2 predates `client.responses` (added in 1.66): `chatspan` says so there instead."""

needs_responses = pytest.mark.skipif(
    not HAS_RESPONSES,
    reason=f"openai {openai.__version__} predates client.responses: "
    "test_get_response.test_an_sdk_without_the_responses_api_is_one_line covers it",
)
"""For the tests of the stored-responses commands, which need an SDK that has the Responses API."""


def create_responses(server: DevServer, count: int, **create: Any) -> list[Any]:
    """Store `count` responses through the real openai client, each with its own input."""
    import openai

    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
    return [
        client.responses.create(
            **{"model": "gpt-4o-mini", "input": f"question {index}", "metadata": {"n": str(index)}, **create}
        )
        for index in range(count)
    ]


def response_span_id(response_id: str) -> str:
    """The span id a backfilled response carries, in the receiver's hex form."""
    return f"{span_ids(response_id)[1]:016x}"
