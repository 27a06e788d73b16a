"""The time window and filters of a backfill, parsed from what a user types."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

DEFAULT_SINCE = "30d"


class WindowError(ValueError):
    """A window or filter the user typed that cannot be understood; its text says why."""


@dataclass(frozen=True)
class Selection:
    """What a backfill covers: created time in [since, until] (unix seconds) and the filters."""

    since: int
    until: int
    model: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    def matches(self, created: int, model: object, metadata: object) -> bool:
        """Whether a stored completion falls in the window and passes the filters.

        The API filters too; checking again keeps a server that ignores a filter from leaking
        completions the user did not ask for into their traces.
        """
        if not self.since <= created <= self.until:
            return False
        if self.model is not None and model != self.model and not _is_snapshot_of(model, self.model):
            return False
        if self.metadata:
            if not isinstance(metadata, dict):
                return False
            return all(metadata.get(key) == value for key, value in self.metadata.items())
        return True


def parse_time(text: str, *, now: datetime) -> int:
    """Parse `2026-11-01`, `2026-11-01T12:00:00Z` (naive means UTC) or a span back from now (`7d`, `36h`)."""
    value = text.strip()
    relative = _RELATIVE.match(value)
    if relative:
        seconds = float(relative.group(1)) * _UNITS[relative.group(2)]
        return int((now - timedelta(seconds=seconds)).timestamp())
    if value.lower() == "now":
        return int(now.timestamp())
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise WindowError(
            f"cannot read the time {text!r}: use an ISO date or date-time (2026-11-01, "
            "2026-11-01T12:00:00Z) or a span back from now (30d, 36h, 90m)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def parse_metadata(pairs: list[str]) -> dict[str, str]:
    """Parse repeated `key=value` options into a dict (a key given twice is an error)."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise WindowError(f"cannot read the metadata filter {pair!r}: write it as key=value")
        if key in parsed and parsed[key] != value:
            raise WindowError(f"the metadata key {key!r} is given twice with different values")
        parsed[key] = value
    if len(parsed) > 16:
        raise WindowError("OpenAI metadata holds at most 16 pairs, so at most 16 filters can match")
    return parsed


def selection(
    *, since: str | None, until: str | None, model: str | None, metadata: list[str], now: datetime
) -> Selection:
    """Build the selection from the command-line values (`since` defaults to the last 30 days).

    A `--since` in the future without `--until` is an empty window, not an error (empty_hint()
    says so); `--since` after an explicit `--until` is a WindowError.
    """
    start = parse_time(since or DEFAULT_SINCE, now=now)
    end = parse_time(until, now=now) if until else int(now.timestamp())
    if start > end and until:
        raise WindowError(f"--since ({_iso(start)}) is after --until ({_iso(end)})")
    return Selection(since=start, until=end, model=model or None, metadata=parse_metadata(metadata))


def empty_hint(chosen: Selection, *, now: int, matched: int, fresh: bool) -> str | None:
    """Why a run found nothing to emit, when the likely cause is the command line; else None.

    `matched` counts the completions that passed the window and filters (sent, or shown by a dry
    run); `fresh` says the run listed the whole window (no checkpoint had covered any of it): a
    re-run that finds nothing new is no mistake.
    """
    if chosen.since > now:
        return f"the window starts in the future (--since {_iso(chosen.since)}; now is {_iso(now)})"
    if matched or not fresh:
        return None
    filters = []
    if chosen.model is not None:
        filters.append(f"--model {chosen.model}")
    filters.extend(f"--metadata {key}={value}" for key, value in chosen.metadata.items())
    window = f"between {_iso(chosen.since)} and {_iso(chosen.until)}"
    if filters:
        return (
            f"no stored completion {window} matched {' '.join(filters)}; "
            "check the model name and metadata, or widen --since"
        )
    return (
        f"no stored completion {window}; only calls made with store=True are listed "
        "(check OPENAI_BASE_URL and OPENAI_PROJECT_ID, or widen --since)"
    )


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def _is_snapshot_of(model: object, requested: str) -> bool:
    # `--model gpt-4o-mini` should match the dated snapshot `gpt-4o-mini-2024-07-18` OpenAI stores.
    return (
        isinstance(model, str)
        and re.fullmatch(re.escape(requested) + r"-\d{4}-\d{2}-\d{2}", model) is not None
    )
