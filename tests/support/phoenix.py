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

from scripts.demo_phoenix import HOST, LAUNCHER, PhoenixError, phoenix_environment, read_spans

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
DEFAULT_VENV: Final = REPO_ROOT / ".venv-phoenix"
PROJECT_RESOURCE_ATTRIBUTE: Final = "openinference.project.name"
INSTALL_COMMAND: Final = "scripts/phoenix-venv.sh"

_HOST: Final = HOST
_POLL_INTERVAL: Final = 0.2
_LOG_TAIL_LINES: Final = 40
_PROBE: Final = "import importlib.util, sys; sys.exit(importlib.util.find_spec('phoenix') is None)"


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
        """Every span of `project` (see `read_spans`); [] for an unknown project."""
        return read_spans(self._opener, self.endpoint, project)

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
            read_from = time.monotonic()
            spans = self.spans(project)
            if len(spans) >= count:
                time.sleep(settle)
                return self.spans(project)
            if time.monotonic() > deadline:
                return spans
            # Reading thousands of spans back takes Phoenix seconds that its writer then lacks:
            # wait at least as long as the read took, so polling never takes most of its time.
            time.sleep(max(_POLL_INTERVAL, time.monotonic() - read_from))

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
            [str(interpreter), "-c", LAUNCHER, "serve"],
            env=phoenix_environment(workdir, http_port, grpc_port),
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
