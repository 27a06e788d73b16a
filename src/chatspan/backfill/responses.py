"""Stored responses, by id from a list the user gives (the Responses API has no list endpoint).

The twin of `source.py`: the same requests and error mapping (`ApiCalls`), so a 401 is exit 4
and a broken answer is retried alike. A 404 is no error here: the id is reported and skipped, as
an id the user listed may have been deleted or created with `store=false`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import openai

from chatspan.backfill.source import ApiCalls, NotFound, ordered_map

RESPONSE_ID = re.compile(r"resp_[A-Za-z0-9_-]+")
"""What a response id looks like (`resp_` and letters, digits, `_` or `-`); anything else on a line
is counted as invalid, never sent to the API."""


def has_responses_api() -> bool:
    """Whether the installed openai SDK has `client.responses` (openai 1.66 and later)."""
    return importlib.util.find_spec("openai.resources.responses") is not None


@dataclass(frozen=True)
class IdLine:
    """One line of the id list: its 1-based number and the id on it (None: not a response id)."""

    number: int
    response_id: str | None
    text: str


@dataclass(frozen=True)
class IdList:
    """The lines of an id list as read: what the checkpoint counts and hashes."""

    lines: list[bytes]

    def entries(self, start: int) -> Iterator[IdLine]:
        """The id lines from line `start` (0-based) on; blank lines and `#` comments are left out."""
        for index in range(start, len(self.lines)):
            text = self.lines[index].decode("utf-8", "replace").strip()
            if index == 0:
                # A byte-order mark, as some Windows editors write, is not part of the first id.
                text = text.removeprefix("\ufeff").strip()
            if not text or text.startswith("#"):
                continue
            valid = RESPONSE_ID.fullmatch(text) is not None
            yield IdLine(index + 1, text if valid else None, text)

    def digest(self, count: int) -> str:
        """SHA-256 of the first `count` lines, bytes as read: proves a resumed file begins the same."""
        hasher = hashlib.sha256()
        for line in self.lines[:count]:
            hasher.update(line)
        return hasher.hexdigest()


def read_ids(data: bytes) -> IdList:
    """Split an id list into its lines, each with its line ending (so a digest covers every byte)."""
    return IdList(data.splitlines(keepends=True))


def read_id_list(name: str, stdin: BinaryIO) -> tuple[IdList, str]:
    """The id list `name` names (`-`: all of `stdin`) and its identity for the checkpoint's scope.

    A file's identity is its resolved path, so its checkpoint survives ids appended to it (the
    checkpoint checks the prefix it confirmed); stdin has no name, so what it held is its identity.
    Raises OSError when the file cannot be read.
    """
    if name == "-":
        data = stdin.read()
        return read_ids(data), "stdin:" + hashlib.sha256(data).hexdigest()
    path = Path(name)
    return read_ids(path.read_bytes()), "file:" + str(path.resolve())


@dataclass
class ResponseBatch:
    """One batch of id lines, retrieved: the responses found, in line order, and what was not."""

    end: int
    """The number of lines this batch ends at: the checkpoint's `lines` once it is confirmed."""
    responses: list[Any] = field(default_factory=list)
    input_items: dict[str, list[Any]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    """Ids the API answered 404 for."""
    invalid: list[IdLine] = field(default_factory=list)


class StoredResponseSource:
    """Retrieve stored responses by id, a few at a time, through `client.responses`."""

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        with_input_items: bool = False,
        concurrency: int = 4,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._with_input_items = with_input_items
        self._concurrency = concurrency
        self._calls = ApiCalls(client, attempts=attempts, sleep=sleep)

    def retrieve(self, response_id: str) -> Any:
        """One stored response; raises NotFound (404), AuthenticationFailed, SourceError."""
        return self._calls.first(response_id, lambda client: client.responses.retrieve(response_id))

    def input_items(self, response_id: str) -> list[Any]:
        """Every input item of a stored response (all pages, oldest first)."""
        return self._calls.fetch(
            f"input items of {response_id}",
            lambda: list(self._client.responses.input_items.list(response_id, limit=100, order="asc")),
        )

    def batches(self, ids: IdList, *, start: int, size: int) -> Iterator[ResponseBatch]:
        """Batches of up to `size` ids from line `start` on, each retrieved with its order kept.

        A batch ends on the line of its last id; trailing blank or comment lines go with the last batch.
        """
        pending: list[IdLine] = []
        wanted = 0
        end = start
        for entry in ids.entries(start):
            pending.append(entry)
            wanted += entry.response_id is not None
            if wanted >= size:
                end = entry.number
                yield self._retrieve_batch(pending, end)
                pending, wanted = [], 0
        if end < len(ids.lines):
            yield self._retrieve_batch(pending, len(ids.lines))

    def _retrieve_batch(self, lines: Sequence[IdLine], end: int) -> ResponseBatch:
        batch = ResponseBatch(end=end, invalid=[line for line in lines if line.response_id is None])
        wanted = [line.response_id for line in lines if line.response_id is not None]
        if not wanted:
            return batch
        # In the file's order, whichever retrieve answers first.
        found = ordered_map(self._retrieve_or_none, wanted, self._concurrency)
        for response_id, response in zip(wanted, found, strict=True):
            if response is None:
                batch.missing.append(response_id)
            else:
                batch.responses.append(response)
        if self._with_input_items and batch.responses:
            ids = [str(response.id) for response in batch.responses]
            batch.input_items = dict(
                zip(ids, ordered_map(self.input_items, ids, self._concurrency), strict=True)
            )
        return batch

    def _retrieve_or_none(self, response_id: str) -> Any:
        try:
            return self.retrieve(response_id)
        except NotFound:
            return None
