"""Finished batches through the openai SDK: list them, stream their output and error files.

The list is the SDK's cursor pager over `GET /v1/batches` (newest first, stopping at the window's
start); a file is read through `files.with_streaming_response.content()` line by line, so memory
stays flat however large it is. With content capture, the input file is copied to a temporary file
on disk and indexed by `custom_id` (offsets only), so the join costs memory per line, not per byte.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import openai

from chatspan.backfill.source import ApiCalls, NotFound, SourceError
from chatspan.backfill.window import Selection
from chatspan.mapping._values import as_count, as_text
from chatspan.mapping._values import field as read

logger = logging.getLogger(__name__)

TERMINAL_STATUSES = frozenset({"completed", "expired", "cancelled", "failed"})
"""A batch in one of these never changes again."""

INPUT_INDEX_BUDGET = 256 * 1024 * 1024
"""Bytes of input file the content join copies to disk; OpenAI's input files are at most 200 MB."""


@dataclass(frozen=True)
class BatchSelection:
    """Which batches a run covers: created inside the window, matching the metadata filters.

    `batch_id` (`--batch batch_…`) names a single batch instead; the window is then not applied.
    """

    window: Selection
    batch_id: str | None = None


@dataclass(frozen=True)
class ListedBatches:
    """What listing found: the terminal batches to backfill, and how many were still running."""

    batches: list[Any]
    running: list[str] = field(default_factory=list)
    """Ids of batches in the window that are not finished yet: a later run picks them up."""


@dataclass(frozen=True)
class BatchLine:
    """One line of an output or error file: its 1-based number and its JSON, or why it is malformed."""

    number: int
    data: dict[str, Any] | None
    problem: str | None = None


class FileGone(SourceError):
    """A batch's output or error file is not there any more (expired or deleted: a 404)."""


class BatchSource:
    """List finished batches and stream their files through one client, with the shared error mapping."""

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        page_size: int = 100,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._page_size = page_size
        self._calls = ApiCalls(client, attempts=attempts, sleep=sleep)

    def listed(self, selection: BatchSelection) -> ListedBatches:
        """The batches to backfill, newest first: one by id, or every terminal one in the window."""
        if selection.batch_id is not None:
            wanted = selection.batch_id
            batch = self._calls.first(f"batch {wanted}", lambda client: client.batches.retrieve(wanted))
            if read(batch, "status") in TERMINAL_STATUSES:
                return ListedBatches([batch])
            return ListedBatches([], [wanted])
        chosen: list[Any] = []
        running: list[str] = []
        window = selection.window
        for batch in self._pages():
            created = as_count(read(batch, "created_at"))
            if created is None:
                raise SourceError(f"batch {read(batch, 'id')!r} has no usable 'created_at' field")
            if created < window.since:
                break
            if not window.matches(created, read(batch, "model"), read(batch, "metadata")):
                continue
            if read(batch, "status") in TERMINAL_STATUSES:
                chosen.append(batch)
            else:
                running.append(str(read(batch, "id")))
        return ListedBatches(chosen, running)

    def _pages(self) -> Iterator[Any]:
        """Every batch, newest first, page by page (`after` the last id), until the list ends."""
        limit = self._page_size
        page = self._calls.first("first page of batches", lambda client: client.batches.list(limit=limit))
        while True:
            items = list(page.data or ())
            yield from items
            if not items or not page.has_next_page():
                return
            cursor = str(items[-1].id)
            page = self._calls.fetch(
                f"batches after {cursor}",
                functools.partial(self._client.batches.list, limit=limit, after=cursor),
            )

    def check_file(self, file_id: str, role: str) -> None:
        """Raise FileGone when a batch's file is no longer there (`role`: output, error, input)."""
        try:
            self._calls.fetch(f"{role} file {file_id}", lambda: self._client.files.retrieve(file_id))
        except NotFound:
            raise FileGone(f"the {role} file {file_id} is gone (expired or deleted)") from None

    def lines(self, file_id: str, role: str) -> Iterator[BatchLine]:
        """Stream a file's lines, each parsed on its own; a line that is not a JSON object with a
        `custom_id` is yielded with its problem (the run counts and reports it, and goes on).

        Blank lines are passed over (`BatchLine.number` still counts them, as an editor does).
        Raises FileGone (404) before the first line, SourceError when the stream breaks midway.
        """
        for number, text in enumerate(self._stream(file_id, role), start=1):
            if text.strip():
                yield parse_line(number, text)

    @contextlib.contextmanager
    def input_index(self, file_id: str, budget: int = INPUT_INDEX_BUDGET) -> Iterator[InputIndex]:
        """Copy a batch's input file to a temporary file, indexed by `custom_id`, for the `with` block.

        Past `budget` bytes the rest is not indexed (those lines' spans go without their request);
        `InputIndex.truncated` says so. Raises FileGone when the input file is not there.
        """
        with tempfile.TemporaryFile(prefix="chatspan-batch-input-") as spool:
            index = InputIndex(spool)
            for text in self._stream(file_id, "input"):
                if not index.add(text, budget):
                    index.truncated = True
                    break
            yield index

    def _stream(self, file_id: str, role: str) -> Iterator[str]:
        """The file's lines as the SDK's streaming response reads them, one at a time."""
        try:
            streamed = self._calls.fetch(
                f"{role} file {file_id}",
                # Entered here and closed below: the generator owns the response for its lifetime.
                lambda: self._client.files.with_streaming_response.content(file_id).__enter__(),
            )
        except NotFound:
            raise FileGone(f"the {role} file {file_id} is gone (expired or deleted)") from None
        number = 0
        try:
            for text in streamed.iter_lines():
                number += 1
                yield text
        except Exception as error:
            if not _broken_stream(error):
                raise
            raise SourceError(
                f"the {role} file {file_id} broke off after line {number} ({type(error).__name__}); "
                "nothing past the last confirmed lines is marked done: run again to resume"
            ) from None
        finally:
            streamed.close()


def _broken_stream(error: Exception) -> bool:
    """Whether reading a streamed body failed in transport (the connection broke, a read timed out).

    Those are httpx's errors (httpx or httpx2, whichever the SDK runs on), not openai's, once the
    body is being read.
    """
    if isinstance(error, (openai.APIError, OSError)):
        return True
    return type(error).__module__.split(".")[0] in {"httpx", "httpx2", "httpcore"}


def parse_line(number: int, text: str) -> BatchLine:
    """Parse one line of an output or error file; never raises."""
    try:
        data = json.loads(text)
    except ValueError:
        return BatchLine(number, None, "not valid JSON")
    if not isinstance(data, dict):
        return BatchLine(number, None, "not a JSON object")
    if as_text(data.get("custom_id")) is None:
        return BatchLine(number, None, "no custom_id")
    return BatchLine(number, data)


class InputIndex:
    """Request bodies of a batch's input lines by `custom_id`: the lines stay in `spool` (a file
    on disk), the index holds only their offsets, and a body is read back when its line is mapped."""

    def __init__(self, spool: IO[bytes]) -> None:
        self._file = spool
        self._offsets: dict[str, tuple[int, int]] = {}
        self._spooled = 0
        self.truncated = False
        """Whether the input file was larger than the budget, so later lines are not indexed."""

    def add(self, text: str, budget: int) -> bool:
        """Index one input line (one without a `custom_id` is left out); False, and nothing kept,
        when the line would take the spooled bytes past `budget`."""
        encoded = text.encode("utf-8", "surrogatepass")
        if self._spooled + len(encoded) > budget:
            return False
        try:
            data = json.loads(text)
        except ValueError:
            return True
        custom_id = as_text(read(data, "custom_id")) if isinstance(data, dict) else None
        if custom_id is None:
            return True
        self._offsets[custom_id] = (self._spooled, len(encoded))
        self._file.seek(self._spooled)
        self._file.write(encoded)
        self._spooled += len(encoded)
        return True

    def request(self, custom_id: str) -> dict[str, Any] | None:
        """The `body` of the input line with this `custom_id`, or None when there is none."""
        where = self._offsets.get(custom_id)
        if where is None:
            return None
        self._file.seek(where[0])
        data = json.loads(self._file.read(where[1]).decode("utf-8", "surrogatepass"))
        body = read(data, "body")
        return body if isinstance(body, dict) else None

    def __len__(self) -> int:
        return len(self._offsets)
