"""HTTP behaviour: keep-alive, the headers on every response, request ids, lifecycle."""

from __future__ import annotations

import errno
import http.client
import logging
import re
import socket
import threading

import pytest

from chatspan.devserver import DevServer
from chatspan.devserver.httpserver import DevHTTPServer
from chatspan.devserver.ratelimit import RateLimiter
from chatspan.devserver.state import ServerState
from tests.devserver.rawhttp import TIMEOUT, RawResponse, chat, request
from tests.support.fault_waits import FaultWaits

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
GO_DURATION = re.compile(r"^(?:(?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?s|\d+(?:\.\d+)?(?:ms|µs|ns))$")


def _assert_openai_headers(response: RawResponse) -> None:
    headers = response.headers
    assert re.fullmatch(r"req_[0-9a-f]{32}", headers["x-request-id"])
    assert headers["openai-version"] == "2020-10-01"
    assert headers["openai-organization"]
    processing = int(headers["openai-processing-ms"])
    assert int(headers["x-envoy-upstream-service-time"]) >= processing >= 0
    for kind in ("requests", "tokens"):
        assert int(headers[f"x-ratelimit-limit-{kind}"]) >= int(headers[f"x-ratelimit-remaining-{kind}"]) >= 0
        assert GO_DURATION.match(headers[f"x-ratelimit-reset-{kind}"])


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status"),
    [
        ("POST", "/v1/chat/completions", BODY, {}, 200),
        ("POST", "/v1/chat/completions", {**BODY, "stream": True}, {}, 200),
        ("POST", "/v1/chat/completions", {"model": "m"}, {}, 400),
        ("POST", "/v1/chat/completions", BODY, {"x-chatspan-fault": "429"}, 429),
        ("POST", "/v1/chat/completions", BODY, {"x-chatspan-fault": "500"}, 500),
        ("GET", "/v1/models", None, {}, 404),
        ("DELETE", "/v1/chat/completions", None, {}, 404),
        ("GET", "/_chatspan/faults", None, {}, 200),
    ],
)
def test_every_response_has_openai_headers(
    server: DevServer, method: str, path: str, body: object, headers: dict[str, str], status: int
) -> None:
    response = request(server, method, path, body if isinstance(body, dict) else None, headers)
    assert response.status == status
    _assert_openai_headers(response)


def test_404_is_worded_like_openai(server: DevServer) -> None:
    response = request(server, "POST", "/v1/nothing?x=1", BODY)
    assert response.json()["error"]["message"] == "Invalid URL (POST /v1/nothing)"


def test_keep_alive_serves_many_requests_on_one_connection(server: DevServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        responses = [
            request(server, "POST", "/v1/chat/completions", BODY, connection=connection) for _ in range(3)
        ]
        responses.append(
            request(server, "POST", "/v1/chat/completions", {**BODY, "stream": True}, connection=connection)
        )
        responses.append(
            request(server, "POST", "/v1/chat/completions", {"model": "m"}, connection=connection)
        )
        responses.append(request(server, "POST", "/v1/chat/completions", BODY, connection=connection))
    finally:
        connection.close()
    assert [r.status for r in responses] == [200, 200, 200, 200, 400, 200]
    assert len({r.headers["x-request-id"] for r in responses}) == 6
    assert responses[3].events()[-1] == "[DONE]"


def test_chunked_request_body(server: DevServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        parts = [b'{"model": "gpt-4o-mini", ', b'"messages": [{"role": "user", "content": "chunked"}]}']
        connection.request("POST", "/v1/chat/completions", body=iter(parts), encode_chunked=True)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 200, body
    assert b"You said: chunked" in body


def test_remaining_counts_down_across_responses() -> None:
    with DevServer(rpm=10, tpm=1000) as server:
        first, second = chat(server, BODY), chat(server, BODY)
        refused = chat(server, {"model": "m"})
    assert first.headers["x-ratelimit-remaining-requests"] == "9"
    assert second.headers["x-ratelimit-remaining-requests"] == "8"
    total = second.json()["usage"]["total_tokens"]
    assert int(second.headers["x-ratelimit-remaining-tokens"]) == 1000 - 2 * total
    assert refused.headers["x-ratelimit-remaining-requests"] == "8"  # an invalid request uses nothing


def test_prompt_cache_reports_cached_tokens(server: DevServer) -> None:
    long_body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "word " * 1000}]}
    first, second = chat(server, long_body).json(), chat(server, long_body).json()
    assert first["usage"]["prompt_tokens"] == 1250
    assert first["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
    assert second["usage"]["prompt_tokens_details"]["cached_tokens"] == 1152


def test_stop_frees_the_port_and_closes_idle_connections() -> None:
    server = DevServer().start()
    port = server.port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    request(server, "POST", "/v1/chat/completions", BODY, connection=connection)
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(OSError):
        request(server, "POST", "/v1/chat/completions", BODY, connection=connection)
    connection.close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # the port is free again


def test_stop_cuts_fault_delays_short() -> None:
    """A 30 s latency ends because the server stops (its wait says so), and the client is hung up on."""
    waits = FaultWaits()
    server = DevServer(faults=["latency=30"], fault_wait=waits).start()
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(chat(server, BODY).status)
        except (OSError, http.client.HTTPException) as error:
            outcome.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    assert waits.started.wait(TIMEOUT)  # the request is in its 30 s wait
    server.stop()
    caller.join(timeout=TIMEOUT)  # a bound for a broken server, not a measurement
    assert waits.ended(1) == ["stopped"]  # the stop event, not the 30 s, ended the wait
    assert len(outcome) == 1 and isinstance(outcome[0], ConnectionError)  # hung up, did not answer


@pytest.mark.parametrize(
    ("error", "logged"),
    [
        (BrokenPipeError(errno.EPIPE, "Broken pipe"), False),
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), False),
        (OSError(errno.ENOTCONN, "Transport endpoint is not connected"), False),
        (TimeoutError("timed out"), False),
        (OSError(errno.EACCES, "Permission denied"), True),
        (ValueError("a bug"), True),
    ],
)
def test_handle_error_logs_only_unexpected_failures(
    caplog: pytest.LogCaptureFixture, error: Exception, logged: bool
) -> None:
    httpd = DevHTTPServer(("127.0.0.1", 0), ServerState(limiter=RateLimiter(10, 1000)))
    caplog.set_level(logging.DEBUG, logger="chatspan.devserver")
    try:
        raise error
    except Exception:
        httpd.handle_error(None, ("127.0.0.1", 1))
    finally:
        httpd.server_close()
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert bool(errors) is logged
    if logged:
        assert errors[0].exc_info is not None and errors[0].exc_info[1] is error
