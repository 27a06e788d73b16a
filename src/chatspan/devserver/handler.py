"""HTTP handling: dispatch to the endpoints, OpenAI's response headers, JSON and SSE responses, faults.

HTTP/1.1 with keep-alive: JSON responses carry `Content-Length`, streams `Transfer-Encoding:
chunked`. Every response, errors included, carries the headers OpenAI sends (`x-request-id`,
`openai-processing-ms`, `openai-version`, `openai-organization`, `x-envoy-upstream-service-time`
and the six `x-ratelimit-*`). Which paths are served is `chatspan.devserver.routes`; the endpoints
themselves are `chatspan.devserver.chat` (chat completions), `chatspan.devserver.stored` (stored
completions), `chatspan.devserver.response_endpoints` (the Responses API),
`chatspan.devserver.files` (the Files API) and `chatspan.devserver.batch_endpoints` (the Batch API,
both dispatched by `chatspan.devserver.files_and_batches`). They
return an `Answer`, which the handler sends, bent by the request's faults. A file's content is
sent chunked, about `CONTENT_CHUNK` bytes at a time, as its lines are produced.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import socket
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from chatspan.devserver.answers import Answer, ContentAnswer, JsonAnswer, StreamAnswer
from chatspan.devserver.chat import answer_chat
from chatspan.devserver.errors import (
    ApiError,
    incorrect_api_key,
    invalid_request,
    invalid_url,
    missing_api_key,
    status_error,
)
from chatspan.devserver.faults import (
    FAILING_TARGETS,
    FAULT_HEADER,
    RETRY_COUNT_HEADER,
    FaultPlan,
    FaultSyntaxError,
    parse_header_faults,
    plan_faults,
    retry_count,
)
from chatspan.devserver.files_and_batches import answer_files_and_batches
from chatspan.devserver.ratelimit import RateLimitState, retry_after_headers
from chatspan.devserver.response_endpoints import (
    cancel_response,
    create_response,
    delete_response,
    list_input_items,
    retrieve_response,
)
from chatspan.devserver.routes import Route, find_route
from chatspan.devserver.state import ServerState
from chatspan.devserver.stored import (
    Query,
    delete_completion,
    list_completions,
    list_messages,
    retrieve_completion,
    update_completion,
)

if TYPE_CHECKING:
    from chatspan.devserver.httpserver import DevHTTPServer

logger = logging.getLogger(__name__)

OPENAI_VERSION = "2020-10-01"
AZURE_API_VERSION = "api-version"
IDLE_TIMEOUT = 30.0
"""Seconds an idle keep-alive connection is kept open."""
CONTENT_CHUNK = 64 * 1024
"""Bytes of file content gathered into one HTTP chunk before it is written."""


class _DroppedConnection(Exception):
    """The handler dropped the connection on purpose (`drop-after`)."""


class ChatHandler(BaseHTTPRequestHandler):
    """One connection's requests; `server.state` (a `ServerState`) holds what they share."""

    protocol_version = "HTTP/1.1"
    server_version = "chatspan-devserver"
    sys_version = ""
    timeout = IDLE_TIMEOUT

    _started: float
    _request_id: str
    _responded: bool

    server: DevHTTPServer

    @property
    def _state(self) -> ServerState:
        return self.server.state

    def log_message(self, format: str, *args: Any) -> None:
        """Send the access log to `logging` (DEBUG) instead of stderr."""
        logger.debug("%s - " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        """Serve GET."""
        self._dispatch()

    def do_POST(self) -> None:
        """Serve POST."""
        self._dispatch()

    def do_DELETE(self) -> None:
        """Serve DELETE."""
        self._dispatch()

    def do_PUT(self) -> None:
        """Serve PUT (no route: 404)."""
        self._dispatch()

    def do_PATCH(self) -> None:
        """Serve PATCH (no route: 404)."""
        self._dispatch()

    def _dispatch(self) -> None:
        self._started = time.monotonic()
        self._request_id = "req_" + secrets.token_hex(16)
        self._responded = False
        url = urlsplit(self.path)
        try:
            raw = self._read_body()
            route = find_route(self.command, url.path)
            if route is None:
                raise invalid_url(self.command, url.path)
            if route.name == "faults":
                self._control_faults(raw)
                return
            query = parse_qsl(url.query, keep_blank_values=True)
            self._authorize(route)
            if route.needs_api_version and not any(name == AZURE_API_VERSION for name, _ in query):
                raise invalid_request(
                    f"Missing required query parameter: '{AZURE_API_VERSION}'.", param=AZURE_API_VERSION
                )
            plan = self._fault_plan(route.name)
            self._pause(plan.latency)
            if plan.status is not None:
                raise self._fault_error(plan)
            self._send_answer(self._answer(route, query, raw, plan), plan)
        except ApiError as error:
            self._send_error(error)
        except _DroppedConnection:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            # The client went away mid-response; nothing left to answer.
            self.close_connection = True
        except Exception:
            logger.exception("devserver failed on %s %s", self.command, self.path)
            if self._responded:
                # Too late for an error response: hanging up tells the client the answer broke.
                self.close_connection = True
            else:
                self._send_error(status_error(500))

    def _answer(self, route: Route, query: Query, raw: bytes, plan: FaultPlan) -> Answer:
        state = self._state
        if plan.fail_after is not None and route.name not in FAILING_TARGETS:
            # Only a header can bring it here (targets are checked when faults are set): refuse
            # it rather than let the request succeed as if the fault had worked.
            raise invalid_request(
                f"Invalid {FAULT_HEADER} header: fail-after fails a model response, which only "
                "POST /v1/responses and GET /v1/responses/{id} send.",
                param=FAULT_HEADER,
            )
        if plan.truncated is not None and route.name != "files.content":
            raise invalid_request(
                f"Invalid {FAULT_HEADER} header: truncated cuts a file's content, which only "
                "GET /v1/files/{id}/content sends.",
                param=FAULT_HEADER,
            )
        if route.name == "chat":
            return answer_chat(state, raw, route.deployment, self._request_id)
        if route.name.startswith("responses"):
            return self._responses(route, query, raw, plan)
        if route.name.startswith(("files.", "batches.")):
            content_type = self.headers.get("content-type", "")
            return answer_files_and_batches(
                state, route.name, route.completion_id or "", query, raw, content_type
            )
        return JsonAnswer(self._stored(route, query, raw))

    def _responses(self, route: Route, query: Query, raw: bytes, plan: FaultPlan) -> Answer:
        state = self._state
        response_id = route.completion_id or ""
        if route.name == "responses":
            return create_response(state, raw, route.deployment, fail_after=plan.fail_after)
        if route.name == "responses.retrieve":
            return retrieve_response(state, response_id, query, fail_after=plan.fail_after)
        if route.name == "responses.input_items":
            return list_input_items(state, response_id, query)
        if route.name == "responses.delete":
            return delete_response(state, response_id)
        return cancel_response(state, response_id)

    def _stored(self, route: Route, query: Query, raw: bytes) -> dict[str, Any]:
        store = self._state.store
        completion_id = route.completion_id or ""
        if route.name == "list":
            return list_completions(store, query, ignore_limit=self._state.ignore_limit)
        if route.name == "retrieve":
            return retrieve_completion(store, completion_id)
        if route.name == "update":
            return update_completion(store, completion_id, raw)
        if route.name == "delete":
            return delete_completion(store, completion_id)
        return list_messages(store, completion_id, query)

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = self.headers.get("content-length")
        if length is None or not length.isdigit():
            return b""
        return self.rfile.read(int(length))

    def _authorize(self, route: Route) -> None:
        expected = self._state.api_key
        if expected is None:
            return
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        if route.azure and not token:
            # Azure OpenAI takes the key in an `api-key` header (a Bearer token is for Entra ID).
            token = self.headers.get("api-key", "").strip()
        if not token:
            raise missing_api_key()
        if token != expected:
            raise incorrect_api_key(token)

    def _control_faults(self, raw: bytes) -> None:
        if self.command == "POST":
            try:
                texts = json.loads(raw)
            except ValueError:
                texts = None
            if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
                raise invalid_request("POST /_chatspan/faults takes a JSON list of fault strings.")
            try:
                self._state.set_faults(texts)
            except FaultSyntaxError as error:
                raise invalid_request(str(error), param="faults") from None
        self._send_json(200, {"faults": list(self._state.faults()[1])})

    def _fault_plan(self, target: str) -> FaultPlan:
        try:
            per_request = parse_header_faults(self.headers.get_all(FAULT_HEADER) or [])
        except FaultSyntaxError as error:
            raise invalid_request(f"Invalid {FAULT_HEADER} header: {error}", param=FAULT_HEADER) from None
        persistent, number = self._state.faults_for(target)
        return plan_faults(
            [*per_request, *persistent], retry_count(self.headers.get(RETRY_COUNT_HEADER)), number
        )

    def _fault_error(self, plan: FaultPlan) -> ApiError:
        status = plan.status or 500
        if status == 429:
            error = ApiError(
                429,
                "Rate limit reached (injected by the chatspan devserver's x-chatspan-fault).",
                type="requests",
                code="rate_limit_exceeded",
            )
        else:
            error = status_error(status)
        if plan.retry_after is not None:
            error.headers.update(retry_after_headers(plan.retry_after))
        return error

    def _pause(self, seconds: float) -> None:
        # Waiting on the stop event lets DevServer.stop() cut a fault's delay short; a stopping
        # server then hangs up rather than answer half-way through its shutdown.
        if seconds > 0 and self._state.fault_wait(seconds, self._state.stopping):
            self._drop()

    def _common_headers(self, state: RateLimitState | None = None) -> dict[str, str]:
        processing_ms = int((time.monotonic() - self._started) * 1000)
        headers = {
            "openai-organization": self._state.organization,
            "openai-processing-ms": str(processing_ms),
            "openai-version": OPENAI_VERSION,
            "x-request-id": self._request_id,
            # Envoy's time wraps the backend's, so it is never smaller.
            "x-envoy-upstream-service-time": str(processing_ms + 1),
        }
        headers.update((state or self._state.limiter.state()).headers())
        return headers

    def _start_response(self, status: int, content_type: str, headers: dict[str, str]) -> None:
        self._responded = True
        self.send_response(status)
        self.send_header("content-type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)

    def _send_json(
        self,
        status: int,
        body: object,
        state: RateLimitState | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        payload = json.dumps(body).encode()
        self._start_response(status, "application/json", {**self._common_headers(state), **(extra or {})})
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _send_error(self, error: ApiError) -> None:
        self._send_json(error.status, error.body(), extra=error.headers)

    def _drop(self) -> None:
        self.wfile.flush()
        with contextlib.suppress(OSError):  # DevServer.stop() may have shut it already
            self.connection.shutdown(socket.SHUT_RDWR)
        raise _DroppedConnection

    def _send_answer(self, answer: Answer, plan: FaultPlan) -> None:
        state = answer.state or self._state.limiter.state()
        if isinstance(answer, StreamAnswer):
            self._send_stream(answer, plan, state)
        elif isinstance(answer, ContentAnswer):
            self._send_content(answer, plan, state)
        else:
            self._send_planned(answer.body, plan, state)

    def _send_planned(self, body: dict[str, Any], plan: FaultPlan, state: RateLimitState) -> None:
        """Send a 200 JSON body, unless a fault drops the connection or truncates the body."""
        if plan.drop_after is not None:
            self._drop()
        if plan.malformed:
            payload = json.dumps(body).encode()
            self._start_response(200, "application/json", self._common_headers(state))
            self.send_header("content-length", str(len(payload) // 2))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            return
        self._send_json(200, body, state)

    def _send_stream(self, answer: StreamAnswer, plan: FaultPlan, state: RateLimitState) -> None:
        self._start_response(200, "text/event-stream; charset=utf-8", self._common_headers(state))
        self.send_header("transfer-encoding", "chunked")
        self.send_header("cache-control", "no-cache")
        self.end_headers()
        self.wfile.flush()
        self._pause(plan.first_token)
        sent = 0
        for name, event in answer.events:
            if plan.drop_after is not None and sent >= plan.drop_after:
                self._drop()
            if sent > 0:
                self._pause(plan.chunk_delay)
            data = event[: len(event) // 2] if plan.malformed and sent == 0 else event
            head = f"event: {name}\n" if name is not None else ""
            self._write_chunk(f"{head}data: {data}\n\n".encode())
            sent += 1
        if plan.drop_after is not None and sent >= plan.drop_after:
            self._drop()
        if answer.done_marker:
            self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def _send_content(self, answer: ContentAnswer, plan: FaultPlan, state: RateLimitState) -> None:
        """Send a file's lines chunked, never more than about `CONTENT_CHUNK` bytes held at once.

        `drop-after=N` drops the connection after N lines; `truncated` ends the body cleanly in the
        middle of a line, as a file cut short would."""
        cut = plan.truncated
        if cut is not None and cut < 0:
            cut = answer.count_lines() // 2
        self._start_response(200, answer.content_type, self._common_headers(state))
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        pending: list[bytes] = []
        size = sent = 0
        for line in answer.lines:
            if plan.drop_after is not None and sent >= plan.drop_after:
                self._write_lines(pending)
                self._drop()
            if cut is not None and sent >= cut:
                pending.append(line[: len(line) // 2])
                break
            pending.append(line)
            size += len(line)
            sent += 1
            if size >= CONTENT_CHUNK:
                self._write_lines(pending)
                pending, size = [], 0
        self._write_lines(pending)
        if plan.drop_after is not None and sent >= plan.drop_after:
            self._drop()
        self.wfile.write(b"0\r\n\r\n")

    def _write_lines(self, lines: list[bytes]) -> None:
        # An empty chunk would be the terminating one: write none.
        if lines:
            self._write_chunk(b"".join(lines))

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
