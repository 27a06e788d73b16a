"""A raw-socket HTTP/1.1 server that answers chat completions with scripted hostile responses.

Each request picks its case by the `x-hostile-case` header, else by its `model` field (see
`hostile_cases.CASES`). A case is a script of steps: bytes to send, pauses, and a reset (SO_LINGER 0
close). Every connection lives at most `CONNECTION_DEADLINE` seconds and reads time out, so no test
can hang on the server; the server itself stops within a second of leaving its `with` block.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

CONNECTION_DEADLINE = 5.0
"""Seconds a connection may live: the safety net behind every scripted bound."""

READ_TIMEOUT = 3.0
"""Seconds the server waits for the next bytes of a request before dropping the connection."""

_MAX_REQUEST = 1 << 20


@dataclass(frozen=True)
class Send:
    """Write these bytes to the client."""

    data: bytes


@dataclass(frozen=True)
class Pause:
    """Wait (bounded by the connection's deadline)."""

    seconds: float


@dataclass(frozen=True)
class Reset:
    """Close with SO_LINGER 0, so the client sees a connection reset instead of an orderly end."""


Step = Send | Pause | Reset


@dataclass(frozen=True)
class Request:
    """One parsed request."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def payload(self) -> dict[str, Any]:
        """The JSON body as a dict (empty when it is not one)."""
        try:
            loaded = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}

    @property
    def case(self) -> str:
        """The case this request asks for."""
        return self.headers.get("x-hostile-case") or str(self.payload().get("model", ""))

    @property
    def stream(self) -> bool:
        """True for `stream=True` requests."""
        return self.payload().get("stream") is True

    @property
    def include_usage(self) -> bool:
        """True when the request asked for a final usage chunk."""
        options = self.payload().get("stream_options")
        return isinstance(options, dict) and options.get("include_usage") is True

    @property
    def call_id(self) -> str:
        """The caller's `x-call-id` (echoed into ids so concurrent calls can be told apart)."""
        return self.headers.get("x-call-id", "0")

    @property
    def model(self) -> str:
        """The request's model field as text."""
        return str(self.payload().get("model", ""))


Script = Iterable[Step]
Case = Callable[[Request], Script]


class HostileServer:
    """The server: `with HostileServer(cases) as server: server.base_url`."""

    def __init__(self, cases: dict[str, Case], *, connection_deadline: float = CONNECTION_DEADLINE) -> None:
        self._cases = cases
        self._deadline = connection_deadline
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept_loop, name="hostile-accept", daemon=True)
        self.requests_served = 0

    @property
    def base_url(self) -> str:
        """The `base_url` for an openai client."""
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> HostileServer:
        self._acceptor.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def live_threads(self) -> int:
        """Connection threads still running."""
        with self._lock:
            return sum(thread.is_alive() for thread in self._threads)

    def stop(self) -> None:
        """Stop accepting, cut open connections, and wait (bounded) for every thread."""
        self._stop.set()
        self._acceptor.join(timeout=2.0)
        self._listener.close()
        with self._lock:
            for conn in list(self._open):
                _reset(conn)
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=2.0)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), name="hostile-conn", daemon=True)
            with self._lock:
                self._open.add(conn)
                self._threads = [t for t in self._threads if t.is_alive()]
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        deadline = time.monotonic() + self._deadline
        reset = False
        try:
            # Scripts write small pieces on purpose; Nagle would hold each one back for an ACK.
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(READ_TIMEOUT)
            request = _read_request(conn)
            if request is None:
                return
            with self._lock:
                self.requests_served += 1
            case = self._cases.get(request.case) or self._cases["not-found"]
            for step in case(request):
                if self._stop.is_set() or time.monotonic() >= deadline:
                    reset = True
                    break
                if isinstance(step, Send):
                    conn.settimeout(max(0.05, deadline - time.monotonic()))
                    conn.sendall(step.data)
                elif isinstance(step, Pause):
                    remaining = deadline - time.monotonic()
                    if self._stop.wait(min(step.seconds, max(0.0, remaining))) or step.seconds >= remaining:
                        reset = True  # cut by the deadline or by stop(): the script did not finish
                        break
                else:
                    reset = True
                    break
        except OSError:
            reset = True
        finally:
            with self._lock:
                self._open.discard(conn)
            if reset:
                _reset(conn)
            else:
                _close(conn)


def _read_request(conn: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk or len(data) > _MAX_REQUEST:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = ([*lines[0].split(" "), "", ""])[:3]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or "0")
    while len(body) < min(length, _MAX_REQUEST):
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return Request(method=method, path=path, headers=headers, body=body[:length])


def _close(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_WR)
    conn.close()


def _reset(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def head(status: int, headers: list[tuple[bytes, bytes]], *, length: int | None) -> bytes:
    """The status line and headers of a `Connection: close` response (no Content-Length if None)."""
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}".encode()]
    lines += [name + b": " + value for name, value in headers]
    if length is not None:
        lines.append(b"content-length: " + str(length).encode())
    lines.append(b"connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


_REASONS = {200: "OK", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable"}  # fmt: skip
