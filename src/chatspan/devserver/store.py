"""Stored chat completions (`store: true`): an in-memory, thread-safe store keyed by completion id.

A record keeps what OpenAI keeps: the completion, the request's messages and metadata, the request
id, and the request fields the stored-completion objects report (`seed`, `temperature`, `top_p`,
`tools`, `response_format`, `user`, ...). The store pages the way the list endpoints do (`after`,
`limit`, `order`, filters on `model` and `metadata`), so those endpoints need no more than a route.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

REQUEST_FIELDS = (
    "model",
    "seed",
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "tools",
    "tool_choice",
    "response_format",
    "user",
    "service_tier",
    "n",
    "max_tokens",
    "max_completion_tokens",
)
"""Request body fields a record keeps (absent ones are kept as None)."""


@dataclass(frozen=True)
class StoredCompletion:
    """One stored completion. Treat the dicts as read-only: the store hands out copies."""

    id: str
    created: int
    request_id: str
    completion: dict[str, Any]
    """The `chat.completion` object the request was answered with (streams: assembled)."""
    messages: tuple[dict[str, Any], ...]
    metadata: dict[str, str] = field(default_factory=dict)
    request: dict[str, Any] = field(default_factory=dict)
    """The kept request fields, `REQUEST_FIELDS` by name."""

    @property
    def model(self) -> str:
        """The model the completion names (with its snapshot date)."""
        return str(self.completion.get("model", ""))

    def as_object(self) -> dict[str, Any]:
        """The record as OpenAI's stored-completion objects show it (list and retrieve)."""
        return {
            **copy.deepcopy(self.completion),
            "metadata": dict(self.metadata),
            "request_id": self.request_id,
            "seed": self.request.get("seed"),
            "temperature": self.request.get("temperature"),
            "top_p": self.request.get("top_p"),
            "presence_penalty": self.request.get("presence_penalty"),
            "frequency_penalty": self.request.get("frequency_penalty"),
            "tools": copy.deepcopy(self.request.get("tools")),
            "tool_choice": copy.deepcopy(self.request.get("tool_choice")),
            "response_format": copy.deepcopy(self.request.get("response_format")),
            "input_user": self.request.get("user"),
        }


def stored_record(
    completion: dict[str, Any], body: Mapping[str, Any], request_id: str, metadata: Mapping[str, str] | None
) -> StoredCompletion:
    """Build the record of a `store: true` request from its answer and its request body."""
    return StoredCompletion(
        id=str(completion["id"]),
        created=int(completion["created"]),
        request_id=request_id,
        completion=copy.deepcopy(completion),
        messages=tuple(copy.deepcopy(list(body.get("messages", [])))),
        metadata=dict(metadata or {}),
        request={name: copy.deepcopy(body.get(name)) for name in REQUEST_FIELDS},
    )


@dataclass(frozen=True)
class Page:
    """One page of records, with what the list endpoints report about it."""

    records: tuple[StoredCompletion, ...]
    has_more: bool

    @property
    def first_id(self) -> str | None:
        """Id of the first record on the page, None for an empty page."""
        return self.records[0].id if self.records else None

    @property
    def last_id(self) -> str | None:
        """Id of the last record on the page, None for an empty page."""
        return self.records[-1].id if self.records else None


class CompletionStore:
    """Stored completions in the order they were stored; every method is safe across threads."""

    def __init__(self) -> None:
        self._records: dict[str, StoredCompletion] = {}
        self._lock = threading.Lock()

    def put(self, record: StoredCompletion) -> None:
        """Store (or replace) a record under its id."""
        with self._lock:
            self._records[record.id] = record

    def get(self, completion_id: str) -> StoredCompletion | None:
        """The record with this id, or None."""
        with self._lock:
            return self._records.get(completion_id)

    def delete(self, completion_id: str) -> bool:
        """Remove a record; whether it was there."""
        with self._lock:
            return self._records.pop(completion_id, None) is not None

    def update_metadata(self, completion_id: str, metadata: Mapping[str, str]) -> StoredCompletion | None:
        """Replace a record's metadata (as `POST /chat/completions/{id}` does); None when absent."""
        with self._lock:
            record = self._records.get(completion_id)
            if record is None:
                return None
            updated = replace(record, metadata=dict(metadata))
            self._records[completion_id] = updated
            return updated

    def snapshot(self) -> Mapping[str, StoredCompletion]:
        """A read-only copy of all records, id -> record, in the order they were stored."""
        with self._lock:
            return MappingProxyType(dict(self._records))

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def page(
        self,
        *,
        after: str | None = None,
        limit: int = 20,
        order: str = "asc",
        model: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Page:
        """Records by `created` (`asc` or `desc`, storing order breaking ties), filtered, after `after`.

        `model` matches the request's model or the completion's; `metadata` must all match.
        """
        with self._lock:
            records = list(self._records.values())
        ordered = sorted(enumerate(records), key=lambda pair: (pair[1].created, pair[0]))
        matching = [
            record
            for _, record in ordered
            if (model is None or model in (record.model, record.request.get("model")))
            and all(record.metadata.get(key) == value for key, value in (metadata or {}).items())
        ]
        if order == "desc":
            matching.reverse()
        if after is not None:
            ids = [record.id for record in matching]
            matching = matching[ids.index(after) + 1 :] if after in ids else []
        return Page(tuple(matching[:limit]), has_more=len(matching) > limit)
