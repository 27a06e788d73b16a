"""What a Responses API event stream tells about its response, for the span's end.

The stream carries the whole `Response` twice: in `response.created` (status in_progress or queued)
and in the terminal event (`response.completed`, `response.incomplete`, `response.failed`), which
also holds the usage. The span maps the latest one seen, so a stream broken off early still says
which response it was; an `error` event marks the call failed.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.util.types import AttributeValue

from chatspan.mapping._values import as_text
from chatspan.mapping.response_messages import response_output_attributes
from chatspan.mapping.responses import response_object_attributes

_RESPONSE_EVENTS = frozenset(
    {
        "response.created",
        "response.queued",
        "response.in_progress",
        "response.completed",
        "response.incomplete",
        "response.failed",
    }
)


class ResponseEventAccumulator:
    """Keeps the latest `Response` an event stream carried, and the error event if one came."""

    __slots__ = ("capture", "error_type", "first_chunk_after", "response", "with_usage")

    def __init__(self, capture: bool, *, with_usage: bool = True) -> None:
        self.capture = capture
        self.with_usage = with_usage
        self.first_chunk_after: float | None = None
        self.response: Any = None
        self.error_type: str | None = None

    def is_output(self, event: Any) -> bool:
        """The first delta of any output (text, refusal, tool arguments, reasoning) counts."""
        kind = getattr(event, "type", None)
        return isinstance(kind, str) and kind.endswith(".delta")

    def add(self, event: Any) -> None:
        """Take one `ResponseStreamEvent` into account."""
        kind = getattr(event, "type", None)
        if kind in _RESPONSE_EVENTS:
            response = getattr(event, "response", None)
            # Only a Response replaces the one kept: a server's garbage there must not erase it.
            if response is not None and not isinstance(response, (str, bytes, int, float, list)):
                self.response = response
        elif kind == "error":
            self.error_type = as_text(getattr(event, "code", None)) or "error"

    def attributes(self) -> dict[str, AttributeValue]:
        """The latest response's attributes; `error.type` when the stream reported an error."""
        attrs: dict[str, AttributeValue] = {}
        if self.response is not None:
            attrs = response_object_attributes(self.response, with_usage=self.with_usage)
            if self.capture:
                attrs.update(response_output_attributes(self.response))
        if self.error_type is not None and error_attributes.ERROR_TYPE not in attrs:
            attrs[error_attributes.ERROR_TYPE] = self.error_type
        return attrs
