"""The demo's trace viewer: Arize Phoenix, started detached on 127.0.0.1, left running for the user.

Unlike the test suite's Phoenix (tests/support/phoenix.py), this one outlives the process that
started it: it gets a session of its own (so the terminal's Ctrl-C and the end of `make` do not
reach it), a working directory under the demo directory that survives it, and a pid file that
`scripts/demo-stop.sh` reads. The loopback launcher, the quiet settings and the span reader here
are also what the test suite's Phoenix (tests/support/phoenix.py) runs with.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final

from scripts.demo_processes import Started, start_detached

HOST: Final = "127.0.0.1"
PREFERRED_PORT: Final = 6006
"""Phoenix's usual port, so the URL is the one Phoenix's own docs show; any free port when taken."""

_PAGE_SIZE: Final = 1000
_POLL_INTERVAL: Final = 0.25

# Phoenix binds its OTLP/gRPC listener on every interface ("[::]:PORT") and has no setting for that
# host, so the interpreter that runs it rebinds that listener to loopback before Phoenix's `main()`.
LAUNCHER: Final = f"""
import sys

import grpc.aio

_create_server = grpc.aio.server


def _loopback_server(*args, **kwargs):
    server = _create_server(*args, **kwargs)
    add_insecure_port = server.add_insecure_port
    server.add_insecure_port = lambda address: add_insecure_port("{HOST}:" + address.rsplit(":", 1)[-1])
    return server


grpc.aio.server = _loopback_server

from phoenix.server.main import main

sys.exit(main())
"""

# Settings that keep Phoenix local and quiet: no telemetry, no external fonts or downloads, none of
# the agent, MCP or Prometheus features (each of which could listen or reach out).
SETTINGS: Final = {
    "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    "PHOENIX_TELEMETRY_ENABLED": "false",
    "PHOENIX_DISABLE_AGENT_ASSISTANT": "true",
    "PHOENIX_ENABLE_MCP_SERVER": "false",
    "PHOENIX_ENABLE_PROMETHEUS": "false",
    "PHOENIX_ALLOWED_SANDBOX_PROVIDERS": "NONE",
    "PHOENIX_LOG_MIGRATIONS": "false",
}


class PhoenixError(RuntimeError):
    """Phoenix did not start, or its REST API answered unexpectedly."""


class DemoPhoenix:
    """A Phoenix the demo started; it keeps running after this object is gone."""

    def __init__(self, started: Started, port: int, log_path: Path) -> None:
        self.process = started
        self.port = port
        self.log_path = log_path
        # Loopback must be reached directly even where the user has an HTTP proxy configured.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    @property
    def url(self) -> str:
        """The UI, REST API and OTLP/HTTP base URL."""
        return f"http://{HOST}:{self.port}"

    @property
    def traces_endpoint(self) -> str:
        """For OTEL_EXPORTER_OTLP_TRACES_ENDPOINT."""
        return f"{self.url}/v1/traces"

    def project_url(self, project: str, time_range: tuple[int, int] | None = None) -> str:
        """A UI link that opens the project; with `time_range` (start, end in ns), over that range.

        Phoenix's project page shows its default range (the last few days) unless the URL says
        otherwise, and its `/redirects/projects/NAME` link drops the query: so a link with a
        range goes to `/projects/ID` itself, with the ID from the REST API.
        """
        if time_range is None:
            return f"{self.url}/redirects/projects/{urllib.parse.quote(project, safe='')}"
        return f"{self.url}/projects/{self.project_id(project)}{time_range_query(*time_range)}"

    def trace_url(self, trace_id: str) -> str:
        """A UI link that opens one trace by its OpenTelemetry id.

        It carries no time range: Phoenix 20.26 opens the trace of `/projects/ID/traces/TRACE`
        only when that URL has no query (checked in headless Chromium), and the trace view shows
        every span of the trace whatever the range.
        """
        return f"{self.url}/redirects/traces/{trace_id}"

    def project_id(self, project: str) -> str:
        """The project's Phoenix id (`GET /v1/projects/{name}`); PhoenixError when it has none."""
        path = f"/v1/projects/{urllib.parse.quote(project, safe='')}"
        request = urllib.request.Request(f"{self.url}{path}", headers={"Accept": "application/json"})
        try:
            with self._opener.open(request, timeout=10) as response:
                body: dict[str, Any] = json.load(response)
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise PhoenixError(f"GET {path} failed: {error}") from error
        return str(body["data"]["id"])

    def log_tail(self, lines: int = 30) -> str:
        """The end of Phoenix's log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_ready(self, timeout: float) -> None:
        """Wait for the health check; raise PhoenixError (quoting the log) on exit or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.process.running():
                raise PhoenixError(f"Phoenix exited while starting; its log ends:\n{self.log_tail()}")
            try:
                with self._opener.open(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise PhoenixError(f"Phoenix not ready after {timeout:.0f} s; log:\n{self.log_tail()}")
            time.sleep(_POLL_INTERVAL)

    def spans(self, project: str) -> list[dict[str, Any]]:
        """Every span Phoenix stored for `project` (REST `GET /v1/projects/{project}/spans`)."""
        return read_spans(self._opener, self.url, project)

    def wait_for_spans(self, project: str, count: int, timeout: float) -> list[dict[str, Any]]:
        """Poll until `project` holds `count` spans (Phoenix writes after it acknowledges) or time is up."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans(project)
            if len(spans) >= count or time.monotonic() > deadline:
                return spans
            time.sleep(_POLL_INTERVAL)


def time_range_query(start_ns: int, end_ns: int) -> str:
    """`?timeRangeStart=...&timeRangeEnd=...`: the custom time range Phoenix's UI reads from its URL.

    Widened to whole minutes around the spans (a span at the very edge stays inside), the end
    at least a minute after the start.
    """
    start = (start_ns // 1_000_000_000 // 60) * 60
    end = max(-(-end_ns // 1_000_000_000 // 60) * 60 + 60, start + 60)
    query = {"timeRangeStart": _iso_utc(start), "timeRangeEnd": _iso_utc(end)}
    return "?" + urllib.parse.urlencode(query)


def _iso_utc(seconds: int) -> str:
    # As the UI writes it (Date.toISOString()): milliseconds and Z.
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def read_spans(opener: urllib.request.OpenerDirector, base_url: str, project: str) -> list[dict[str, Any]]:
    """Every span of `project`, following `next_cursor` to the last page; [] for an unknown project.

    Each span is Phoenix's JSON: `name`, `context`, `parent_id`, `start_time`, `status_code`,
    `events`, and `attributes` as flat dotted keys with JSON-typed values (ints stay ints).
    """
    spans: list[dict[str, Any]] = []
    cursor: str | None = None
    path = f"/v1/projects/{urllib.parse.quote(project, safe='')}/spans"
    while True:
        query: dict[str, str | int] = {"limit": _PAGE_SIZE}
        if cursor is not None:
            query["cursor"] = cursor
        request = urllib.request.Request(
            f"{base_url}{path}?{urllib.parse.urlencode(query)}", headers={"Accept": "application/json"}
        )
        try:
            with opener.open(request, timeout=10) as response:
                page: dict[str, Any] = json.load(response)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return []  # Phoenix creates a project with its first span
            raise PhoenixError(f"GET {path} answered {error.code}: {error.read()[:500]!r}") from error
        spans.extend(page["data"])
        cursor = page.get("next_cursor")
        if not cursor:
            return spans


def start_phoenix(python: Path, workdir: Path, *, port: int | None) -> DemoPhoenix:
    """Start `phoenix serve` detached, every listener on 127.0.0.1, its data under `workdir`.

    `port` None tries 6006 and falls back to a free port; 0 always takes a free one. Returns at once:
    call `wait_ready()`.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    http_port = _port(PREFERRED_PORT if port is None else port)
    grpc_port = _port(0)
    log_path = workdir / "phoenix.log"
    started = start_detached(
        [str(python), "-c", LAUNCHER, "serve"],
        env=phoenix_environment(workdir, http_port, grpc_port),
        cwd=workdir,
        log_path=log_path,
    )
    return DemoPhoenix(started, http_port, log_path)


def _port(wanted: int) -> int:
    """`wanted` when it can be bound on 127.0.0.1 now, else a port the OS picks."""
    for candidate in (wanted, 0) if wanted else (0,):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # As the server will: a port still in TIME_WAIT from the last demo's Phoenix is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, candidate))
            except OSError:
                continue
            port: int = sock.getsockname()[1]
            return port
    raise PhoenixError("no free port on 127.0.0.1")


def phoenix_environment(workdir: Path, http_port: int, grpc_port: int) -> dict[str, str]:
    """The environment `phoenix serve` runs with: loopback ports, its data in `workdir`, quiet."""
    # None of the user's OpenTelemetry or Phoenix settings may reach the server: an OTEL_* exporter
    # would make Phoenix trace itself somewhere, a PHOENIX_* one could rebind or reconfigure it.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "PHOENIX_")) and key not in ("PYTHONPATH", "PYTHONHOME")
    }
    env.update(SETTINGS)
    env.update(
        {
            "PHOENIX_HOST": HOST,
            "PHOENIX_PORT": str(http_port),
            "PHOENIX_GRPC_PORT": str(grpc_port),
            "PHOENIX_WORKING_DIR": str(workdir),
            "TMPDIR": str(workdir),
            "HOME": str(workdir),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env
