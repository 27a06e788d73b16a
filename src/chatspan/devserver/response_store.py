"""Stored responses (`store: true`, the default): a bounded, thread-safe store keyed by response id.

A record keeps the finished `Response`, its input items, the conversation it ends (for a later
`previous_response_id`), its stream events (for `GET /v1/responses/{id}?stream=true`) and, for
a background response, when it was created and whether it was cancelled. What status a
background response shows depends on the time it is asked (`StoredResponse.status_at`).
When the store is full the oldest record is forgotten, as if it had expired.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

DEFAULT_CAPACITY = 10_000


@dataclass(frozen=True)
class StoredResponse:
    """One stored response. Treat the dicts as read-only: they are serialised as they are."""

    response: dict[str, Any]
    """The finished `Response` object (for a background response: what it will be once completed)."""
    input_items: tuple[dict[str, Any], ...]
    context: tuple[dict[str, Any], ...]
    """The conversation up to and including this response, as chat messages."""
    events: tuple[dict[str, Any], ...]
    background: bool = False
    created: float = 0.0
    """Clock time of the create call."""
    cancelled_at: float | None = None

    @property
    def id(self) -> str:
        """The response id (`resp_...`)."""
        return str(self.response["id"])

    def status_at(self, now: float, stage_seconds: float) -> str:
        """The status at clock time `now`: a background response is `queued` for `stage_seconds`,
        then `in_progress` as long again, then finished; a cancelled one stays `cancelled`."""
        if not self.background:
            return str(self.response["status"])
        if self.cancelled_at is not None:
            return "cancelled"
        elapsed = now - self.created
        if elapsed < stage_seconds:
            return "queued"
        if elapsed < 2 * stage_seconds:
            return "in_progress"
        return str(self.response["status"])

    def finished_at(self, stage_seconds: float) -> float:
        """Clock time a background response finishes (its create time for a foreground one)."""
        return self.created + 2 * stage_seconds if self.background else self.created


class ResponseStore:
    """The last `capacity` stored responses, in storing order; every method is safe across threads."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"a response store holds at least 1 response, not {capacity}")
        self._records: OrderedDict[str, StoredResponse] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def put(self, record: StoredResponse) -> None:
        """Store a record, forgetting the oldest one when the store is full."""
        with self._lock:
            self._records[record.id] = record
            self._records.move_to_end(record.id)
            while len(self._records) > self._capacity:
                self._records.popitem(last=False)

    def get(self, response_id: str) -> StoredResponse | None:
        """The record with this id, or None."""
        with self._lock:
            return self._records.get(response_id)

    def delete(self, response_id: str) -> bool:
        """Forget a record; whether it was there."""
        with self._lock:
            return self._records.pop(response_id, None) is not None

    def cancel(self, response_id: str, now: float, stage_seconds: float) -> StoredResponse | None:
        """Mark a background response cancelled unless it has finished by `now`; None when absent.

        Returns the record as it is afterwards (unchanged when it had already finished).
        """
        with self._lock:
            record = self._records.get(response_id)
            if record is None:
                return None
            if record.status_at(now, stage_seconds) in ("queued", "in_progress"):
                record = replace(record, cancelled_at=now)
                self._records[response_id] = record
            return record

    def ids(self) -> list[str]:
        """The stored ids, oldest first."""
        with self._lock:
            return list(self._records)

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
