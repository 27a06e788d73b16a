"""The Files API: a thread-safe file store and its endpoints (upload, list, retrieve, content, delete).

    POST   /v1/files                 multipart/form-data with `file` and `purpose`
    GET    /v1/files                 purpose, limit (1..10,000, default 10,000), after, order (desc)
    GET    /v1/files/{id}            the `OpenAIFile`
    GET    /v1/files/{id}/content    the bytes, streamed line by line (chunked)
    DELETE /v1/files/{id}            {"id", "object": "file", "deleted": true}

A file's content is a `FileContent`: uploaded bytes kept once (`StaticContent`), or lines a
function generates again on every read (`GeneratedContent`, how batch output files are served,
so a 50,000-line output costs no memory until read, and then one line at a time). `purpose=batch`
uploads must be `.jsonl` files of at most 200 MB; their lines are checked when a batch is created
from them, as OpenAI does (see `chatspan.devserver.batch_runner`). Batch files expire 30 days after
they are created unless told otherwise; an expired or deleted file is a 404 everywhere, as at OpenAI.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from chatspan.devserver.completions import random_id
from chatspan.devserver.errors import ApiError, invalid_request
from chatspan.devserver.stored import Query, order_parameter
from chatspan.devserver.validation import (
    integer_above_maximum,
    integer_below_minimum,
    invalid_type,
    missing_parameter,
)

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
"""The purposes an upload may name (the spec's `CreateFileRequest.purpose`)."""
MAX_BATCH_FILE_BYTES = 200 * 1024 * 1024
BATCH_FILE_TTL = 30 * 86_400
"""Seconds a batch input or output file lives by default (OpenAI's 30 days)."""
DEFAULT_FILES_LIMIT = 10_000
MAX_FILES_LIMIT = 10_000


class FileContent(Protocol):
    """What a stored file holds: its lines (each with its newline, the last maybe without)."""

    def lines(self) -> Iterator[bytes]:
        """The content, one line at a time; joined they are the whole file."""
        ...

    def size(self) -> int:
        """The content's length in bytes."""
        ...

    def line_count(self) -> int:
        """How many lines `lines()` yields."""
        ...


@dataclass(frozen=True)
class StaticContent:
    """Uploaded bytes, kept as the one copy the devserver holds."""

    data: bytes

    def lines(self) -> Iterator[bytes]:
        """The lines, sliced out one at a time."""
        start = 0
        while start < len(self.data):
            end = self.data.find(b"\n", start)
            end = len(self.data) if end < 0 else end + 1
            yield self.data[start:end]
            start = end

    def size(self) -> int:
        """The length of the upload."""
        return len(self.data)

    def line_count(self) -> int:
        """Newlines, plus one for a last line without its newline."""
        return self.data.count(b"\n") + (1 if self.data and not self.data.endswith(b"\n") else 0)


@dataclass
class GeneratedContent:
    """Lines produced again by `produce` on every read; the size is counted by one pass, once.

    Two threads asking for the size at once may both count it: they find the same numbers."""

    produce: Callable[[], Iterator[bytes]]
    known_size: int | None = None
    known_lines: int | None = None

    def lines(self) -> Iterator[bytes]:
        """A fresh pass over the lines."""
        return self.produce()

    def _count(self) -> tuple[int, int]:
        if self.known_size is None or self.known_lines is None:
            size = lines = 0
            for line in self.produce():
                size += len(line)
                lines += 1
            self.known_size, self.known_lines = size, lines
        return self.known_size, self.known_lines

    def size(self) -> int:
        """The length in bytes (the first call reads the content through once, line by line)."""
        return self._count()[0]

    def line_count(self) -> int:
        """How many lines there are (counted with the size)."""
        return self._count()[1]


@dataclass(frozen=True)
class StoredFile:
    """One file; `expires_at` None means it never expires."""

    id: str
    filename: str
    purpose: str
    created_at: int
    content: FileContent
    expires_at: int | None = None

    def expired(self, now: float) -> bool:
        """Whether the file has expired by clock time `now`."""
        return self.expires_at is not None and now >= self.expires_at

    def view(self) -> dict[str, Any]:
        """The `OpenAIFile` object."""
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.content.size(),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


def new_file_id() -> str:
    """A file id in OpenAI's style: `file-` and 22 letters and digits."""
    return random_id("file-", 22)


class FileStore:
    """Files by id, in storing order; every method is safe across threads."""

    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}
        self._lock = threading.Lock()

    def put(self, stored: StoredFile) -> None:
        """Store (or replace) a file."""
        with self._lock:
            self._files[stored.id] = stored

    def get(self, file_id: str, now: float) -> StoredFile | None:
        """The file, unless it is absent or expired by `now`."""
        with self._lock:
            stored = self._files.get(file_id)
        return None if stored is None or stored.expired(now) else stored

    def delete(self, file_id: str, now: float) -> bool:
        """Forget a file; whether it was there (an expired file is not)."""
        with self._lock:
            stored = self._files.pop(file_id, None)
        return stored is not None and not stored.expired(now)

    def live(self, now: float) -> list[StoredFile]:
        """The files not expired by `now`, oldest first (by `created_at`, then storing order)."""
        with self._lock:
            files = list(self._files.values())
        return sorted((f for f in files if not f.expired(now)), key=lambda f: f.created_at)

    def __len__(self) -> int:
        with self._lock:
            return len(self._files)


def file_not_found(file_id: str) -> ApiError:
    """OpenAI's 404 for a file id that is not stored (never was, deleted or expired)."""
    return ApiError(404, f"No such File object: {file_id}", param="id")


def _form_parts(raw: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a multipart/form-data body: name -> (filename or None, value)."""
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        raise invalid_request("Expected a multipart/form-data body with 'file' and 'purpose' fields.")
    boundary = ""
    for param in params.split(";"):
        name, _, text = param.strip().partition("=")
        if name.lower() == "boundary":
            boundary = text.strip().strip('"')
    if not boundary:
        raise invalid_request("The multipart/form-data body has no boundary.")
    parts: dict[str, tuple[str | None, bytes]] = {}
    for chunk in raw.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, value = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        disposition = next(
            (
                line
                for line in head.decode("latin-1").split("\r\n")
                if line.lower().startswith("content-disposition")
            ),
            "",
        )
        fields = dict(_disposition_fields(disposition))
        if "name" in fields:
            parts[fields["name"]] = (fields.get("filename"), value.removesuffix(b"\r\n"))
    return parts


def _disposition_fields(header: str) -> Iterator[tuple[str, str]]:
    for item in header.partition(":")[2].split(";"):
        name, equals, value = item.strip().partition("=")
        if equals:
            yield name.strip().lower(), value.strip().strip('"')


def create_file(files: FileStore, raw: bytes, content_type: str, now: float) -> dict[str, Any]:
    """`POST /v1/files`: store the upload; 400 for a missing field, a bad purpose or a bad batch file."""
    parts = _form_parts(raw, content_type)
    if "purpose" not in parts:
        raise missing_parameter("purpose")
    purpose = parts["purpose"][1].decode("utf-8", "replace")
    if purpose not in PURPOSES:
        supported = ", ".join(f"'{name}'" for name in PURPOSES[:-1]) + f", and '{PURPOSES[-1]}'"
        raise invalid_request(
            f"Invalid value: '{purpose}'. Supported values are: {supported}.",
            param="purpose",
            code="invalid_value",
        )
    if "file" not in parts or parts["file"][0] is None:
        raise missing_parameter("file")
    filename, data = parts["file"]
    filename = filename or "upload"
    expires_at: int | None = None
    if purpose == "batch":
        if not filename.lower().endswith(".jsonl"):
            raise invalid_request("Invalid file format for Batch API. Must be .jsonl", param="file")
        if len(data) > MAX_BATCH_FILE_BYTES:
            raise invalid_request(
                f"File is too large ({len(data)} bytes). The Batch API accepts files of at most 200 MB.",
                param="file",
            )
        if not data.strip():
            raise invalid_request("The file is empty.", param="file")
        expires_at = int(now) + BATCH_FILE_TTL
    stored = StoredFile(new_file_id(), filename, purpose, int(now), StaticContent(data), expires_at)
    files.put(stored)
    return stored.view()


def _files_limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_FILES_LIMIT
    try:
        value = int(text)
    except ValueError:
        raise invalid_type("limit", "an integer", text) from None
    if value < 1:
        raise integer_below_minimum("limit", 1, value)
    if value > MAX_FILES_LIMIT:
        raise integer_above_maximum("limit", MAX_FILES_LIMIT, value)
    return value


def list_files(files: FileStore, query: Query, now: float) -> dict[str, Any]:
    """`GET /v1/files`: one page, newest first unless `order=asc`; `after` is a file id (404 if unknown)."""
    values = dict(query)
    limit = _files_limit(values.get("limit"))
    order = order_parameter(values.get("order"), default="desc")
    listed = files.live(now)
    if order == "desc":
        listed.reverse()
    purpose = values.get("purpose")
    if purpose:
        listed = [stored for stored in listed if stored.purpose == purpose]
    after = values.get("after")
    if after:
        ids = [stored.id for stored in listed]
        if after not in ids:
            raise file_not_found(after)
        listed = listed[ids.index(after) + 1 :]
    page = [stored.view() for stored in listed[:limit]]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(listed) > limit,
    }


def retrieve_file(files: FileStore, file_id: str, now: float) -> dict[str, Any]:
    """`GET /v1/files/{id}`."""
    stored = files.get(file_id, now)
    if stored is None:
        raise file_not_found(file_id)
    return stored.view()


def delete_file(files: FileStore, file_id: str, now: float) -> dict[str, Any]:
    """`DELETE /v1/files/{id}`: forget the file (a batch that used it keeps what it already read)."""
    if not files.delete(file_id, now):
        raise file_not_found(file_id)
    return {"id": file_id, "object": "file", "deleted": True}


def file_content(files: FileStore, file_id: str, now: float) -> FileContent:
    """`GET /v1/files/{id}/content`: what to stream; 404 for an unknown, deleted or expired file."""
    stored = files.get(file_id, now)
    if stored is None:
        raise file_not_found(file_id)
    return stored.content
