"""`DevHTTPServer`: the stdlib threading HTTP server, aware of its state, its connections and disconnects."""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import sys
import threading
from http.server import ThreadingHTTPServer
from typing import Any

from chatspan.devserver.handler import ChatHandler
from chatspan.devserver.state import ServerState

logger = logging.getLogger(__name__)

_DISCONNECT_ERRNOS = frozenset(
    {errno.EPIPE, errno.ECONNRESET, errno.ECONNABORTED, errno.ENOTCONN, errno.ESHUTDOWN}
)


class DevHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its `ServerState` and can cut its open connections."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: ServerState) -> None:
        self.state = state
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, ChatHandler)

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection and remember it until it closes."""
        connection, address = super().get_request()
        # Headers and body leave in separate writes; with Nagle's algorithm the body would wait
        # for the client's delayed ACK of the headers, 40 ms per response on Linux.
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._connections_lock:
            self._connections.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        """Forget and close a connection."""
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a connection's failure instead of printing it: a client that hangs up is no error.

        Disconnects (a client gone, or a connection a `drop` fault cut) are logged at DEBUG; anything
        else at ERROR with its traceback, through `logging` rather than socketserver's stderr print.
        """
        error = sys.exc_info()[1]
        if _is_disconnect(error):
            logger.debug("connection from %s ended: %r", client_address, error)
        else:
            logger.exception("devserver failed on a connection from %s", client_address)

    def close_connections(self) -> None:
        """Shut every open connection, so idle keep-alive handler threads end now."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            # OSError: its handler closed it meanwhile.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


def _is_disconnect(error: BaseException | None) -> bool:
    """Whether `error` says the connection ended (client gone, or cut by a fault), not a bug."""
    if isinstance(error, (ConnectionError, TimeoutError)):
        return True
    return isinstance(error, OSError) and error.errno in _DISCONNECT_ERRNOS
