"""The demo's parts on their own: the relay, the text view, the Phoenix settings, demo-stop."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from scripts.demo_phoenix import DemoPhoenix, PhoenixError, time_range_query
from scripts.demo_processes import start_detached, start_time
from scripts.demo_relay import OtlpRelay, RelayConfigError, Upstream
from scripts.demo_view import SentSpan, build_view

from tests.demo.harness import DEMO_STOP
from tests.support.phoenix import REPO_ROOT


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({}, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318"}, "http://localhost:4318/v1/traces"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}, "http://collector:4318/v1/traces"),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://ignored:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://otlp.example/custom/path",
            },
            "https://otlp.example/custom/path",
        ),
    ],
)
def test_upstream_follows_the_otlp_exporter_variables(environ: dict[str, str], url: str | None) -> None:
    upstream = Upstream.from_environment(environ)
    assert (upstream.url if upstream else None) == url


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://h:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "4318"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "localhost:4318"}, "http://"),
    ],
)
def test_upstream_refuses_what_it_cannot_relay(environ: dict[str, str], message: str) -> None:
    with pytest.raises(RelayConfigError, match=message):
        Upstream.from_environment(environ)


class _Upstream:
    """A receiver that records each request's body and headers and answers `status`."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[tuple[bytes, dict[str, str]]] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                upstream.requests.append((body, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(upstream.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"


@contextmanager
def _upstream() -> Iterator[_Upstream]:
    upstream = _Upstream()
    thread = threading.Thread(target=upstream.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        upstream.server.shutdown()
        upstream.server.server_close()


def _export(span_name: str) -> bytes:
    span = Span(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name=span_name, start_time_unix_nano=5)
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])]
    )
    body: bytes = request.SerializeToString()
    return body


def _post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/x-protobuf"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


def test_relay_forwards_bytes_and_headers_and_keeps_only_what_was_accepted() -> None:
    with _upstream() as upstream:
        relay = OtlpRelay(Upstream(upstream.url, {"x-team": "demo"})).start()
        try:
            assert _post(relay.traces_endpoint, _export("accepted")) == 200
            upstream.status = 503
            assert _post(relay.traces_endpoint, _export("refused")) == 503
        finally:
            relay.stop()
    assert [body for body, _ in upstream.requests] == [_export("accepted"), _export("refused")]
    assert all(headers["x-team"] == "demo" for _, headers in upstream.requests)
    assert [span.name for span in relay.spans()] == ["accepted"]
    assert relay.refused == 1 and "503" in relay.last_error


def test_relay_answers_503_when_the_upstream_is_unreachable() -> None:
    with _upstream() as upstream:
        url = upstream.url  # closed when the block ends: nothing listens there afterwards
    relay = OtlpRelay(Upstream(url, {})).start()
    try:
        assert _post(relay.traces_endpoint, _export("lost")) == 503
    finally:
        relay.stop()
    assert relay.spans() == [] and "cannot reach" in relay.last_error


def _span(
    name: str,
    span_id: str,
    *,
    source: str,
    start: int,
    parent: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> SentSpan:
    attributes = attributes or {}
    return SentSpan(
        trace_id="t" * 32,
        span_id=span_id,
        parent_id=parent,
        name=name,
        start_ns=start,
        end_ns=start + (3_500_000 if source == "live" else 0),
        status="ERROR" if "error.type" in attributes else "UNSET",
        attributes={"chatspan.source": source, **attributes},
    )


def test_view_nests_linked_spans_and_samples_the_rest() -> None:
    spans = [
        _span(
            "chat m",
            "a",
            source="live",
            start=10,
            attributes={
                "openai.request.id": "req_a",
                "gen_ai.usage.input_tokens": 6,
                "gen_ai.usage.output_tokens": 10,
                "openai.processing.duration": 0.012,
            },
        ),
        _span(
            "chat m",
            "b",
            source="live",
            start=20,
            attributes={"error.type": "500", "openai.request.id": "req_b"},
        ),
        _span(
            "stored chat m",
            "c",
            source="backfill",
            start=9,
            parent="a",
            attributes={"openai.request.id": "req_a"},
        ),
        *(_span(f"chat old{i}", f"o{i}", source="backfill", start=i) for i in range(8)),
    ]
    view = build_view(spans, sample=3)
    assert view.linked_trace == "t" * 32
    lines = [line.split() for line in view.table]
    assert lines[1] == ["chat", "m", "3.5", "ms", "6+10", "12.0", "ms", "req_a"]
    assert lines[2][:4] == ["└", "stored", "chat", "m"] and lines[2][-1] == "req_a"
    assert lines[3][-3:] == ["req_b", "ERROR", "500"]
    assert view.table[4] == "backfilled from the stored list, newest 3 of 8:"
    assert [line[1] for line in lines[5:8]] == ["old7", "old6", "old5"]
    assert view.table[8] == "... and 5 more"
    assert len(view.full_table) == 4 + 1 + 8
    assert view.summary[0].startswith("11 spans: 2 live from examples/app.py, 9 backfilled")


def test_view_marks_the_responses_spans_among_the_live_ones() -> None:
    """A Responses span has the same name as a chat completion's: its line says which it is."""
    spans = [
        _span("chat m", "a", source="live", start=10, attributes={"openai.request.id": "req_a"}),
        _span(
            "chat m",
            "b",
            source="live",
            start=20,
            attributes={
                "openai.api.type": "responses",
                "gen_ai.request.stream": False,
                "openai.request.id": "req_b",
            },
        ),
        _span(
            "chat m",
            "c",
            source="live",
            start=30,
            attributes={
                "openai.api.type": "responses",
                "gen_ai.request.stream": True,
                "openai.request.id": "req_c",
            },
        ),
        _span(
            "chat m",
            "d",
            source="live",
            start=40,
            attributes={"openai.api.type": "chat_completions", "gen_ai.request.stream": True},
        ),
    ]
    view = build_view(spans)
    lines = [line.split() for line in view.table[1:]]
    assert [line[-1] for line in lines] == ["req_a", "responses", "stream", "-"]
    assert lines[1][-2:] == ["req_b", "responses"]
    assert lines[2][-3:] == ["req_c", "responses", "stream"]
    assert view.summary[0].startswith(
        "4 spans: 4 live from examples/app.py (2 chat completions, 2 Responses API calls), 0 backfilled"
    )


def _sleeper(tmp_path: Path) -> Any:
    return start_detached(
        [sys.executable, "-c", "import time; time.sleep(120)"], env={}, log_path=tmp_path / "log"
    )


def test_demo_stop_ends_a_recorded_process_group(tmp_path: Path) -> None:
    sleeper = _sleeper(tmp_path)
    sleeper.record(tmp_path / "sleeper.pid", "sleeper")
    done = _demo_stop(tmp_path)
    assert f"stopping sleeper (pid {sleeper.pid})" in done.stdout
    deadline = time.monotonic() + 10
    while sleeper.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not sleeper.running()
    assert not (tmp_path / "sleeper.pid").exists()


def test_demo_stop_leaves_a_recycled_pid_alone(tmp_path: Path) -> None:
    sleeper = _sleeper(tmp_path)
    try:
        assert start_time(sleeper.pid) != "-"
        # The same pid, started at another time: some other process got the demo's old pid.
        (tmp_path / "old.pid").write_text(f"{sleeper.pid} 1 phoenix\n")
        done = _demo_stop(tmp_path)
        assert f"pid {sleeper.pid} is no longer the demo's phoenix; left alone" in done.stdout
        time.sleep(0.2)
        assert sleeper.running()
    finally:
        sleeper.stop()


def _demo_stop(state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DEMO_STOP)],
        env={"PATH": "/usr/bin:/bin", "CHATSPAN_DEMO_DIR": str(state)},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_view_knows_the_time_range_of_its_spans() -> None:
    spans = [
        _span("chat m", "a", source="live", start=5_000_000_000),
        _span("chat old", "o", source="backfill", start=1_000_000_000),
    ]
    view = build_view(spans)
    assert (view.earliest_ns, view.latest_ns) == (1_000_000_000, 5_000_000_000 + 3_500_000)
    assert build_view([]).earliest_ns is None


def test_time_range_query_covers_the_spans_in_whole_minutes() -> None:
    start_ns = 1_790_000_030 * 10**9 + 5  # 30 s into a minute
    end_ns = 1_790_003_000 * 10**9
    query = urllib.parse.parse_qs(time_range_query(start_ns, end_ns).removeprefix("?"))
    start = datetime.fromisoformat(query["timeRangeStart"][0].replace("Z", "+00:00"))
    end = datetime.fromisoformat(query["timeRangeEnd"][0].replace("Z", "+00:00"))
    assert start.timestamp() <= start_ns / 1e9 < end_ns / 1e9 < end.timestamp()
    assert start.second == end.second == 0
    assert query["timeRangeStart"][0].endswith(".000Z"), "as the UI writes it: Date.toISOString()"
    single = urllib.parse.parse_qs(time_range_query(start_ns, start_ns).removeprefix("?"))
    assert single["timeRangeStart"] != single["timeRangeEnd"], "a range of one instant is still a range"


def test_project_and_trace_links_carry_the_range_and_the_project_id() -> None:
    class Projects(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"data": {"id": "UHJvamVjdDox", "name": "chatspan-demo"}}'
            self.send_response(200 if self.path == "/v1/projects/chatspan-demo" else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Projects)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        phoenix = DemoPhoenix(_sleeper_stub(), server.server_address[1], Path("/nonexistent"))
        time_range = (1_790_000_030 * 10**9, 1_790_003_000 * 10**9)
        query = time_range_query(*time_range)
        assert (
            phoenix.project_url("chatspan-demo", time_range) == f"{phoenix.url}/projects/UHJvamVjdDox{query}"
        )
        assert phoenix.trace_url("ab" * 16) == f"{phoenix.url}/redirects/traces/{'ab' * 16}"
        assert phoenix.project_url("chatspan-demo") == f"{phoenix.url}/redirects/projects/chatspan-demo"
        with pytest.raises(PhoenixError, match="GET /v1/projects/other"):
            phoenix.project_url("other", time_range)
    finally:
        server.shutdown()
        server.server_close()


def _sleeper_stub() -> Any:
    """The process handle DemoPhoenix keeps; these tests never start or stop it."""
    return None


def test_view_shows_each_backfilled_batch_as_its_root_and_a_few_lines() -> None:
    root = _span("batch batch_1", "r", source="backfill", start=50)
    batch_lines = [
        _span(
            "chat m",
            f"l{i}",
            source="backfill",
            start=60 + i,
            parent="r",
            attributes={"openai.request.id": f"req_l{i}"},
        )
        for i in range(4)
    ]
    empty_root = _span("batch batch_2", "e", source="backfill", start=40)
    spans = [
        _span("chat m", "a", source="live", start=100),
        _span("chat old", "o", source="backfill", start=5),
        root,
        *batch_lines,
        empty_root,
    ]
    view = build_view(spans)
    assert view.table[2] == "backfilled from the stored list, newest 1 of 1:"
    assert view.table[4] == "backfilled batches (`chatspan backfill --batches`), 2 traces:"
    assert view.table[5].split()[:2] == ["batch", "batch_1"]
    assert [line.split()[-1] for line in view.table[6:8]] == ["req_l0", "req_l1"]
    assert view.table[8].strip() == "└ ... and 2 more lines"
    assert view.table[9].split()[:2] == ["batch", "batch_2"]
    assert len(view.full_table) == len(view.table) - 1 + 2  # every line, no "... and" line
    assert view.batch_trace == root.trace_id
    assert view.summary[0].startswith("8 spans: 1 live from examples/app.py, 7 backfilled")
    assert view.summary[1].startswith("6 of the backfilled spans are 2 batch traces")
