"""Arize Phoenix as a real OTLP receiver for end-to-end tests: start it, read spans back, stop it.

Phoenix runs `phoenix serve` in a virtual environment of its own (its dependencies must not pick
chatspan's opentelemetry or openai versions), found through `CHATSPAN_PHOENIX_PYTHON` (its
interpreter) or `CHATSPAN_PHOENIX_VENV` (its directory), default `<repo>/.venv-phoenix`;
`scripts/phoenix-venv.sh` creates it. Every server gets free ports with all its listeners on
127.0.0.1, a fresh working directory (database, pid files) that `stop()` deletes, and the settings
that keep it from contacting anything on the internet by itself.

A span's project is the `openinference.project.name` resource attribute of the OTLP batch that
carried it (Phoenix's `get_project_name`); batches without it land in the project `default`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Final

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
DEFAULT_VENV: Final = REPO_ROOT / ".venv-phoenix"
PROJECT_RESOURCE_ATTRIBUTE: Final = "openinference.project.name"
INSTALL_COMMAND: Final = "scripts/phoenix-venv.sh"

_HOST: Final = "127.0.0.1"
_PAGE_SIZE: Final = 1000  # the largest `limit` Phoenix's span listing accepts
_POLL_INTERVAL: Final = 0.2
_REQUEST_TIMEOUT: Final = 10.0
_LOG_TAIL_LINES: Final = 40
_PROBE: Final = "import importlib.util, sys; sys.exit(importlib.util.find_spec('phoenix') is None)"

# Phoenix binds its OTLP/gRPC listener on every interface ("[::]:PORT", phoenix/server/grpc_server.py)
# and has no setting for that host, so the interpreter that runs it rebinds that one listener to
# loopback before handing over to Phoenix's own `main()`. It runs in Phoenix's venv: stdlib + grpc.
_LAUNCHER: Final = f"""
import sys

import grpc.aio

_create_server = grpc.aio.server


def _loopback_server(*args, **kwargs):
    server = _create_server(*args, **kwargs)
    add_insecure_port = server.add_insecure_port
    server.add_insecure_port = lambda address: add_insecure_port("{_HOST}:" + address.rsplit(":", 1)[-1])
    return server


grpc.aio.server = _loopback_server

from phoenix.server.main import main

sys.exit(main())
"""

# Settings that make Phoenix a quiet, local-only receiver (names from phoenix/config.py).
_PHOENIX_SETTINGS: Final = {
    # No public-internet requests of its own: telemetry pixels, web fonts, the WASM sandbox download.
    "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    "PHOENIX_TELEMETRY_ENABLED": "false",
    # Features a receiver does not need, each of which could reach out (agents, MCP, Prometheus port).
    "PHOENIX_DISABLE_AGENT_ASSISTANT": "true",
    "PHOENIX_ENABLE_MCP_SERVER": "false",
    "PHOENIX_ENABLE_PROMETHEUS": "false",
    "PHOENIX_ALLOWED_SANDBOX_PROVIDERS": "NONE",
    # Migration SQL would fill the log that a start-up failure quotes.
    "PHOENIX_LOG_MIGRATIONS": "false",
}


class PhoenixError(RuntimeError):
    """Phoenix is not installed, did not start, or answered unexpectedly."""


def phoenix_python() -> Path:
    """The interpreter of the Phoenix venv, from the environment or the default location.

    Raises PhoenixError, naming the command that installs it, when no Phoenix is found there.
    """
    explicit = os.environ.get("CHATSPAN_PHOENIX_PYTHON")
    if explicit:
        python = Path(explicit)
        where = f"CHATSPAN_PHOENIX_PYTHON={explicit}"
        install = f"{INSTALL_COMMAND} <venv-dir>"
    else:
        venv = Path(os.environ.get("CHATSPAN_PHOENIX_VENV") or DEFAULT_VENV)
        python = venv / "bin" / "python"
        where = f"the Phoenix venv {venv}"
        install = f"{INSTALL_COMMAND} {venv}"
    if not python.is_file():
        raise PhoenixError(f"no Phoenix found: {where} has no Python; create it with `{install}`")
    probe = subprocess.run(
        [str(python), "-c", _PROBE],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if probe.returncode != 0:
        raise PhoenixError(f"no Phoenix found: {where} cannot import phoenix; install it with `{install}`")
    return python


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Phoenix:
    """A running Phoenix server; `start_phoenix()` makes one, `stop()` ends it and deletes its data."""

    def __init__(
        self, process: subprocess.Popen[bytes], workdir: Path, log_path: Path, http_port: int, grpc_port: int
    ) -> None:
        self._process = process
        self._workdir = workdir
        self._log_path = log_path
        self.http_port = http_port
        self.grpc_port = grpc_port
        # The REST API and OTLP must be reached directly even where a proxy is configured.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    @property
    def endpoint(self) -> str:
        """The OTLP/HTTP base URL; spans are posted to `endpoint + "/v1/traces"`."""
        return f"http://{_HOST}:{self.http_port}"

    @property
    def traces_endpoint(self) -> str:
        """The full OTLP/HTTP traces URL, for `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`."""
        return f"{self.endpoint}/v1/traces"

    @property
    def grpc_endpoint(self) -> str:
        """The OTLP/gRPC URL."""
        return f"http://{_HOST}:{self.grpc_port}"

    def log(self) -> str:
        """The last lines Phoenix wrote to stdout and stderr, for failure messages."""
        try:
            lines = self._log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-_LOG_TAIL_LINES:])

    def running(self) -> bool:
        """True while the server process lives."""
        return self._process.poll() is None

    def wait_ready(self, timeout: float) -> None:
        """Wait until Phoenix answers its health check; raise PhoenixError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.running():
                raise PhoenixError(
                    f"Phoenix exited with code {self._process.returncode} while starting:\n{self.log()}"
                )
            try:
                with self._opener.open(f"{self.endpoint}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise PhoenixError(f"Phoenix did not become ready within {timeout:.0f} s:\n{self.log()}")
            time.sleep(_POLL_INTERVAL)

    def spans(self, project: str) -> list[dict[str, Any]]:
        """Every span of `project`, following `next_cursor` to the last page; [] for an unknown project.

        Each span is Phoenix's JSON: `name`, `context`, `status_code`, `status_message`, `events`, and
        `attributes` as flat dotted keys with JSON-typed values (ints stay ints, floats stay floats).
        """
        spans: list[dict[str, Any]] = []
        cursor: str | None = None
        path = f"/v1/projects/{urllib.parse.quote(project, safe='')}/spans"
        while True:
            query: dict[str, str | int] = {"limit": _PAGE_SIZE}
            if cursor is not None:
                query["cursor"] = cursor
            page = self._get_json(f"{path}?{urllib.parse.urlencode(query)}")
            if page is None:
                return []  # Phoenix creates a project with its first span
            spans.extend(page["data"])
            cursor = page.get("next_cursor")
            if not cursor:
                return spans

    def wait_for_spans(
        self, project: str, count: int, timeout: float, *, settle: float = 0.5
    ) -> list[dict[str, Any]]:
        """Poll `project` until it has at least `count` spans or `timeout` passes; return what is there.

        Phoenix acknowledges an OTLP export before it writes the spans, and writes them in batches, so
        once `count` are visible this waits `settle` seconds more and reads again: a test asserting an
        exact count then also sees spans beyond the ones it expected.
        """
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans(project)
            if len(spans) >= count:
                time.sleep(settle)
                return self.spans(project)
            if time.monotonic() > deadline:
                return spans
            time.sleep(_POLL_INTERVAL)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 15 s) and delete its working directory."""
        if self.running():
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def _get_json(self, path: str) -> dict[str, Any] | None:
        """GET a REST path; None on 404."""
        request = urllib.request.Request(f"{self.endpoint}{path}", headers={"Accept": "application/json"})
        try:
            with self._opener.open(request, timeout=_REQUEST_TIMEOUT) as response:
                body: dict[str, Any] = json.load(response)
                return body
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise PhoenixError(f"GET {path} answered {error.code}: {error.read()[:500]!r}") from error


def start_phoenix(*, ready_timeout: float = 60.0, python: Path | None = None) -> Phoenix:
    """Start `phoenix serve` on free loopback ports and wait until it is ready.

    Raises PhoenixError when the Phoenix venv is missing (naming the command that creates it), or
    when Phoenix exits or is not ready within `ready_timeout` seconds (quoting its log).
    """
    interpreter = python or phoenix_python()
    workdir = Path(tempfile.mkdtemp(prefix="chatspan-phoenix-"))
    log_path = workdir / "phoenix.log"
    http_port, grpc_port = free_port(), free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(interpreter), "-c", _LAUNCHER, "serve"],
            env=_phoenix_environment(workdir, http_port, grpc_port),
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    phoenix = Phoenix(process, workdir, log_path, http_port, grpc_port)
    try:
        phoenix.wait_ready(ready_timeout)
    except BaseException:
        phoenix.stop()
        raise
    return phoenix


def _phoenix_environment(workdir: Path, http_port: int, grpc_port: int) -> dict[str, str]:
    # Nothing of the caller's OpenTelemetry or Phoenix configuration may reach the server: an
    # OTEL_* exporter setting would make Phoenix trace itself somewhere, a PHOENIX_* one reconfigure it.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "PHOENIX_")) and key not in ("PYTHONPATH", "PYTHONHOME")
    }
    env.update(_PHOENIX_SETTINGS)
    env.update(
        {
            "PHOENIX_HOST": _HOST,
            "PHOENIX_PORT": str(http_port),
            "PHOENIX_GRPC_PORT": str(grpc_port),
            # The SQLite database and exports live here; the pid files under the temp dir.
            "PHOENIX_WORKING_DIR": str(workdir),
            "TMPDIR": str(workdir),
            "HOME": str(workdir),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


if __name__ == "__main__":
    # `python tests/support/phoenix.py`: start one, print its endpoints, serve until Ctrl-C.
    started = time.monotonic()
    server = start_phoenix()
    print(f"Phoenix ready in {time.monotonic() - started:.1f} s")
    print(f"OTLP/HTTP {server.traces_endpoint}, OTLP/gRPC {server.grpc_endpoint}")
    try:
        while server.running():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    sys.exit(0)
