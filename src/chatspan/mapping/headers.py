"""HTTP response headers -> span attributes: server timing, request id, rate-limit headroom.

Only OpenAI itself sends most of these; Azure, vLLM and other compatible servers leave them out,
and then the attribute is simply not set. A malformed value is skipped, never raised on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

from opentelemetry.util.types import AttributeValue

from chatspan import semconv


class HeaderLookup(Protocol):
    """What we need of `httpx.Headers` / `httpx2.Headers` (or a plain dict with lower-case keys)."""

    def get(self, key: str, default: None = None) -> str | None: ...


_INT_HEADERS = (
    ("x-ratelimit-limit-requests", semconv.OPENAI_RATELIMIT_REQUESTS_LIMIT),
    ("x-ratelimit-remaining-requests", semconv.OPENAI_RATELIMIT_REQUESTS_REMAINING),
    ("x-ratelimit-limit-tokens", semconv.OPENAI_RATELIMIT_TOKENS_LIMIT),
    ("x-ratelimit-remaining-tokens", semconv.OPENAI_RATELIMIT_TOKENS_REMAINING),
)
_MS_HEADERS = (
    ("openai-processing-ms", semconv.OPENAI_PROCESSING_DURATION),
    ("x-envoy-upstream-service-time", semconv.OPENAI_UPSTREAM_DURATION),
)
_RESET_HEADERS = (
    ("x-ratelimit-reset-requests", semconv.OPENAI_RATELIMIT_REQUESTS_RESET),
    ("x-ratelimit-reset-tokens", semconv.OPENAI_RATELIMIT_TOKENS_RESET),
)

# Go's time.Duration.String(): "1h2m3.5s", "6m0s", "12ms", "250µs"; OpenAI writes exactly this.
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def header_attributes(headers: HeaderLookup | Mapping[str, str]) -> dict[str, AttributeValue]:
    """Map the headers OpenAI sends with every response to `openai.*` attributes."""
    attrs: dict[str, AttributeValue] = {}
    request_id = headers.get("x-request-id")
    if request_id:
        attrs[semconv.OPENAI_REQUEST_ID] = request_id.strip()
    for name, attribute in _MS_HEADERS:
        seconds = parse_milliseconds(headers.get(name))
        if seconds is not None:
            attrs[attribute] = seconds
    for name, attribute in _INT_HEADERS:
        count = parse_count(headers.get(name))
        if count is not None:
            attrs[attribute] = count
    for name, attribute in _RESET_HEADERS:
        reset = parse_go_duration(headers.get(name))
        if reset is not None:
            attrs[attribute] = reset
    return attrs


def parse_count(value: str | None) -> int | None:
    """Parse a non-negative integer header; None for anything else."""
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() else None


def parse_milliseconds(value: str | None) -> float | None:
    """Parse a millisecond count (`"123"`, sometimes `"123.4"`) into seconds."""
    if value is None:
        return None
    try:
        millis = float(value.strip())
    except ValueError:
        return None
    if not 0 <= millis < float("inf"):
        return None
    return millis / 1000.0


def parse_go_duration(value: str | None) -> float | None:
    """Parse a Go duration string (`6m0s`, `1.5s`, `12ms`, `0s`) into seconds.

    A bare number is taken as seconds, since some compatible servers send `retry-after` style
    values; anything else returns None.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text == "0":
        return 0.0
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if 0 <= seconds < float("inf") else None
    total = 0.0
    position = 0
    for match in _GO_PART.finditer(text):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        position = match.end()
    return total if position == len(text) and position > 0 else None
