"""The suite's own bounds: the hostile server cuts stalled connections and stops, children are killed.

Without these guards a hostile case or a hung child would hang the CI run instead of failing it.
"""

from __future__ import annotations

import socket
import threading

import pytest

from tests.adversarial.hostile_cases import CASES, ok
from tests.adversarial.hostile_server import Case, HostileServer, Pause, Reset, Send, head
from tests.adversarial.runner import ChildFailed, run_children

WAIT = 10.0
"""Seconds a test socket waits for the server: far beyond every bound under test."""


def _ask(server: HostileServer, case: str) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    body = b'{"model": "' + case.encode() + b'"}'
    conn.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n" % len(body) + body
    )
    return conn


def _read_all(conn: socket.socket) -> bytes:
    """Everything until the server closes (b"" on EOF) or resets; socket.timeout fails the test."""
    data = b""
    try:
        while chunk := conn.recv(65536):
            data += chunk
    except ConnectionResetError:
        data += b"<reset>"
    return data


STALLING: dict[str, Case] = {
    **CASES,
    "stall": lambda request: [Send(head(200, [], length=None)), Pause(3600)],
    "reset": lambda request: [Send(head(200, [], length=None)), Reset()],
    "ok": ok,
}


def test_a_stalled_connection_is_cut_at_its_deadline() -> None:
    with HostileServer(STALLING, connection_deadline=0.5) as server, _ask(server, "stall") as conn:
        assert _read_all(conn).endswith(b"<reset>")


def test_a_reset_step_resets_the_connection() -> None:
    with HostileServer(STALLING) as server, _ask(server, "reset") as conn:
        assert _read_all(conn).endswith(b"<reset>")


def test_an_unknown_case_is_a_404_and_a_known_one_answers() -> None:
    with HostileServer(STALLING) as server:
        with _ask(server, "no-such-case") as conn:
            assert _read_all(conn).startswith(b"HTTP/1.1 404")
        with _ask(server, "ok") as conn:
            assert b'"chatcmpl-0"' in _read_all(conn)
        assert server.requests_served == 2


def test_stopping_cuts_open_connections_and_joins_every_thread() -> None:
    server = HostileServer(STALLING)
    seen: list[bytes] = []
    with server:
        conn = _ask(server, "stall")
        conn.recv(1)  # the server is inside the stalled script
        assert server.live_threads() == 1
        reader = threading.Thread(target=lambda: seen.append(_read_all(conn)))
        reader.start()
    reader.join(WAIT)
    conn.close()
    assert seen and seen[0].endswith(b"<reset>")
    assert server.live_threads() == 0


def test_a_hung_child_is_killed_and_fails_the_run() -> None:
    with pytest.raises(ChildFailed, match=r"check=hang: killed after 2\.0 s"):
        run_children([{"check": "hang"}], timeout=2.0)
