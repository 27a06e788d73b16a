"""Fault knobs: make the devserver fail, stall or break a stream on purpose.

A fault list is comma-separated; each fault is a head and `;`-separated options::

    429                      answer 429 rate_limit_exceeded (with retry-after / retry-after-ms)
    500, 502, 503, ...       answer that status (any 4xx/5xx) with OpenAI's error body
    latency=0.2              wait 0.2 s before answering
    first-token=0.5          streams: wait 0.5 s after the headers, before the first chunk
    chunk-delay=0.01         streams: wait 0.01 s between chunks
    drop-after=3             streams: send 3 chunks, then drop the TCP connection without the
                             terminating chunk; other requests: drop it without answering
    malformed                200 with a truncated JSON body (streams: a truncated `data:` line)

    ;times=N                 only while the request's `x-stainless-retry-count` (the openai SDK's
                             retry number, 0 on the first try) is below N: `429;times=1` fails the
                             first try and lets the SDK's retry succeed
    ;retry-after=S           seconds the error tells the client to wait: `retry-after` (whole
                             seconds, rounded up) and `retry-after-ms`, which the SDK prefers.
                             Default 0.01 for 429, none for other statuses

Faults arrive three ways, and all that apply are combined (the first status fault wins):
the `x-chatspan-fault` request header (one request), `POST /_chatspan/faults` with a JSON list of
fault strings (every later chat request, until `[]` is posted), and `DevServer.set_faults([...])`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

FAULT_HEADER = "x-chatspan-fault"
RETRY_COUNT_HEADER = "x-stainless-retry-count"
DEFAULT_429_RETRY_AFTER = 0.01

_DURATION_KINDS = ("latency", "first-token", "chunk-delay")


class FaultSyntaxError(ValueError):
    """A fault string the devserver cannot read; the message says which and why."""


@dataclass(frozen=True)
class Fault:
    """One parsed fault: `kind` is `status`, `latency`, `first-token`, `chunk-delay`, `drop-after` or
    `malformed`; `value` is the status code, the seconds or the chunk count."""

    kind: str
    value: float = 0.0
    times: int | None = None
    retry_after: float | None = None

    def active(self, retry_count: int) -> bool:
        """Whether the fault applies to a request on its `retry_count`-th retry."""
        return self.times is None or retry_count < self.times


@dataclass(frozen=True)
class FaultPlan:
    """What the active faults do to one request."""

    status: int | None = None
    retry_after: float | None = None
    latency: float = 0.0
    first_token: float = 0.0
    chunk_delay: float = 0.0
    drop_after: int | None = None
    malformed: bool = False


def _number(item: str, name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaultSyntaxError(f"fault {item!r}: {name} needs a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise FaultSyntaxError(f"fault {item!r}: {name} must be a finite number >= 0, got {text!r}")
    return value


def _count(item: str, name: str, text: str) -> int:
    if not text.isdigit():
        raise FaultSyntaxError(f"fault {item!r}: {name} needs a whole number >= 0, got {text!r}")
    return int(text)


def parse_fault(item: str) -> Fault:
    """Read one fault (`429;times=1`, `latency=0.2`, `malformed`, ...); raise `FaultSyntaxError`."""
    head, *options = (part.strip() for part in item.strip().split(";"))
    times: int | None = None
    retry_after: float | None = None
    for option in options:
        name, _, text = option.partition("=")
        name = name.strip().lower()
        if name == "times":
            times = _count(item, name, text.strip())
        elif name == "retry-after":
            retry_after = _number(item, name, text.strip())
        else:
            raise FaultSyntaxError(f"fault {item!r}: unknown option {name!r} (known: times, retry-after)")
    name, has_value, text = head.partition("=")
    name = name.strip().lower()
    if name.isdigit() and not has_value:
        status = int(name)
        if not 400 <= status <= 599:
            raise FaultSyntaxError(f"fault {item!r}: a status fault must be 4xx or 5xx")
        if status == 429 and retry_after is None:
            retry_after = DEFAULT_429_RETRY_AFTER
        return Fault("status", status, times, retry_after)
    if name == "malformed" and not has_value:
        return Fault("malformed", 0.0, times)
    if name in _DURATION_KINDS and has_value:
        return Fault(name, _number(item, name, text.strip()), times)
    if name == "drop-after" and has_value:
        return Fault(name, _count(item, name, text.strip()), times)
    raise FaultSyntaxError(
        f"unknown fault {item!r} (known: a 4xx/5xx status, latency=S, first-token=S, chunk-delay=S, "
        "drop-after=N, malformed)"
    )


def parse_faults(text: str | Iterable[str]) -> list[Fault]:
    """Read a comma-separated fault list, or a list of such strings; empty items are skipped."""
    items = [text] if isinstance(text, str) else list(text)
    return [parse_fault(part) for item in items for part in item.split(",") if part.strip()]


def plan_faults(faults: Sequence[Fault], retry_count: int) -> FaultPlan:
    """Combine the faults that apply on `retry_count` into what happens to the request."""
    status: Fault | None = None
    latency = first_token = chunk_delay = 0.0
    drop_after: int | None = None
    malformed = False
    for fault in faults:
        if not fault.active(retry_count):
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
        elif fault.kind == "malformed":
            malformed = True
    return FaultPlan(
        status=None if status is None else int(status.value),
        retry_after=None if status is None else status.retry_after,
        latency=latency,
        first_token=first_token,
        chunk_delay=chunk_delay,
        drop_after=drop_after,
        malformed=malformed,
    )


def retry_count(header: str | None) -> int:
    """The SDK's retry number from `x-stainless-retry-count`; 0 when absent or unreadable."""
    if header is None or not header.strip().isdigit():
        return 0
    return int(header.strip())
