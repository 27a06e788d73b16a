"""Plain `http.client` calls to the devserver, for what the openai SDK hides: raw bodies, every header,
each SSE chunk as sent, malformed requests."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any

from chatspan.devserver import DevServer

TIMEOUT = 10.0


@dataclass(frozen=True)
class RawResponse:
    """One response: status, headers (lower-cased names) and the body bytes."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def events(self) -> list[str]:
        """The `data:` payloads of a server-sent-event body, `[DONE]` included."""
        return [
            line.removeprefix("data: ")
            for line in self.body.decode().split("\n\n")
            if line.startswith("data: ")
        ]

    def named_events(self) -> list[tuple[str | None, Any]]:
        """Each server-sent event as (its `event:` name or None, its `data:` parsed as JSON)."""
        found: list[tuple[str | None, Any]] = []
        for block in self.body.decode().split("\n\n"):
            name: str | None = None
            data: str | None = None
            for line in block.split("\n"):
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data = line.removeprefix("data: ")
            if data is not None:
                found.append((name, json.loads(data)))
        return found

    def chunks(self) -> list[Any]:
        """The JSON chunks of a stream, without the closing `[DONE]`."""
        return [json.loads(event) for event in self.events() if event != "[DONE]"]


def request(
    server: DevServer,
    method: str,
    path: str,
    body: bytes | str | dict[str, Any] | list[Any] | None = None,
    headers: dict[str, str] | None = None,
    connection: http.client.HTTPConnection | None = None,
) -> RawResponse:
    """Send one request (on `connection` when given, to test keep-alive) and read the whole response."""
    own = connection is None
    conn = connection or http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    payload = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    sent_headers = {"content-type": "application/json", "authorization": "Bearer sk-test", **(headers or {})}
    try:
        conn.request(method, path, body=payload, headers=sent_headers)
        response = conn.getresponse()
        data = response.read()
        return RawResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        if own:
            conn.close()


def chat(
    server: DevServer, body: dict[str, Any] | bytes | str, headers: dict[str, str] | None = None
) -> RawResponse:
    """`POST /v1/chat/completions`."""
    return request(server, "POST", "/v1/chat/completions", body, headers)


def responses(
    server: DevServer, body: dict[str, Any] | bytes | str, headers: dict[str, str] | None = None
) -> RawResponse:
    """`POST /v1/responses`."""
    return request(server, "POST", "/v1/responses", body, headers)
