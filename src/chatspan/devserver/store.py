"""Stored chat completions (`store: true`): an in-memory, thread-safe store keyed by completion id.

A record keeps what OpenAI keeps: the completion, the request's messages and metadata, the request
id, and the request fields the stored-completion objects report (`seed`, `temperature`, `top_p`,
`tools`, `response_format`, `user`, ...). The store pages the way the list endpoint does (`after`,
`limit`, `order` by `created` then id, filters on `model` and `metadata`) in O(log N + limit)
through `chatspan.devserver.index`.

Seeded completions (`chatspan.devserver.seeding`) are stored as small `Entry`s that a
`RecordSource` turns into the whole record when it is asked for, so 100,000 of them fit in a few
tens of megabytes; a completion stored by a request keeps its record in its entry.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from chatspan.devserver.index import Key, OrderedIndex

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
        """The record as OpenAI's stored-completion objects show it (list and retrieve); a fresh copy."""
        copied: dict[str, Any] = json_copy(self.object_view())
        return copied

    def object_view(self) -> dict[str, Any]:
        """`as_object()` without the copy: nested parts are the record's own, so never change them.

        For a response body that is serialised at once; a page of a hundred records skips a
        hundred deep copies.
        """
        request = self.request
        return {
            **self.completion,
            "metadata": self.metadata,
            "request_id": self.request_id,
            "seed": request.get("seed"),
            "temperature": request.get("temperature"),
            "top_p": request.get("top_p"),
            "presence_penalty": request.get("presence_penalty"),
            "frequency_penalty": request.get("frequency_penalty"),
            "tools": request.get("tools"),
            "tool_choice": request.get("tool_choice"),
            "response_format": request.get("response_format"),
            "input_user": request.get("user"),
        }


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists, scalars): what `copy.deepcopy` does, several times faster."""
    if isinstance(value, dict):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) for item in value]
    return value


def stored_record(
    completion: dict[str, Any], body: Mapping[str, Any], request_id: str, metadata: Mapping[str, str] | None
) -> StoredCompletion:
    """Build the record of a `store: true` request from its answer and its request body."""
    return StoredCompletion(
        id=str(completion["id"]),
        created=int(completion["created"]),
        request_id=request_id,
        completion=json_copy(completion),
        messages=tuple(json_copy(list(body.get("messages", [])))),
        metadata=dict(metadata or {}),
        request={name: json_copy(body.get(name)) for name in REQUEST_FIELDS},
    )


class UnknownCompletion(LookupError):
    """No stored completion has this id (the list endpoint's `after`, or a retrieve)."""

    def __init__(self, completion_id: str) -> None:
        super().__init__(completion_id)
        self.completion_id = completion_id


class RecordSource(Protocol):
    """Builds the whole record of a lazily stored completion from its entry."""

    def build(self, entry: Entry) -> StoredCompletion:
        """The record of `entry`; the same entry always gives an equal record."""
        ...


@dataclass(frozen=True, slots=True)
class Entry:
    """What the store indexes of one completion, and where its whole record comes from.

    `source` is the record itself for a completion stored by a request, or a `RecordSource` that
    rebuilds it from `number` (seeded completions). `metadata` is never mutated: updates replace it.
    """

    id: str
    created: int
    model: str
    """The completion's model, with its snapshot date."""
    request_model: str
    """The model the request named (the list's `model` filter matches either)."""
    metadata: Mapping[str, str]
    source: StoredCompletion | RecordSource
    number: int = 0

    @property
    def key(self) -> Key:
        """The entry's place in `asc` order."""
        return (self.created, self.id)

    @property
    def models(self) -> tuple[str, str]:
        """Both model names the `model` filter matches."""
        return (self.model, self.request_model)

    def record(self) -> StoredCompletion:
        """The whole record, built now for a seeded completion."""
        if isinstance(self.source, StoredCompletion):
            return self.source
        return self.source.build(self)

    def matches(self, model: str | None, metadata: Mapping[str, str]) -> bool:
        """Whether the list's filters keep this completion."""
        if model is not None and model not in (self.model, self.request_model):
            return False
        return all(self.metadata.get(name) == value for name, value in metadata.items())


def record_entry(record: StoredCompletion) -> Entry:
    """The entry of a completion stored by a request."""
    request_model = record.request.get("model")
    return Entry(
        id=record.id,
        created=record.created,
        model=record.model,
        request_model=request_model if isinstance(request_model, str) else record.model,
        metadata=dict(record.metadata),
        source=record,
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


class _Snapshot(Mapping[str, StoredCompletion]):
    """A read-only id -> record view of the entries at one moment; records are built on access."""

    def __init__(self, entries: dict[str, Entry]) -> None:
        self._entries = entries

    def __getitem__(self, completion_id: str) -> StoredCompletion:
        return self._entries[completion_id].record()

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, completion_id: object) -> bool:
        return completion_id in self._entries


class CompletionStore:
    """Stored completions in the order they were stored; every method is safe across threads."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._index = OrderedIndex()
        self._lock = threading.Lock()

    def put(self, record: StoredCompletion) -> None:
        """Store (or replace) a record under its id."""
        self._put(record_entry(record))

    def put_entries(self, entries: Iterable[Entry]) -> int:
        """Store many entries at once (replacing any with the same id); returns how many.

        The index is rebuilt once, in O(N log N), rather than grown an entry at a time.
        """
        count = 0
        with self._lock:
            for entry in entries:
                self._entries[entry.id] = entry
                count += 1
            self._index.rebuild((entry.key, entry.models, entry.metadata) for entry in self._entries.values())
        return count

    def _put(self, entry: Entry) -> None:
        with self._lock:
            previous = self._entries.get(entry.id)
            if previous is not None:
                self._index.remove(previous.key, previous.models, previous.metadata)
            self._entries[entry.id] = entry
            self._index.add(entry.key, entry.models, entry.metadata)

    def get(self, completion_id: str) -> StoredCompletion | None:
        """The record with this id, or None."""
        with self._lock:
            entry = self._entries.get(completion_id)
        return None if entry is None else entry.record()

    def delete(self, completion_id: str) -> bool:
        """Remove a record; whether it was there."""
        with self._lock:
            entry = self._entries.pop(completion_id, None)
            if entry is None:
                return False
            self._index.remove(entry.key, entry.models, entry.metadata)
            return True

    def update_metadata(self, completion_id: str, metadata: Mapping[str, str]) -> StoredCompletion | None:
        """Replace a record's metadata (as `POST /chat/completions/{id}` does); None when absent."""
        with self._lock:
            entry = self._entries.get(completion_id)
            if entry is None:
                return None
            source = entry.source
            if isinstance(source, StoredCompletion):
                source = replace(source, metadata=dict(metadata))
            updated = replace(entry, metadata=dict(metadata), source=source)
            self._index.remove(entry.key, entry.models, entry.metadata)
            self._entries[completion_id] = updated
            self._index.add(updated.key, updated.models, updated.metadata)
        return updated.record()

    def snapshot(self) -> Mapping[str, StoredCompletion]:
        """A read-only copy of all records, id -> record, in the order they were stored.

        Copying is cheap (the ids only); seeded records are built when looked up.
        """
        with self._lock:
            return _Snapshot(dict(self._entries))

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def page(
        self,
        *,
        after: str | None = None,
        limit: int = 20,
        order: str = "asc",
        model: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Page:
        """Records by `created`, then id (`asc`, or `desc` for the reverse), filtered, past `after`.

        `model` matches the request's model or the completion's; `metadata` pairs must all match.
        Raises `UnknownCompletion` when no completion has the id `after`, as OpenAI answers 404.
        """
        wanted = dict(metadata or {})
        chosen: list[Entry] = []
        with self._lock:
            cursor = None
            if after is not None:
                anchor = self._entries.get(after)
                if anchor is None:
                    raise UnknownCompletion(after)
                cursor = anchor.key
            keys = self._index.walk(descending=order == "desc", after=cursor, model=model, metadata=wanted)
            for _, completion_id in keys:
                entry = self._entries[completion_id]
                if entry.matches(model, wanted):
                    chosen.append(entry)
                    if len(chosen) > limit:
                        break
        # Seeded records are built outside the lock, so a big page does not hold up other requests.
        return Page(tuple(entry.record() for entry in chosen[:limit]), has_more=len(chosen) > limit)
