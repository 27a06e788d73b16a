"""Fault knobs: make the devserver fail, stall or break a response on purpose.

A fault list is comma-separated; each fault is an optional target, a head and `;`-separated
options::

    429                      answer 429 rate_limit_exceeded (with retry-after / retry-after-ms)
    500, 502, 503, ...       answer that status (any 4xx/5xx) with OpenAI's error body
    latency=0.2              wait 0.2 s before answering (at most 600 s; a stopping server hangs up)
    hang=30                  the same as latency=30, for faults that stall a request on purpose
    first-token=0.5          streams: wait 0.5 s after the headers, before the first chunk
    chunk-delay=0.01         streams: wait 0.01 s between chunks
    drop-after=3             streams: send 3 chunks, then drop the TCP connection without the
                             terminating chunk; file content: send 3 lines, then drop it;
                             other requests: drop it without answering
    drop                     drop the connection without answering (drop-after=0). The request
                             is still carried out (stored, updated, deleted): only the answer is lost
    malformed                200 with a truncated JSON body (streams: a truncated `data:` line)
    truncated                file content only: send the first half of the lines, then half of
                             the next one, and end the response cleanly (a file cut mid-line);
                             `truncated=N` cuts after N whole lines
    fail-after=N             Responses API only: the model "fails" after N stream events: the
                             stream sends an `error` event and `response.failed` (with
                             `error.code` server_error) instead of the rest; a JSON create
                             answers a Response with status `failed` and that error

    ;times=N                 untargeted: only while the request's `x-stainless-retry-count` (the
                             openai SDK's retry number, 0 on the first try) is below N, so
                             `429;times=1` fails the first try and lets the SDK's retry succeed.
                             Targeted: only N requests to the target (see below)
    ;nth=K                   targeted only: start at the K-th request to the target; alone, only
                             that request is affected, with `times=N` it and the N-1 after it
    ;retry-after=S           seconds the error tells the client to wait: `retry-after` (whole
                             seconds, rounded up) and `retry-after-ms`, which the SDK prefers.
                             Default 0.01 for 429, none for other statuses

A target scopes a fault to one endpoint and makes it count requests instead of retries, so a test
can script a client that sends no custom headers (the backfill)::

    list:500;times=2         the next 2 `GET /v1/chat/completions` get a 500, later ones succeed
    list:429;times=6         a 429 storm of 6 list requests (retry-after-ms: 10)
    list:malformed;nth=3     the 3rd list request answers 200 with truncated JSON
    list:hang=30;nth=2       the 2nd list request waits 30 s before answering
    list:drop;nth=2          the 2nd list request's connection is dropped without an answer
    messages:500;times=1     the next `GET /v1/chat/completions/{id}/messages` gets a 500

Targets: `chat` (`POST .../chat/completions`), `list`, `retrieve` (`GET .../{id}`), `update`
(`POST .../{id}`), `delete` and `messages`; for the Responses API `responses` (`POST /v1/responses`),
`responses.retrieve` (`GET /v1/responses/{id}`, also its `stream=true` replay),
`responses.input_items`, `responses.delete` and `responses.cancel`; for the Files API
`files.create`, `files.list`, `files.retrieve`, `files.content` and `files.delete`; for the Batch
API `batches.create`, `batches.list`, `batches.retrieve` and `batches.cancel` (`batches.list:429;times=2`,
`files.content:truncated`, `files.content:drop-after=100`). Requests to a target are
counted from the moment the faults were last set (each `set_faults` or `POST /_chatspan/faults`
restarts every count at 0), whatever their answer. A targeted fault with neither `times` nor `nth`
hits every request to its target. `first-token` and `chunk-delay` only make sense for streams, so
only `chat`, `responses` and `responses.retrieve` take them; `fail-after` only the two `responses`
ones that stream.

Faults arrive three ways, and all that apply are combined (the first status fault wins):
the `x-chatspan-fault` request header (that request, whatever its endpoint; no targets there),
`POST /_chatspan/faults` with a JSON list of fault strings (until `[]` is posted), and
`DevServer.set_faults([...])`. Untargeted faults set these two ways apply to every model call:
chat completions and `POST /v1/responses` (see `MODEL_CALL_TARGETS`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

FAULT_HEADER = "x-chatspan-fault"
RETRY_COUNT_HEADER = "x-stainless-retry-count"
DEFAULT_429_RETRY_AFTER = 0.01
MAX_DELAY = 600.0
"""Longest delay a fault may ask for, in seconds: a fault stalls a test, it must not wedge it."""

TARGETS = (
    "chat",
    "list",
    "retrieve",
    "update",
    "delete",
    "messages",
    "responses",
    "responses.retrieve",
    "responses.input_items",
    "responses.delete",
    "responses.cancel",
    "files.create",
    "files.list",
    "files.retrieve",
    "files.content",
    "files.delete",
    "batches.create",
    "batches.list",
    "batches.retrieve",
    "batches.cancel",
)
"""Endpoints a fault can be scoped to (`list:500`); see the module docstring."""
MODEL_CALL_TARGETS = ("chat", "responses")
"""The targets untargeted persistent faults apply to: the requests that call a model."""

_DURATION_KINDS = ("latency", "first-token", "chunk-delay")
_STREAM_KINDS = ("first-token", "chunk-delay")
_STREAMING_TARGETS = (None, "chat", "responses", "responses.retrieve")
FAILING_TARGETS = ("responses", "responses.retrieve")
"""The endpoints `fail-after` applies to: those that answer with a model response."""
CONTENT_TARGETS = (None, "files.content")
"""The endpoints `truncated` applies to: a file's content (or a header on such a request)."""


class FaultSyntaxError(ValueError):
    """A fault string the devserver cannot read; the message says which and why."""


@dataclass(frozen=True)
class Fault:
    """One parsed fault: `kind` is `status`, `latency`, `first-token`, `chunk-delay`, `drop-after`,
    `fail-after`, `malformed` or `truncated`; `value` is the status code, the seconds or the event count.
    `target` is None for an untargeted fault (model calls, `times` counting retries), else one of
    `TARGETS`."""

    kind: str
    value: float = 0.0
    times: int | None = None
    retry_after: float | None = None
    target: str | None = None
    nth: int | None = None

    def active(self, retry_count: int, request_number: int = 1) -> bool:
        """Whether the fault applies to a request on its `retry_count`-th retry.

        `request_number` is the request's rank (from 1) among the requests to the fault's target
        since the faults were set; only targeted faults look at it.
        """
        if self.target is None:
            return self.times is None or retry_count < self.times
        first = self.nth or 1
        if request_number < first:
            return False
        if self.times is not None:
            return request_number < first + self.times
        return self.nth is None or request_number == first


@dataclass(frozen=True)
class FaultPlan:
    """What the active faults do to one request."""

    status: int | None = None
    retry_after: float | None = None
    latency: float = 0.0
    first_token: float = 0.0
    chunk_delay: float = 0.0
    drop_after: int | None = None
    fail_after: int | None = None
    """Responses API: events sent before the response fails (None: it does not fail)."""
    malformed: bool = False
    truncated: int | None = None
    """File content: whole lines sent before the cut (-1: half of them); None: not cut."""


def _number(item: str, name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaultSyntaxError(f"fault {item!r}: {name} needs a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise FaultSyntaxError(f"fault {item!r}: {name} must be a finite number >= 0, got {text!r}")
    return value


def _seconds(item: str, name: str, text: str) -> float:
    value = _number(item, name, text)
    if value > MAX_DELAY:
        raise FaultSyntaxError(f"fault {item!r}: {name} is at most {MAX_DELAY:g} seconds, got {text!r}")
    return value


def _count(item: str, name: str, text: str) -> int:
    if not text.isdigit():
        raise FaultSyntaxError(f"fault {item!r}: {name} needs a whole number >= 0, got {text!r}")
    return int(text)


def _split_target(item: str) -> tuple[str | None, str]:
    """(`list`, `500;times=2`) from `list:500;times=2`; (None, item) for an untargeted fault."""
    target, colon, rest = item.strip().partition(":")
    if not colon:
        return None, item.strip()
    target = target.strip().lower()
    if target not in TARGETS:
        raise FaultSyntaxError(f"fault {item!r}: unknown target {target!r} (known: {', '.join(TARGETS)})")
    return target, rest.strip()


def parse_fault(item: str) -> Fault:
    """Read one fault (`429;times=1`, `latency=0.2`, `list:500;nth=2`, ...); raise `FaultSyntaxError`."""
    target, spec = _split_target(item)
    head, *options = (part.strip() for part in spec.split(";"))
    times: int | None = None
    nth: int | None = None
    retry_after: float | None = None
    for option in options:
        name, _, text = option.partition("=")
        name = name.strip().lower()
        if name == "times":
            times = _count(item, name, text.strip())
        elif name == "nth" and target is not None:
            nth = _count(item, name, text.strip())
            if nth < 1:
                raise FaultSyntaxError(f"fault {item!r}: nth counts from 1")
        elif name == "nth":
            raise FaultSyntaxError(
                f"fault {item!r}: nth counts the requests to a target; name one, as in list:{spec}"
            )
        elif name == "retry-after":
            retry_after = _number(item, name, text.strip())
        else:
            raise FaultSyntaxError(
                f"fault {item!r}: unknown option {name!r} (known: times, nth, retry-after)"
            )
    name, has_value, text = head.partition("=")
    name = name.strip().lower()
    if name in _STREAM_KINDS and target not in _STREAMING_TARGETS:
        raise FaultSyntaxError(
            f"fault {item!r}: {name} delays streams, which only chat, responses and responses.retrieve send"
        )
    if name == "fail-after" and target is not None and target not in FAILING_TARGETS:
        raise FaultSyntaxError(
            f"fault {item!r}: fail-after fails a model response, which only responses and "
            "responses.retrieve send"
        )
    if name == "truncated" and target not in CONTENT_TARGETS:
        raise FaultSyntaxError(
            f"fault {item!r}: truncated cuts a file's content, which only files.content sends"
        )
    if name == "truncated":
        lines = _count(item, name, text.strip()) if has_value else -1
        return Fault("truncated", lines, times, None, target, nth)
    if name.isdigit() and not has_value:
        status = int(name)
        if not 400 <= status <= 599:
            raise FaultSyntaxError(f"fault {item!r}: a status fault must be 4xx or 5xx")
        if status == 429 and retry_after is None:
            retry_after = DEFAULT_429_RETRY_AFTER
        return Fault("status", status, times, retry_after, target, nth)
    if name == "malformed" and not has_value:
        return Fault("malformed", 0.0, times, None, target, nth)
    if name == "drop" and not has_value:
        return Fault("drop-after", 0, times, None, target, nth)
    if name in _DURATION_KINDS and has_value:
        return Fault(name, _seconds(item, name, text.strip()), times, None, target, nth)
    if name == "hang" and has_value:
        return Fault("latency", _seconds(item, name, text.strip()), times, None, target, nth)
    if name in ("drop-after", "fail-after") and has_value:
        return Fault(name, _count(item, name, text.strip()), times, None, target, nth)
    raise FaultSyntaxError(
        f"unknown fault {item!r} (known: a 4xx/5xx status, latency=S, hang=S, first-token=S, "
        "chunk-delay=S, drop-after=N, drop, fail-after=N, malformed, truncated[=N]; optionally after a "
        "target such as list:)"
    )


def parse_faults(text: str | Iterable[str]) -> list[Fault]:
    """Read a comma-separated fault list, or a list of such strings; empty items are skipped."""
    items = [text] if isinstance(text, str) else list(text)
    return [parse_fault(part) for item in items for part in item.split(",") if part.strip()]


def parse_header_faults(values: Iterable[str]) -> list[Fault]:
    """Read the `x-chatspan-fault` header values: faults for the request that carries them.

    Targets are refused: they count requests across a test, which one request's header cannot.
    """
    faults = parse_faults(values)
    for fault in faults:
        if fault.target is not None:
            raise FaultSyntaxError(
                f"the {fault.target}: target counts requests from when faults are set; send it to "
                "POST /_chatspan/faults (or DevServer.set_faults), or drop the target from the header"
            )
    return faults


def plan_faults(faults: Sequence[Fault], retry_count: int, request_number: int = 1) -> FaultPlan:
    """Combine the faults that apply into what happens to the request (see `Fault.active`)."""
    status: Fault | None = None
    latency = first_token = chunk_delay = 0.0
    drop_after: int | None = None
    fail_after: int | None = None
    malformed = False
    truncated: int | None = None
    for fault in faults:
        if not fault.active(retry_count, request_number):
            continue
        if fault.kind == "status":
            status = status or fault
        elif fault.kind == "latency":
            latency += fault.value
        elif fault.kind == "first-token":
            first_token += fault.value
        elif fault.kind == "chunk-delay":
            chunk_delay += fault.value
        elif fault.kind == "drop-after":
            drop_after = int(fault.value) if drop_after is None else min(drop_after, int(fault.value))
        elif fault.kind == "fail-after":
            fail_after = int(fault.value) if fail_after is None else min(fail_after, int(fault.value))
        elif fault.kind == "malformed":
            malformed = True
        elif fault.kind == "truncated":
            truncated = int(fault.value)
    return FaultPlan(
        status=None if status is None else int(status.value),
        retry_after=None if status is None else status.retry_after,
        latency=latency,
        first_token=first_token,
        chunk_delay=chunk_delay,
        drop_after=drop_after,
        fail_after=fail_after,
        malformed=malformed,
        truncated=truncated,
    )


def retry_count(header: str | None) -> int:
    """The SDK's retry number from `x-stainless-retry-count`; 0 when absent or unreadable."""
    if header is None or not header.strip().isdigit():
        return 0
    return int(header.strip())
