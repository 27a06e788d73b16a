"""The demo's text view of what was sent: one line per span, live spans with their stored children.

Spans come from Phoenix's REST API (`from_phoenix`) or from the demo's OTLP relay (`from_otlp`), and
are shown alike: name, duration, tokens (input+output), `openai.processing.duration`, request id.
A Responses API span is named `chat {model}` like a chat completion's, so its line ends with
`responses` (and `stream` for a stream), from `openai.api.type` and `gen_ai.request.stream`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

SOURCE_ATTRIBUTE: Final = "chatspan.source"
LIVE: Final = "live"
BACKFILL: Final = "backfill"
API_TYPE_ATTRIBUTE: Final = "openai.api.type"
RESPONSES_API: Final = "responses"
BATCH_PREFIX: Final = "batch "
"""The root span of a backfilled batch is `batch {id}`; its children are the batch's lines."""

_NAME_WIDTH: Final = 44
_HEADER: Final = (
    f"{'span':<{_NAME_WIDTH}} {'duration':>9}  {'tokens':<11} {'processing':>10}  openai.request.id"
)


@dataclass(frozen=True)
class SentSpan:
    """The parts of an exported span the view shows, whichever receiver it was read back from."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start_ns: int
    end_ns: int
    status: str
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """`live` or `backfill`, as chatspan marks every span it makes."""
        return str(self.attributes.get(SOURCE_ATTRIBUTE, ""))


@dataclass(frozen=True)
class View:
    """The lines to print, the full listing, and the trace worth opening first."""

    summary: list[str]
    table: list[str]
    full_table: list[str]
    linked_trace: str | None
    batch_trace: str | None = None
    """A backfilled batch's trace (its root and one span per line), when there is one."""
    earliest_ns: int | None = None
    """Start of the earliest span shown (backfilled spans sit at their `created`, up to a month back)."""
    latest_ns: int | None = None
    """End of the latest span shown."""


def from_phoenix(span: dict[str, Any]) -> SentSpan:
    """A span as Phoenix's `GET /v1/projects/{project}/spans` returns it."""
    return SentSpan(
        trace_id=span["context"]["trace_id"],
        span_id=span["context"]["span_id"],
        parent_id=span.get("parent_id") or None,
        name=span["name"],
        start_ns=_iso_ns(span["start_time"]),
        end_ns=_iso_ns(span["end_time"]),
        status=span.get("status_code") or "UNSET",
        attributes=dict(span.get("attributes") or {}),
    )


def build_view(spans: Iterable[SentSpan], *, sample: int = 5) -> View:
    """Live spans by start time, each followed by the backfilled spans linked under it, then up to
    `sample` of the other backfilled spans, newest first (`full_table` lists them all)."""
    spans = list(spans)
    live = sorted((s for s in spans if s.source != BACKFILL), key=lambda s: s.start_ns)
    live_ids = {s.span_id for s in live}
    children: dict[str, list[SentSpan]] = {}
    for span in spans:
        if span.source == BACKFILL and span.parent_id in live_ids:
            children.setdefault(span.parent_id or "", []).append(span)
    linked = [child for group in children.values() for child in group]
    batch_roots = sorted(
        (s for s in spans if s.source == BACKFILL and s.name.startswith(BATCH_PREFIX) and not s.parent_id),
        key=lambda s: s.start_ns,
        reverse=True,
    )
    batch_ids = {s.span_id for s in batch_roots}
    lines_of: dict[str, list[SentSpan]] = {}
    for span in spans:
        if span.parent_id in batch_ids:
            lines_of.setdefault(span.parent_id or "", []).append(span)
    in_batches = len(batch_roots) + sum(len(group) for group in lines_of.values())
    unlinked = sorted(
        (
            s
            for s in spans
            if s.source == BACKFILL
            and s.parent_id not in live_ids
            and s.span_id not in batch_ids
            and s.parent_id not in batch_ids
        ),
        key=lambda s: s.start_ns,
        reverse=True,
    )

    head = [_HEADER]
    for span in live:
        head.append(_line(span))
        head.extend(_line(child, indent="  └ ") for child in children.get(span.span_id, ()))
    table = list(head)
    full_table = list(head)
    if unlinked:
        shown = unlinked[:sample]
        more = len(unlinked) - len(shown)
        table.append(f"backfilled from the stored list, newest {len(shown)} of {len(unlinked)}:")
        table.extend(_line(span) for span in shown)
        if more:
            table.append(f"... and {more} more")
        full_table.append(f"backfilled from the stored list, all {len(unlinked)}, newest first:")
        full_table.extend(_line(span) for span in unlinked)

    if batch_roots:
        heading = f"backfilled batches (`chatspan backfill --batches`), {len(batch_roots)} traces:"
        table.append(heading)
        full_table.append(heading)
        for root in batch_roots:
            batch_lines = sorted(lines_of.get(root.span_id, ()), key=lambda s: s.start_ns)
            table.append(_line(root))
            full_table.append(_line(root))
            table.extend(_line(span, indent="  └ ") for span in batch_lines[:2])
            if len(batch_lines) > 2:
                table.append(f"    └ ... and {len(batch_lines) - 2} more lines")
            full_table.extend(_line(span, indent="  └ ") for span in batch_lines)

    backfilled = len(linked) + len(unlinked) + in_batches
    responses = sum(1 for span in live if span.attributes.get(API_TYPE_ATTRIBUTE) == RESPONSES_API)
    kinds = (
        f" ({len(live) - responses} chat completions, {responses} Responses API calls)" if responses else ""
    )
    summary = [
        f"{len(spans)} spans: {len(live)} live from examples/app.py{kinds}, {backfilled} backfilled "
        f"by `chatspan backfill`, {len(linked)} of them linked under the live span of its call."
    ]
    if batch_roots:
        summary.append(
            f"{in_batches} of the backfilled spans are {len(batch_roots)} batch traces: a `batch {{id}}` "
            "span over the batch's lifetime with one child per line of its output and error files."
        )
    if backfilled:
        summary.append(
            "Backfilled spans are zero-length, at the completion's `created` second: the stored "
            "list holds no duration and no openai.processing.duration."
        )
    linked_trace = linked[0].trace_id if linked else None
    earliest = min((s.start_ns for s in spans), default=None)
    latest = max((s.end_ns for s in spans), default=None)
    batch_trace = next((root.trace_id for root in batch_roots if lines_of.get(root.span_id)), None)
    return View(summary, table, full_table, linked_trace, batch_trace, earliest, latest)


def _line(span: SentSpan, indent: str = "") -> str:
    attributes = span.attributes
    name = f"{indent}{span.name}"
    if len(name) > _NAME_WIDTH:
        name = name[: _NAME_WIDTH - 1] + "…"
    duration = f"{(span.end_ns - span.start_ns) / 1e6:.1f} ms"
    tokens = _tokens(attributes)
    processing = attributes.get("openai.processing.duration")
    processing_text = f"{processing * 1000:.1f} ms" if isinstance(processing, (int, float)) else "-"
    request_id = attributes.get("openai.request.id") or "-"
    line = f"{name:<{_NAME_WIDTH}} {duration:>9}  {tokens:<11} {processing_text:>10}  {request_id}"
    if attributes.get(API_TYPE_ATTRIBUTE) == RESPONSES_API:
        line += "  responses stream" if attributes.get("gen_ai.request.stream") is True else "  responses"
    if span.status == "ERROR":
        line += f"  ERROR {attributes.get('error.type', '')}".rstrip()
    return line


def _tokens(attributes: dict[str, Any]) -> str:
    prompt = attributes.get("gen_ai.usage.input_tokens")
    completion = attributes.get("gen_ai.usage.output_tokens")
    if prompt is None and completion is None:
        return "-"
    return f"{prompt if prompt is not None else '?'}+{completion if completion is not None else '?'}"


def _iso_ns(text: str) -> int:
    moment = datetime.fromisoformat(text)
    # Through integer microseconds: a float of nanoseconds since 1970 would lose the last digits.
    micros = round(moment.timestamp() * 1_000_000)
    return micros * 1000


def table_text(lines: Sequence[str]) -> str:
    """The lines as one block, indented as the demo prints them."""
    return "\n".join(f"  {line}" for line in lines)
