"""What a person is shown of a stored record: `chatspan get`'s fields and lines, dry-run rows,
and the notices of what a responses backfill skipped."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, TextIO

from chatspan.backfill.responses import IdLine

REPORTED_SKIPS = 20
"""Skipped ids and lines named one by one, at most; the hint at the end counts them all."""


def iso_time(seconds: int) -> str:
    """A unix time as ISO 8601 in UTC with a `Z`."""
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def completion_summary(completion: Any) -> dict[str, Any]:
    """What `chatspan get chatcmpl-...` shows: created, model, usage, request id, metadata."""
    created = completion.created
    return {
        "id": completion.id,
        "created": created,
        "created_iso": iso_time(created),
        "model": completion.model,
        "usage": completion.usage.model_dump(exclude_none=True) if completion.usage else None,
        "request_id": getattr(completion, "request_id", None),
        "metadata": dict(getattr(completion, "metadata", None) or {}),
    }


def completion_lines(summary: dict[str, Any]) -> list[str]:
    """`completion_summary()` as the aligned lines `chatspan get` prints."""
    lines = [
        f"id          {summary['id']}",
        f"created     {summary['created_iso']}  ({summary['created']})",
        f"model       {summary['model']}",
    ]
    usage = summary["usage"]
    if usage:
        lines.append(
            f"usage       {usage.get('prompt_tokens')} input, {usage.get('completion_tokens')} output, "
            f"{usage.get('total_tokens')} total"
        )
    return lines + _tail_lines(summary)


def response_summary(response: Any, input_items: list[Any] | None) -> dict[str, Any]:
    """What `chatspan get resp_...` shows: created, model, status, tokens, request id, metadata."""
    created = int(response.created_at)
    usage = response.usage
    tokens: dict[str, int | None] | None = None
    if usage is not None:
        input_details = getattr(usage, "input_tokens_details", None)
        output_details = getattr(usage, "output_tokens_details", None)
        tokens = {
            "input": usage.input_tokens,
            "output": usage.output_tokens,
            "cached": getattr(input_details, "cached_tokens", None),
            "reasoning": getattr(output_details, "reasoning_tokens", None),
        }
    summary: dict[str, Any] = {
        "id": response.id,
        "created": created,
        "created_iso": iso_time(created),
        "model": response.model,
        "status": response.status,
        "tokens": tokens,
        # The x-request-id of the retrieve, as the SDK exposes it.
        "request_id": getattr(response, "_request_id", None),
        "metadata": dict(response.metadata or {}),
    }
    if input_items is not None:
        summary["input_items"] = [item.model_dump(mode="json") for item in input_items]
    return summary


def response_lines(summary: dict[str, Any]) -> list[str]:
    """`response_summary()` as the aligned lines `chatspan get` prints."""
    lines = [
        f"id          {summary['id']}",
        f"created     {summary['created_iso']}  ({summary['created']})",
        f"model       {summary['model']}",
        f"status      {summary['status']}",
    ]
    tokens = summary["tokens"]
    if tokens:
        lines.append(
            f"tokens      {tokens['input']} input, {tokens['output']} output, "
            f"{_or_dash(tokens['cached'])} cached, {_or_dash(tokens['reasoning'])} reasoning"
        )
    lines += _tail_lines(summary)
    if "input_items" in summary:
        lines.append(f"input items {len(summary['input_items'])}")
    return lines


def _tail_lines(summary: dict[str, Any]) -> list[str]:
    lines = [f"request id  {summary['request_id'] or '-'}"]
    lines += [f"metadata    {key}={value}" for key, value in summary["metadata"].items()]
    exported = summary.get("exported")
    if isinstance(exported, dict):
        lines.append(
            f"exported    span {exported['span_id']} of trace {exported['trace_id']} to {exported['to']}"
        )
    return lines


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


def completion_row(completion: Any) -> str:
    """A dry run's line for a stored completion: id, created, model."""
    return f"{completion.id}\t{iso_time(completion.created)}\t{completion.model}"


def response_row(response: Any) -> str:
    """A dry run's line for a stored response: id, created, model, status."""
    return f"{response.id}\t{iso_time(int(response.created_at))}\t{response.model}\t{response.status}"


class SkipNotices:
    """Tell `out` about each id a responses backfill skipped (the first `REPORTED_SKIPS` of each
    kind), then sum them up in one hint."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self.missing = 0
        self.invalid = 0

    def on_missing(self, response_id: str) -> None:
        """An id the API had no stored response for (404)."""
        self.missing += 1
        if self.missing <= REPORTED_SKIPS:
            print(f"chatspan: skipped {response_id}: no stored response", file=self._out, flush=True)

    def on_invalid(self, line: IdLine) -> None:
        """A line that holds no response id."""
        self.invalid += 1
        if self.invalid <= REPORTED_SKIPS:
            print(
                f"chatspan: skipped line {line.number}: not a response id: {line.text[:80]!r}",
                file=self._out,
                flush=True,
            )

    def hint(self) -> str | None:
        """The closing hint when anything was skipped."""
        if not self.missing and not self.invalid:
            return None
        return (
            f"skipped {self.missing} ids with no stored response (deleted, or created with "
            f"store=false?) and {self.invalid} lines that hold no response id (resp_...)"
        )
