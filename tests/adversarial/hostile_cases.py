"""The scripted answers of the hostile server, by case name.

Most cases answer a plain request with a JSON body and a `stream=True` request with an SSE stream
carrying the same hostile values, so both the completion and the chunk paths of chatspan meet them.
Raw JSON text (`1e400`, 5,000-digit numbers, `\\ud800` escapes, invalid UTF-8) is spliced in after
`json.dumps`, since Python would not write it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.adversarial.hostile_server import Case, Pause, Request, Reset, Script, Send, Step, head

Headers = tuple[tuple[bytes, bytes], ...]
Raws = dict[str, bytes]

HUGE = str(2**64 + 7).encode()
DIGITS_5000 = b"9" * 5000
LONE_SURROGATE = b'"\\ud800x"'
BAD_UTF8 = b'"\xff\xfe\xc3(x"'
_PLACEHOLDER = "@@raw-{}@@"

JSON = (b"content-type", b"application/json")
SSE = (b"content-type", b"text/event-stream")

RETRYING = frozenset({"429-retry-negative", "429-retry-huge", "429-retry-text", "429-retry-date",
                      "429-retry-5000-digits"})  # fmt: skip
"""Cases run with `max_retries=1`: the SDK reads retry-after only when it may retry."""


def _splice(document: dict[str, Any], raws: Raws) -> bytes:
    """`document` as JSON with each placeholder value replaced by its raw JSON text."""
    text = json.dumps(document).encode()
    for key, raw in raws.items():
        text = text.replace(json.dumps(_PLACEHOLDER.format(key)).encode(), raw)
    return text


def _with_raws(document: dict[str, Any], raws: Raws) -> dict[str, Any]:
    return {**document, **{key: _PLACEHOLDER.format(key) for key in raws}}


def completion(request: Request) -> dict[str, Any]:
    """A well-formed chat completion echoing the request's model and call id."""
    return {
        "id": f"chatcmpl-{request.call_id}",
        "object": "chat.completion",
        "created": 1700000000,
        "model": f"{request.model}-served",
        "system_fingerprint": "fp_hostile",
        "service_tier": "default",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }


def chunks(request: Request) -> list[dict[str, Any]]:
    """Well-formed stream chunks (with the usage chunk only when the request asked for it)."""
    base = {
        "id": f"chatcmpl-{request.call_id}",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": f"{request.model}-served",
        "system_fingerprint": "fp_hostile",
        "service_tier": "default",
    }
    deltas: list[tuple[dict[str, str], str | None]] = [
        ({"role": "assistant", "content": ""}, None),
        ({"content": "hel"}, None),
        ({"content": "lo"}, None),
        ({}, "stop"),
    ]
    found = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": f}]} for d, f in deltas]
    if request.include_usage:
        usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
        found.append({**base, "choices": [], "usage": usage})
    return found


def event(data: bytes, name: bytes | None = None) -> bytes:
    """One SSE event."""
    prefix = b"event: " + name + b"\n" if name else b""
    return prefix + b"data: " + data + b"\n\n"


DONE = event(b"[DONE]")


def ok_headers(request: Request) -> Headers:
    """The headers OpenAI sends with every answer, with the call id in the request id."""
    return (
        (b"x-request-id", f"req-{request.call_id}".encode()),
        (b"openai-processing-ms", b"12"),
        (b"x-envoy-upstream-service-time", b"15"),
        (b"x-ratelimit-limit-requests", b"100"),
        (b"x-ratelimit-remaining-requests", b"99"),
        (b"x-ratelimit-limit-tokens", b"10000"),
        (b"x-ratelimit-remaining-tokens", b"9990"),
        (b"x-ratelimit-reset-requests", b"6m0s"),
        (b"x-ratelimit-reset-tokens", b"12ms"),
    )


def json_answer(status: int, body: bytes, extra: Headers = ()) -> Script:
    """A complete JSON response."""
    return [Send(head(status, [JSON, *extra], length=len(body)) + body)]


def sse_answer(events: list[bytes], extra: Headers = ()) -> Iterator[Step]:
    """An SSE stream ended by the connection's close (no Content-Length)."""
    yield Send(head(200, [SSE, *extra], length=None))
    for item in events:
        yield Send(item)


def ok(request: Request) -> Script:
    """The well-behaved answer."""
    return _fields_answer(request, {}, ok_headers(request))


def _fields_answer(request: Request, raws: Raws, headers: Headers) -> Script:
    if request.stream:
        events = [event(_splice(_with_raws(c, raws), raws)) for c in chunks(request)]
        return sse_answer([*events, DONE], headers)
    return json_answer(200, _splice(_with_raws(completion(request), raws), raws), headers)


def fields(**raws: bytes) -> Case:
    """Top-level completion (and chunk) fields replaced by raw JSON text."""
    return lambda request: _fields_answer(request, raws, ok_headers(request))


def headers(*extra: tuple[bytes, bytes]) -> Case:
    """A good answer whose headers are these instead of the usual ones."""
    return lambda request: _fields_answer(request, {}, extra)


def _status(status: int, body: bytes, content_type: bytes, *extra: tuple[bytes, bytes]) -> Case:
    def answer(request: Request) -> Script:
        if status == 429 and request.headers.get("x-stainless-retry-count", "0") != "0":
            return ok(request)
        sent = ((b"content-type", content_type), *ok_headers(request), *extra)
        return [Send(head(status, list(sent), length=len(body)) + body)]

    return answer


_RATE_LIMITED = (
    b'{"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}'
)


def rate_limited(*extra: tuple[bytes, bytes]) -> Case:
    """A 429 with these (bogus) retry headers; a retried request gets a good answer."""
    return _status(429, _RATE_LIMITED, b"application/json", *extra)


def html(status: int) -> Case:
    """An HTML error page, as proxies and load balancers send."""
    page = f"<html><head><title>{status}</title></head><body><h1>{status} error</h1></body></html>"
    return _status(status, page.encode(), b"text/html; charset=utf-8")


def _first_chunks(request: Request, count: int) -> list[bytes]:
    return [event(json.dumps(c).encode()) for c in chunks(request)[:count]]


def sse(build: Any) -> Case:
    """A stream answer (for plain requests too) of `build(request) -> events`."""
    return lambda request: sse_answer(build(request), ok_headers(request))


def _endless(request: Request) -> Iterator[Step]:
    # Keep-alive comments, never [DONE], never a close: the reset after half a second stands for
    # the app's own timeout, so that a test never waits long.
    yield from sse_answer(_first_chunks(request, 1), ok_headers(request))
    for _ in range(25):
        yield Send(b": keep-alive\n\n")
        yield Pause(0.02)
    yield Reset()


def _reset_mid_stream(request: Request) -> Iterator[Step]:
    yield from sse_answer(_first_chunks(request, 2), ok_headers(request))
    yield Reset()


def _without(key: str, value: object = ...) -> Any:
    def build(request: Request) -> list[bytes]:
        altered = []
        for chunk in chunks(request):
            changed = {k: v for k, v in chunk.items() if k != key}
            if value is not ...:
                changed[key] = value
            altered.append(event(json.dumps(changed).encode()))
        return [*altered, DONE]

    return build


def _transport(body_of: Any, framing: str) -> Case:
    def answer(request: Request) -> Script:
        body: bytes = body_of(request)
        content_type = SSE if request.stream else JSON
        if framing == "short":
            return [Send(head(200, [content_type], length=len(body) + 100) + body)]
        chunked = [content_type, (b"transfer-encoding", b"chunked")]
        if framing == "bad-chunk":
            return [Send(head(200, chunked, length=None) + b"%x\r\n" % 10 + body[:10] + b"\r\nzz\r\n")]
        return [Send(head(200, chunked, length=None) + b"%x\r\n" % len(body) + body + b"\r\n")]

    return answer


def _body(request: Request) -> bytes:
    if request.stream:
        # The first chunks only: the broken framing cuts the stream before a usage chunk would come,
        # so the bytes (and the byte counts in the client's error) do not depend on include_usage.
        return b"".join(event(json.dumps(c).encode()) for c in chunks(request)[:2])
    return json.dumps(completion(request)).encode()


def _raw_body(body: bytes) -> Case:
    return lambda request: json_answer(200, body, ok_headers(request))


def _not_found(request: Request) -> Script:
    return json_answer(404, b'{"error": {"message": "no such case", "type": "invalid_request_error"}}')


_LIMITS = (b"x-ratelimit-limit-requests", b"x-ratelimit-remaining-requests",
           b"x-ratelimit-limit-tokens", b"x-ratelimit-remaining-tokens")  # fmt: skip
_TIMINGS = (b"openai-processing-ms", b"x-envoy-upstream-service-time")
_RESETS = (b"x-ratelimit-reset-requests", b"x-ratelimit-reset-tokens")


def _every(names: tuple[bytes, ...], value: bytes) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((name, value) for name in names)


CASES: dict[str, Case] = {
    "ok": ok,
    "not-found": _not_found,
    "invalid-json": _raw_body(b'{"id": "chatcmpl-1", "choices": [{"index": 0, "mess'),
    "json-array": _raw_body(b"[1, 2, 3]"),
    "empty-body": _raw_body(b""),
    "id-int": fields(id=b"5"),
    "choices-str": fields(choices=b'"x"'),
    "choices-null": fields(choices=b"null"),
    "usage-negative": fields(usage=b'{"prompt_tokens": -3, "completion_tokens": -1, "total_tokens": -4}'),
    "usage-huge": fields(
        usage=b'{"prompt_tokens": ' + HUGE + b', "completion_tokens": 1e400, "total_tokens": "x", '
        b'"prompt_tokens_details": {"cached_tokens": -' + HUGE + b"}}"
    ),
    "usage-str": fields(usage=b'"lots"'),
    "created-1e400": fields(created=b"1e400"),
    "created-huge": fields(created=HUGE),
    "created-negative-huge": fields(created=b"-" + HUGE),
    "created-5000-digits": fields(created=DIGITS_5000),
    "created-float": fields(created=b"1700000000.5"),
    "model-null": fields(model=b"null"),
    "model-object": fields(model=b'{"name": [1, 2]}'),
    "surrogate-fields": fields(
        id=LONE_SURROGATE,
        model=LONE_SURROGATE,
        system_fingerprint=LONE_SURROGATE,
        service_tier=LONE_SURROGATE,
    ),
    "bad-utf8-fields": fields(
        id=BAD_UTF8, model=BAD_UTF8, system_fingerprint=BAD_UTF8, service_tier=BAD_UTF8
    ),
    "headers-huge": headers(
        *_every(_LIMITS, HUGE),
        (b"openai-processing-ms", b"1e400"),
        (b"x-envoy-upstream-service-time", HUGE),
        *_every(_RESETS, b"99999999999999999999h"),
    ),
    "headers-negative": headers(
        *_every(_LIMITS, b"-5"), *_every(_TIMINGS, b"-12"), *_every(_RESETS, b"-6m0s")
    ),
    "headers-5000-digits": headers(
        *_every(_LIMITS, DIGITS_5000), *_every(_TIMINGS, DIGITS_5000), *_every(_RESETS, DIGITS_5000 + b"s")
    ),
    "headers-text": headers(
        *_every(_LIMITS, b"lots"),
        *_every(_TIMINGS, b"NaN"),
        *_every(_RESETS, b"soon"),
        (b"x-request-id", b"  "),
    ),
    "headers-inf": headers(*_every(_TIMINGS, b"inf"), *_every(_RESETS, b"inf")),
    "headers-bad-utf8": headers(
        (b"x-request-id", b"req-\xff\xfe\xed\xa0\x80"),
        (b"openai-processing-ms", b"\xed\xa0\x80"),
        (b"x-ratelimit-remaining-requests", b"\xff9"),
        (b"x-ratelimit-reset-requests", b"6m\xff0s"),
        (b"openai-organization", b"org-\xc3("),
    ),
    "429-bogus": rate_limited((b"retry-after", b"-1"), (b"retry-after-ms", b"1e400")),
    "429-retry-negative": rate_limited((b"retry-after", b"-1"), (b"retry-after-ms", b"-5")),
    "429-retry-huge": rate_limited((b"retry-after", HUGE), (b"retry-after-ms", b"1e400")),
    "429-retry-text": rate_limited((b"retry-after", b"soon"), (b"retry-after-ms", b"later")),
    "429-retry-date": rate_limited((b"retry-after", b"Mon, 99 Foo 0000 99:99:99 GMT")),
    "429-retry-5000-digits": rate_limited((b"retry-after", DIGITS_5000), (b"retry-after-ms", DIGITS_5000)),
    "html-500": html(500),
    "html-502": html(502),
    "html-503": html(503),
    "sse-truncated": sse(lambda r: [*_first_chunks(r, 1), b'data: {"id": "chatcmpl-0", "obj']),
    "sse-endless": _endless,
    "sse-reset": _reset_mid_stream,
    "sse-done-early": sse(lambda r: [*_first_chunks(r, 1), DONE, *_first_chunks(r, 3)]),
    "sse-no-choices": sse(_without("choices")),
    "sse-choices-null": sse(_without("choices", None)),
    "sse-choices-empty": sse(_without("choices", [])),
    "sse-non-json": sse(lambda r: [*_first_chunks(r, 1), event(b"this is not json"), DONE]),
    "sse-event-error": sse(
        lambda r: [
            *_first_chunks(r, 1),
            event(b'{"error": {"message": "exploded", "type": "server_error"}}', b"error"),
        ]
    ),
    "sse-error-data": sse(
        lambda r: [
            *_first_chunks(r, 1),
            event(b'{"error": {"message": "overloaded", "type": "server_error"}}'),
        ]
    ),
    "sse-bad-utf8": sse(lambda r: [*_first_chunks(r, 1), event(b'{"id": "\xff\xfe", "choices": []}'), DONE]),
    "short-body": _transport(_body, "short"),
    "chunked-bad": _transport(_body, "bad-chunk"),
    "chunked-truncated": _transport(_body, "no-last-chunk"),
}
