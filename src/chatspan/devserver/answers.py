"""What an endpoint answers with, before the handler puts it on the wire (and faults bend it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from chatspan.devserver.ratelimit import RateLimitState

SseEvent = tuple[str | None, str]
"""One server-sent event: its `event:` name (None: a bare `data:` line, as chat chunks are) and data."""


@dataclass(frozen=True)
class JsonAnswer:
    """A 200 JSON body; `state` is the rate-limit state its headers report (None: as it is now)."""

    body: dict[str, Any]
    state: RateLimitState | None = None


@dataclass(frozen=True)
class StreamAnswer:
    """A 200 `text/event-stream`; `done_marker` ends it with `data: [DONE]` as chat streams end."""

    events: Iterable[SseEvent]
    state: RateLimitState | None = None
    done_marker: bool = False


@dataclass(frozen=True)
class ContentAnswer:
    """A 200 file body sent chunked as `lines` come (a file's content).

    `count_lines` is asked only when a `truncated` fault must find the middle of the file."""

    lines: Iterable[bytes]
    count_lines: Callable[[], int]
    content_type: str = "application/octet-stream"
    state: RateLimitState | None = None


Answer = JsonAnswer | StreamAnswer | ContentAnswer
