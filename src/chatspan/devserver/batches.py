"""Batches: a thread-safe batch store and each batch's lifecycle on the server's clock.

The endpoints are `chatspan.devserver.batch_endpoints`. A batch moves with the clock, each stage
lasting its pace (`ServerState.batch_seconds` when it was created): `validating`, then `failed`
(the input file did not validate: `errors.data` names the lines, see
`chatspan.devserver.batch_input`) or `in_progress` (the lines are carried out one after another
over the stage; `request_counts` counts those done), then `finalizing`, then `completed`. A
cancelled batch is `cancelling` for one stage, then `cancelled`, keeping the lines done before the
cancel. The metadata key `chatspan.expire_after` (a whole number N) makes the completion window
close after N lines ran: at the end of `in_progress` the batch is `expired`, the lines that ran
are in its files and the others in the error file as `batch_expired`. Metadata is otherwise kept
as given (at most 16 pairs), `chatspan.traceparent` included.

Nothing runs in the background: what a batch shows is computed from the clock when asked. When a
batch is first seen finished (by any Files or Batch request), its output and error files are
stored, `created_at` its finishing time; their content is produced again on every read.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from chatspan.devserver.batch_input import BatchPlan
from chatspan.devserver.batch_runner import BatchRun, OutputLine
from chatspan.devserver.completions import resolve_model
from chatspan.devserver.errors import ApiError
from chatspan.devserver.files import BATCH_FILE_TTL, FileContent, FileStore, GeneratedContent, StoredFile
from chatspan.devserver.stable import stable_hex

DEFAULT_BATCH_SECONDS = 2.0
COMPLETION_WINDOW = 86_400
EXPIRE_AFTER_KEY = "chatspan.expire_after"
"""Metadata key: the batch expires after this many lines ran (see the module docstring)."""

Producer = Callable[[BatchRun], Iterator[OutputLine]]
"""Makes a run's output lines: the engines (`BatchRun.lines`) unless a seeded batch brings its own."""


def engine_lines(run: BatchRun) -> Iterator[OutputLine]:
    """The default `Producer`: each line through the devserver's engines."""
    return run.lines()


@dataclass(frozen=True)
class Outcome:
    """A finished batch's files and totals, computed once when it is first seen finished."""

    output_file_id: str | None
    error_file_id: str | None
    usage: dict[str, Any]


@dataclass(frozen=True)
class BatchRecord:
    """One batch as created; its status at a given time comes from `status_at`."""

    id: str
    endpoint: str
    input_file_id: str
    content: FileContent
    """The input file's content, kept even if the file is deleted: the batch already read it."""
    created_at: float
    plan: BatchPlan
    seconds: float
    """The pace: how long each stage lasts."""
    metadata: dict[str, str] | None = None
    expire_after: int | None = None
    output_ttl: int | None = None
    cancelled_at: float | None = None
    outcome: Outcome | None = None
    produce: Producer = engine_lines

    @property
    def validated_at(self) -> float:
        """When validation ends (and running starts, unless it failed)."""
        return self.created_at + self.seconds

    @property
    def run_ended_at(self) -> float:
        """When the last line has run."""
        return self.created_at + 2 * self.seconds

    def status_at(self, now: float) -> str:
        """The status at clock time `now`."""
        if self.cancelled_at is not None:
            return "cancelled" if now >= self.cancelled_at + self.seconds else "cancelling"
        if now < self.validated_at:
            return "validating"
        if self.plan.errors:
            return "failed"
        if now < self.run_ended_at:
            return "in_progress"
        if self.expire_after is not None:
            return "expired"
        return "finalizing" if now < self.created_at + 3 * self.seconds else "completed"

    def finished_at(self) -> float:
        """When the batch reaches its final status, as things stand (a cancel moves it)."""
        if self.cancelled_at is not None:
            return self.cancelled_at + self.seconds
        if self.plan.errors:
            return self.validated_at
        if self.expire_after is not None:
            return self.run_ended_at
        return self.created_at + 3 * self.seconds

    def done_by(self, moment: float) -> int:
        """How many lines have run by clock time `moment`."""
        if moment < self.validated_at or self.plan.errors:
            return 0
        limit = self.plan.total if self.expire_after is None else min(self.expire_after, self.plan.total)
        if self.seconds <= 0:
            return limit
        return min(limit, math.floor(self.plan.total * (moment - self.validated_at) / self.seconds))

    def ran_at(self, now: float) -> int:
        """How many lines have run by `now` (a cancelled batch stops at its cancel)."""
        return self.done_by(now if self.cancelled_at is None else min(now, self.cancelled_at))

    def run(self) -> BatchRun:
        """The finished run: which lines ran, for the output files."""
        end = self.cancelled_at if self.cancelled_at is not None else self.run_ended_at
        return BatchRun(
            self.id,
            self.endpoint,
            self.content,
            started=self.validated_at,
            seconds=self.seconds,
            total=self.plan.total,
            ran=self.done_by(end),
            expired=self.expire_after is not None and self.cancelled_at is None and not self.plan.errors,
        )


def _usage(tokens: tuple[int, int, int, int] = (0, 0, 0, 0)) -> dict[str, Any]:
    input_tokens, cached, output_tokens, reasoning = tokens
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input_tokens + output_tokens,
    }


def _file_id(batch_id: str, kind: str) -> str:
    return "file-" + stable_hex(f"{batch_id}:{kind}", 22)


def settle(record: BatchRecord, files: FileStore) -> Outcome:
    """Run a finished batch's lines once: store its output and error files, total its usage."""
    sizes = {False: 0, True: 0}
    counts = {False: 0, True: 0}
    tokens = [0, 0, 0, 0]
    run = record.run()
    for line in record.produce(run):
        sizes[line.failed] += len(line.data)
        counts[line.failed] += 1
        for index, value in enumerate(line.tokens):
            tokens[index] += value
    finished = int(record.finished_at())
    ids: dict[bool, str | None] = {}
    for failed, kind in ((False, "output"), (True, "error")):
        if not counts[failed]:
            ids[failed] = None
            continue
        file_id = _file_id(record.id, kind)
        content = GeneratedContent(_only(record, run, failed), sizes[failed], counts[failed])
        ttl = record.output_ttl or BATCH_FILE_TTL
        files.put(
            StoredFile(
                file_id, f"batch_{record.id}_{kind}.jsonl", "batch_output", finished, content, finished + ttl
            )
        )
        ids[failed] = file_id
    return Outcome(ids[False], ids[True], _usage((tokens[0], tokens[1], tokens[2], tokens[3])))


def _only(record: BatchRecord, run: BatchRun, failed: bool) -> Callable[[], Iterator[bytes]]:
    def produce() -> Iterator[bytes]:
        return (line.data for line in record.produce(run) if line.failed == failed)

    return produce


class BatchStore:
    """Batches by id, in creation order; every method is safe across threads."""

    def __init__(self) -> None:
        self._records: dict[str, BatchRecord] = {}
        self._lock = threading.Lock()

    def put(self, record: BatchRecord) -> None:
        """Store (or replace) a batch."""
        with self._lock:
            self._records[record.id] = record

    def get(self, batch_id: str) -> BatchRecord | None:
        """The batch, or None."""
        with self._lock:
            return self._records.get(batch_id)

    def all(self) -> list[BatchRecord]:
        """Every batch, in creation order."""
        with self._lock:
            return list(self._records.values())

    def cancel(self, batch_id: str, now: float) -> BatchRecord | None:
        """Mark a validating or in-progress batch cancelled at `now`; the record after (None: absent).

        Raises `ApiError` (409) for a batch that is past the point where it could be cancelled.
        """
        with self._lock:
            record = self._records.get(batch_id)
            if record is None:
                return None
            status = record.status_at(now)
            if status in ("validating", "in_progress"):
                record = replace(record, cancelled_at=now)
                self._records[batch_id] = record
            elif status not in ("cancelling", "cancelled"):
                raise ApiError(
                    409, f"Cannot cancel a batch with status '{status}'.", code="batch_not_cancellable"
                )
            return record

    def settle(self, now: float, files: FileStore) -> None:
        """Store the files of every batch that has finished by `now` and has not been settled yet."""
        for record in self.all():
            if record.outcome is not None or now < record.finished_at():
                continue
            outcome = settle(record, files)
            with self._lock:
                # Two requests may settle a batch at once: they store the same files and outcome.
                current = self._records.get(record.id)
                if current is not None:
                    self._records[record.id] = replace(current, outcome=outcome)


def batch_view(record: BatchRecord, now: float) -> dict[str, Any]:
    """The `Batch` object as it is at clock time `now`."""
    status = record.status_at(now)
    ran = record.ran_at(now)
    plan = record.plan

    def at(moment: float, reached: bool) -> int | None:
        return int(moment) if reached and now >= moment else None

    running = not plan.errors and (record.cancelled_at is None or record.cancelled_at >= record.validated_at)
    counts = {"total": 0, "completed": 0, "failed": 0}
    if status not in ("validating", "failed") and running:
        completed = plan.successes(ran)
        failed = ran - completed
        if status == "expired":
            failed += plan.total - ran
        counts = {"total": plan.total, "completed": completed, "failed": failed}
    outcome = record.outcome if status in ("completed", "expired", "cancelled") else None
    cancel = record.cancelled_at
    return {
        "id": record.id,
        "object": "batch",
        "endpoint": record.endpoint,
        "model": resolve_model(plan.model) if plan.model else None,
        "errors": {"object": "list", "data": list(plan.errors)} if status == "failed" else None,
        "input_file_id": record.input_file_id,
        "completion_window": "24h",
        "status": status,
        "output_file_id": outcome.output_file_id if outcome else None,
        "error_file_id": outcome.error_file_id if outcome else None,
        "created_at": int(record.created_at),
        "in_progress_at": at(record.validated_at, running),
        "expires_at": int(record.created_at) + COMPLETION_WINDOW,
        "finalizing_at": at(record.run_ended_at, cancel is None and record.expire_after is None and running),
        "completed_at": at(record.created_at + 3 * record.seconds, status == "completed"),
        "failed_at": at(record.validated_at, status == "failed"),
        "expired_at": at(record.run_ended_at, status == "expired"),
        "cancelling_at": int(cancel) if cancel is not None else None,
        "cancelled_at": at(cancel + record.seconds, status == "cancelled") if cancel is not None else None,
        "request_counts": counts,
        "usage": outcome.usage if outcome else _usage(),
        "metadata": record.metadata,
    }
