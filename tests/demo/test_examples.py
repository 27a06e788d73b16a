"""The examples besides app.py (tests/e2e covers it), run as their READMEs say, spans read back."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.demo.harness import CHAT_CALLS, TOUR_SPANS
from tests.support.otlp_receiver import otlp_receiver
from tests.support.phoenix import REPO_ROOT

pytestmark = pytest.mark.slow

EXAMPLES = REPO_ROOT / "examples"
TIMEOUT = 180.0


def _env(**extra: str) -> dict[str, str]:
    """No OpenAI settings (the examples start their own devserver) and no stray OTEL_* ones."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "OPENAI_", "CHATSPAN_"))
    }
    env.update({"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", **extra})
    return env


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done


def test_instrumented_app_traces_the_tour_in_code() -> None:
    """app.py's tour, Responses calls included; on an openai before 1.66 the 7 chat calls alone."""
    with otlp_receiver() as receiver:
        done = _run(
            [sys.executable, str(EXAMPLES / "instrumented_app.py")],
            _env(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=receiver.endpoint),
        )
        spans = receiver.spans()
    console = [line.split() for line in done.stdout.splitlines() if line.startswith("  span ")]
    assert len(console) == TOUR_SPANS, done.stdout
    api_types = [
        span.attributes["openai.api.type"] for span in sorted(spans, key=lambda span: span.start_unix_nano)
    ]
    assert api_types == ["chat_completions"] * CHAT_CALLS + ["responses"] * (TOUR_SPANS - CHAT_CALLS)
    assert [line[-1] for line in console].count("ERROR") == 1
    assert sorted(span.attributes["openai.request.id"] for span in spans) == sorted(
        re.findall(r"request (req_\w+)", "\n".join(" ".join(line) for line in console))
    )
    assert {span.resource["service.name"] for span in spans} == {"chatspan-instrumented-example"}
    assert "metric  gen_ai.client.operation.duration (s)" in done.stdout


def test_async_streams_each_get_one_span_ended_exactly_once() -> None:
    with otlp_receiver() as receiver:
        done = _run(
            [
                str(Path(sys.executable).parent / "opentelemetry-instrument"),
                sys.executable,
                str(EXAMPLES / "async_stream.py"),
            ],
            _env(
                OTEL_TRACES_EXPORTER="otlp",
                OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="http/protobuf",
                OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=receiver.endpoint,
                OTEL_METRICS_EXPORTER="none",
                OTEL_LOGS_EXPORTER="none",
                CHATSPAN_STREAM_INCLUDE_USAGE="true",
            ),
        )
        spans = receiver.spans()
    outcomes = [
        line.split()[0] for line in done.stdout.splitlines() if line.startswith(("complete", "abandoned"))
    ]
    assert sorted(outcomes) == ["abandoned", "complete", "complete"], done.stdout
    assert len(spans) == 3 and receiver.duplicates() == {}
    for span in spans:
        assert span.attributes["gen_ai.request.stream"] is True
        assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0
    # Usage arrives in the stream's last chunk: only the streams read to the end have it.
    assert sum("gen_ai.usage.output_tokens" in span.attributes for span in spans) == 2


def test_backfill_walkthrough_resumes_to_every_completion_once() -> None:
    with otlp_receiver() as receiver:
        done = _run(
            [sys.executable, str(EXAMPLES / "backfill_walkthrough.py")],
            _env(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=receiver.endpoint),
        )
        spans = receiver.spans()
    assert "exit 130: {'listed':" in done.stdout, "the interrupted run must say so"
    resumed = re.search(r"(\d+) before the interrupt \+ (\d+) after it = (\d+) exported", done.stdout)
    assert resumed, done.stdout
    before, after, total = (int(group) for group in resumed.groups())
    assert before > 0 and after > 0 and total >= 2000
    # Every stored completion reached the receiver; a batch in flight at Ctrl-C may come twice.
    assert len({span.span_id for span in spans}) == 2000
    assert len(spans) == total
