"""The scripted hostile answers to `POST /v1/responses` and `GET /v1/responses/{id}`, by case name.

Every name starts with `resp-` so that one server holds these beside the chat cases. A create
picks its case by `model`, a retrieve by the `x-hostile-case` header (a GET has no body). Field
cases answer a plain request with a JSON `Response` and a streamed one (`stream=True` in the body,
or `?stream=true` on a retrieve) with an event stream whose `response.created` and
`response.completed` carry the same hostile values, so both the result and the event paths of
chatspan meet them. Raw JSON text is spliced in after `json.dumps`, as in `hostile_cases`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from tests.adversarial.hostile_cases import (
    BAD_UTF8,
    DIGITS_5000,
    HUGE,
    LONE_SURROGATE,
    html,
    json_answer,
    ok_headers,
    sse_answer,
)
from tests.adversarial.hostile_server import Case, Pause, Request, Reset, Script, Send, Step, head

Raws = dict[str, bytes]
Events = Callable[[Request], list[bytes]]

_MARK = "@@resp-raw-{}@@"

RETRYING = frozenset({"resp-429-retry-huge", "resp-429-retry-text", "resp-429-retry-negative"})
"""Cases run with `max_retries=1` and only in `responses_forms.RETRY_FORMS`."""


def _raw(key: str) -> str:
    """The placeholder `_splice` replaces with the raw JSON text `raws[key]`."""
    return _MARK.format(key)


def _splice(document: object, raws: Raws) -> bytes:
    text = json.dumps(document).encode()
    for key, raw in raws.items():
        text = text.replace(json.dumps(_raw(key)).encode(), raw)
    return text


def streamed(request: Request) -> bool:
    """True for `create(stream=True)` and for `retrieve(..., stream=True)` (a query parameter)."""
    return request.stream or "stream=true" in request.path.partition("?")[2]


def _model(request: Request) -> str:
    return request.model or request.case


def message_item(*, done: bool) -> dict[str, Any]:
    """The one output message, finished (`done`) or as `response.output_item.added` shows it."""
    content = [{"type": "output_text", "text": "hello", "annotations": []}] if done else []
    status = "completed" if done else "in_progress"
    return {"type": "message", "id": "msg_1", "status": status, "role": "assistant", "content": content}


def response(request: Request, *, done: bool = True) -> dict[str, Any]:
    """A well-formed `Response` echoing the request's model and call id (in progress unless `done`)."""
    usage = {
        "input_tokens": 5,
        "input_tokens_details": {"cached_tokens": 1},
        "output_tokens": 2,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 7,
    }
    return {
        "id": f"resp_{request.call_id}",
        "object": "response",
        "created_at": 1700000000,
        "status": "completed" if done else "in_progress",
        "model": f"{_model(request)}-served",
        "output": [message_item(done=True)] if done else [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "temperature": 1.0,
        "top_p": 1.0,
        "max_output_tokens": 64,
        "service_tier": "default",
        "usage": usage if done else None,
    }


def typed(kind: str, sequence: int, **payload: Any) -> bytes:
    """One SSE event of the Responses stream: `event:` line and a `data:` with the same `type`."""
    data = json.dumps({"type": kind, "sequence_number": sequence, **payload}).encode()
    return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"


def raw_event(kind: str, data: bytes) -> bytes:
    """An SSE event whose `data:` is these bytes as they are."""
    return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"


def events(
    request: Request, overrides: dict[str, Any] | None = None, raws: Raws | None = None
) -> list[bytes]:
    """The well-formed event stream of one text answer (`overrides` go into both carried responses)."""
    changed, spliced = overrides or {}, raws or {}
    ids = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "text": "", "annotations": []}

    def carried(kind: str, sequence: int, done: bool) -> bytes:
        body = {
            "type": kind,
            "sequence_number": sequence,
            "response": {**response(request, done=done), **changed},
        }
        return raw_event(kind, _splice(body, spliced))

    return [
        carried("response.created", 0, False),
        carried("response.in_progress", 1, False),
        typed("response.output_item.added", 2, output_index=0, item=message_item(done=False)),
        typed("response.content_part.added", 3, part=part, **ids),
        typed("response.output_text.delta", 4, delta="hel", **ids),
        typed("response.output_text.delta", 5, delta="lo", **ids),
        typed("response.output_text.done", 6, text="hello", **ids),
        typed("response.content_part.done", 7, part={**part, "text": "hello"}, **ids),
        typed("response.output_item.done", 8, output_index=0, item=message_item(done=True)),
        carried("response.completed", 9, True),
    ]


def _answer(request: Request, overrides: dict[str, Any], raws: Raws) -> Script:
    if streamed(request):
        return sse_answer(events(request, overrides, raws), ok_headers(request))
    return json_answer(200, _splice({**response(request), **overrides}, raws), ok_headers(request))


def ok(request: Request) -> Script:
    """The well-behaved answer."""
    return _answer(request, {}, {})


def fields(**raws: bytes) -> Case:
    """Top-level `Response` fields replaced by raw JSON text (in the stream's carried responses too)."""
    overrides = {key: _raw(key) for key in raws}
    return lambda request: _answer(request, overrides, raws)


def failed(error: bytes) -> Case:
    """A failed response whose `error` is this raw JSON text."""
    overrides = {"status": "failed", "output": [], "error": _raw("error")}
    return lambda request: _answer(request, overrides, {"error": error})


_RATE_LIMITED = (
    b'{"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}'
)


def rate_limited(*extra: tuple[bytes, bytes]) -> Case:
    """A 429 with these (bogus) retry headers; a retried request gets a good `Response`."""

    def answer(request: Request) -> Script:
        if request.headers.get("x-stainless-retry-count", "0") != "0":
            return ok(request)
        sent = [(b"content-type", b"application/json"), *ok_headers(request), *extra]
        return [Send(head(429, sent, length=len(_RATE_LIMITED)) + _RATE_LIMITED)]

    return answer


def stream_of(build: Events) -> Case:
    """An event stream (for plain requests too) of `build(request) -> events`."""
    return lambda request: sse_answer(build(request), ok_headers(request))


def _first(request: Request, count: int) -> list[bytes]:
    return events(request)[:count]


def _endless(request: Request) -> Iterator[Step]:
    # Keep-alive comments and never a terminal event; the reset stands for the app's own timeout.
    yield from sse_answer(_first(request, 3), ok_headers(request))
    for _ in range(25):
        yield Send(b": keep-alive\n\n")
        yield Pause(0.02)
    yield Reset()


def _reset_mid_stream(request: Request) -> Iterator[Step]:
    yield from sse_answer(_first(request, 5), ok_headers(request))
    yield Reset()


def _untyped(request: Request) -> list[bytes]:
    # The `data:` without its `type` (and without an `event:` line): what is the event then?
    found = []
    for item in events(request):
        data = json.loads(item.partition(b"data: ")[2])
        data.pop("type")
        found.append(b"data: " + json.dumps(data).encode() + b"\n\n")
    return found


def _out_of_order(request: Request) -> list[bytes]:
    sequence = [9, 3, 3, -1, 2**40, 0, 7, 5, 1, 8]
    found = []
    for item, number in zip(events(request), sequence, strict=True):
        kind, _, data = item.partition(b"\ndata: ")
        document = json.loads(data)
        document["sequence_number"] = number
        found.append(kind + b"\ndata: " + json.dumps(document).encode() + b"\n\n")
    return found


def _terminal(kind: str, carried: bytes) -> Events:
    def build(request: Request) -> list[bytes]:
        body = b'{"type": "' + kind.encode() + b'", "sequence_number": 9, "response": ' + carried + b"}"
        return [*events(request)[:-1], raw_event(kind, body)]

    return build


def _failed_stream(request: Request) -> list[bytes]:
    error = {"code": "server_error", "message": "The model exploded"}
    failure = {**response(request, done=False), "status": "failed", "error": error}
    body = {"type": "response.failed", "sequence_number": 6, "response": failure}
    return [*events(request)[:5], raw_event("response.failed", json.dumps(body).encode())]


def _error_event(body: bytes) -> Events:
    return lambda request: [*events(request)[:5], raw_event("error", body)]


_ERROR_EVENT = (
    b'{"type": "error", "code": "server_error", "message": "overloaded", "param": null, "sequence_number": 5}'
)
_ERROR_NUMBERS = (
    b'{"type": "error", "code": -' + HUGE + b', "message": ' + DIGITS_5000 + b', "param": 1e400, '
    b'"sequence_number": -' + HUGE + b"}"
)


_DELTA = "response.output_text.delta"
_GARBAGE_ITEMS = b'[5, null, {"type": 7}, {"type": "message", "content": "x"}]'
_CREATED_INT = b'{"type": "response.created", "sequence_number": 0, "response": 7}'
_BAD_UTF8_DELTA = (
    b'{"type": "response.output_text.delta", "delta": "\xff\xfe", "item_id": "\xed\xa0\x80", '
    b'"output_index": 0, "content_index": 0, "sequence_number": 4}'
)

RESPONSES_CASES: dict[str, Case] = {
    "resp-ok": ok,
    "resp-invalid-json": lambda r: json_answer(200, b'{"id": "resp_1", "output": [{"ty', ok_headers(r)),
    "resp-json-array": lambda r: json_answer(200, b"[1, 2, 3]", ok_headers(r)),
    "resp-output-str": fields(output=b'"x"'),
    "resp-output-items-garbage": fields(output=_GARBAGE_ITEMS),
    "resp-usage-negative": fields(
        usage=b'{"input_tokens": -3, "output_tokens": -1, "total_tokens": -4, '
        b'"input_tokens_details": {"cached_tokens": -2}, "output_tokens_details": {"reasoning_tokens": -9}}'
    ),
    "resp-usage-huge": fields(
        usage=b'{"input_tokens": ' + HUGE + b', "output_tokens": 1e400, "total_tokens": "x", '
        b'"input_tokens_details": {"cached_tokens": -' + HUGE + b'}, "output_tokens_details": "x"}'
    ),
    "resp-usage-5000-digits": fields(
        usage=b'{"input_tokens": ' + DIGITS_5000 + b', "output_tokens": ' + DIGITS_5000 + b"}"
    ),
    "resp-usage-str": fields(usage=b'"lots"'),
    "resp-created-1e400": fields(created_at=b"1e400"),
    "resp-created-str": fields(created_at=b'"yesterday"'),
    "resp-created-huge": fields(created_at=HUGE),
    "resp-created-5000-digits": fields(created_at=DIGITS_5000),
    "resp-status-int": fields(status=b"5"),
    "resp-max-tokens-huge": fields(max_output_tokens=b"-" + HUGE, temperature=b"1e400", top_p=b'"x"'),
    "resp-model-object": fields(model=b'{"name": [1, 2]}'),
    "resp-failed-error-str": failed(b'"it broke"'),
    "resp-failed-error-shape": failed(b'{"code": 5, "message": ["not", "text"]}'),
    "resp-failed-error-huge": failed(b'{"code": ' + HUGE + b', "message": 1e400}'),
    "resp-surrogate-fields": fields(
        id=LONE_SURROGATE,
        model=LONE_SURROGATE,
        status=LONE_SURROGATE,
        service_tier=LONE_SURROGATE,
        error=b'{"code": ' + LONE_SURROGATE + b', "message": ' + LONE_SURROGATE + b"}",
    ),
    "resp-bad-utf8-fields": fields(
        id=BAD_UTF8,
        model=BAD_UTF8,
        status=BAD_UTF8,
        service_tier=BAD_UTF8,
        error=b'{"code": ' + BAD_UTF8 + b', "message": ' + BAD_UTF8 + b"}",
    ),
    "resp-html-500": html(500),
    "resp-html-502": html(502),
    "resp-429-bogus": rate_limited((b"retry-after", b"-1"), (b"retry-after-ms", b"1e400")),
    "resp-429-retry-huge": rate_limited((b"retry-after", HUGE), (b"retry-after-ms", b"1e400")),
    "resp-429-retry-text": rate_limited((b"retry-after", b"soon"), (b"retry-after-ms", b"later")),
    "resp-429-retry-negative": rate_limited((b"retry-after", b"-1"), (b"retry-after-ms", b"-5")),
    "resp-sse-untyped": stream_of(_untyped),
    "resp-sse-unknown-type": stream_of(
        lambda r: [*_first(r, 4), typed("response.hostile_thing", 4, weird=[1, {"x": None}]), *events(r)[4:]]
    ),
    "resp-sse-no-completed": stream_of(lambda r: events(r)[:-1]),
    "resp-sse-completed-twice": stream_of(lambda r: [*events(r), events(r)[-1]]),
    "resp-sse-failed": stream_of(_failed_stream),
    "resp-sse-error-event": stream_of(_error_event(_ERROR_EVENT)),
    "resp-sse-error-key": stream_of(
        _error_event(b'{"type": "error", "error": {"message": "exploded", "type": "server_error"}}')
    ),
    "resp-sse-error-numbers": stream_of(_error_event(_ERROR_NUMBERS)),
    "resp-sse-non-json": stream_of(lambda r: [*_first(r, 4), raw_event(_DELTA, b"not json")]),
    "resp-sse-truncated": stream_of(
        lambda r: [*_first(r, 4), b'event: response.output_text.delta\ndata: {"type": "response.out']
    ),
    "resp-sse-reset": _reset_mid_stream,
    "resp-sse-endless": _endless,
    "resp-sse-out-of-order": stream_of(_out_of_order),
    "resp-sse-terminal-str": stream_of(_terminal("response.completed", b'"x"')),
    "resp-sse-terminal-null": stream_of(_terminal("response.completed", b"null")),
    "resp-sse-terminal-list": stream_of(_terminal("response.incomplete", b"[1, 2]")),
    "resp-sse-created-int": stream_of(
        lambda r: [raw_event("response.created", _CREATED_INT), *events(r)[1:]]
    ),
    "resp-sse-bad-utf8": stream_of(
        lambda r: [
            *_first(r, 4),
            raw_event(_DELTA, _BAD_UTF8_DELTA),
            *events(r)[5:],
        ]
    ),
}

FAILED_RESPONSES = ("resp-failed-error-str", "resp-failed-error-shape", "resp-failed-error-huge")
"""Cases whose every carried `Response` (plain, created, completed) has status failed."""

FAILING_STREAMS = ("resp-sse-failed", "resp-sse-error-event")
"""Cases whose event stream reports the failure in an event (`response.failed`, `error`)."""
