"""HTTP response headers -> span attributes: server timing, request id, rate-limit headroom.

Only OpenAI itself sends most of these; Azure, vLLM and other compatible servers leave them out,
and then the attribute is simply not set. A malformed value is skipped, never raised on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from opentelemetry.util.types import AttributeValue

from chatspan import semconv
from chatspan.mapping._values import as_duration, as_text

logger = logging.getLogger(__name__)


class HeaderLookup(Protocol):
    """What we need of `httpx.Headers` / `httpx2.Headers` (or a plain dict with lower-case keys)."""

    def get(self, key: str, default: None = None) -> str | None: ...


# Go's time.Duration.String(): "1h2m3.5s", "6m0s", "12ms", "250µs"; OpenAI writes exactly this.
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _text(value: str | bytes) -> str:
    # Raw header values are bytes; HTTP allows only Latin-1 in them.
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _request_id(value: str | bytes) -> str | None:
    return as_text(_text(value).strip()) or None


# header name -> (attribute, kind, parser). One table serves dict lookups (str values) and the raw scan
# (bytes values): every parser takes both.
_HEADERS: dict[str, tuple[str, str, Callable[[str | bytes], AttributeValue | None]]] = {}
# How a header's usual value reads (the fast path of `_scan`).
_COUNT, _MILLISECONDS, _RESET, _ID = "count", "milliseconds", "reset", "id"


def header_attributes(headers: HeaderLookup | Mapping[str, str]) -> dict[str, AttributeValue]:
    """Map the headers OpenAI sends with every response to `openai.*` attributes.

    `headers` is `httpx.Headers`/`httpx2.Headers` (read in one pass over the (raw name, lower-case
    name, value) entries both keep, since each `.get()` scans them all) or a mapping with lower-case
    keys. The last of repeated headers counts, as for `.get()`.
    """
    entries = getattr(headers, "_list", None)
    if isinstance(entries, list):
        try:
            return _scan(entries)
        except (TypeError, ValueError):
            # Not the (raw, lower, value) triples httpx keeps: read the public view instead.
            pass
    raw = getattr(headers, "raw", None)
    if isinstance(raw, list):
        return raw_header_attributes(raw)
    attrs: dict[str, AttributeValue] = {}
    for name, (attribute, _kind, parse) in _HEADERS.items():
        value = headers.get(name)
        if value is not None:
            _set_parsed(attrs, attribute, parse, value)
    return attrs


def raw_header_attributes(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, AttributeValue]:
    """Map raw `(name, value)` byte pairs as an HTTP client keeps them (any case; the last one wins)."""
    return _scan([(name, name.lower(), value) for name, value in raw])


def _scan(entries: Iterable[tuple[bytes, bytes, bytes]]) -> dict[str, AttributeValue]:
    """Map `(raw name, lower-case name, value)` entries: one dict lookup per header.

    What OpenAI sends (plain digits, ASCII ids, a reset already seen) is read inline; anything else
    goes through the careful parser of its header.
    """
    attrs: dict[str, AttributeValue] = {}
    for _, name, value in entries:
        known = _RAW_HEADERS.get(name)
        if known is None:
            continue
        attribute, kind, parse = known
        # Of a repeated header the last one counts, even when it cannot be read: every branch
        # either sets the attribute or removes what an earlier one set.
        if kind is _COUNT and value.isdigit() and len(value) < 19:
            attrs[attribute] = int(value)  # 18 digits stay below 2**63
        elif kind is _MILLISECONDS and value.isdigit() and len(value) < 19:
            attrs[attribute] = int(value) / 1000.0
        elif kind is _RESET and (seconds := _go_durations.get(value)) is not None:
            attrs[attribute] = seconds
        elif kind is _ID and isinstance(value, bytes) and value.isascii() and (text := value.strip()):
            attrs[attribute] = text.decode("ascii")
        else:
            attrs.pop(attribute, None)
            _set_parsed(attrs, attribute, parse, value)
    return attrs


def _set_parsed(
    attrs: dict[str, AttributeValue],
    attribute: str,
    parse: Callable[[str | bytes], AttributeValue | None],
    value: str | bytes,
) -> None:
    # One header that cannot be read costs only its own attribute, never the others (request id).
    try:
        parsed = parse(value)
    except Exception:
        logger.debug("chatspan: header for %s unreadable; skipped", attribute, exc_info=True)
        return
    if parsed is not None:
        attrs[attribute] = parsed


def parse_count(value: str | bytes | None) -> int | None:
    """Parse a non-negative integer header (text or raw bytes); None for anything else."""
    if value is None:
        return None
    if isinstance(value, bytes) and value.isdigit() and len(value) < 19:
        # What OpenAI sends, read without decoding (18 digits stay below 2**63).
        return int(value)
    value = _text(value).strip()
    if not (value.isascii() and value.isdigit()):
        return None
    # Bounded before int(): Python refuses int() of more than 4,300 digits, and OTLP carries int64
    # (2**63 has 19 digits), so a longer number is malformed whatever its value.
    digits = value.lstrip("0")
    if len(digits) > 19:
        return None
    count = int(digits or "0")
    return count if count < 2**63 else None


def parse_milliseconds(value: str | bytes | None) -> float | None:
    """Parse a millisecond count (`"123"`, sometimes `"123.4"`; text or raw bytes) into seconds."""
    if value is None:
        return None
    if isinstance(value, bytes) and value.isdigit() and len(value) < 19:
        return int(value) / 1000.0
    try:
        millis = float(_text(value).strip())
    except ValueError:
        return None
    return as_duration(millis / 1000.0)


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
    if text[-1].isdigit():
        try:
            seconds = float(text)
        except ValueError:
            return None
        return as_duration(seconds)
    total = 0.0
    position = 0
    for match in _GO_PART.finditer(text):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        position = match.end()
    if position != len(text) or position == 0:
        return None
    # A part with hundreds of digits is a float overflow: inf is no duration.
    return as_duration(total)


_go_durations: dict[str | bytes, float | None] = {}


def _cached_go_duration(value: str | bytes) -> float | None:
    # Reset values repeat ("6ms", "0s", "1s"), and parsing one is a regex walk: worth remembering.
    try:
        return _go_durations[value]
    except KeyError:
        pass
    seconds = parse_go_duration(_text(value))
    if len(_go_durations) >= 512:
        _go_durations.clear()
    _go_durations[value] = seconds
    return seconds


_HEADERS.update(
    {
        "x-request-id": (semconv.OPENAI_REQUEST_ID, _ID, _request_id),
        "openai-processing-ms": (semconv.OPENAI_PROCESSING_DURATION, _MILLISECONDS, parse_milliseconds),
        "x-envoy-upstream-service-time": (
            semconv.OPENAI_UPSTREAM_DURATION,
            _MILLISECONDS,
            parse_milliseconds,
        ),
        "x-ratelimit-limit-requests": (semconv.OPENAI_RATELIMIT_REQUESTS_LIMIT, _COUNT, parse_count),
        "x-ratelimit-remaining-requests": (semconv.OPENAI_RATELIMIT_REQUESTS_REMAINING, _COUNT, parse_count),
        "x-ratelimit-limit-tokens": (semconv.OPENAI_RATELIMIT_TOKENS_LIMIT, _COUNT, parse_count),
        "x-ratelimit-remaining-tokens": (semconv.OPENAI_RATELIMIT_TOKENS_REMAINING, _COUNT, parse_count),
        "x-ratelimit-reset-requests": (semconv.OPENAI_RATELIMIT_REQUESTS_RESET, _RESET, _cached_go_duration),
        "x-ratelimit-reset-tokens": (semconv.OPENAI_RATELIMIT_TOKENS_RESET, _RESET, _cached_go_duration),
    }
)
_RAW_HEADERS = {name.encode("ascii"): entry for name, entry in _HEADERS.items()}
