"""One batch backfill run: list finished batches, then per batch stream, map, export, confirm.

Each batch is one trace: its root span first, then one span per line of its output file and of its
error file, sent `batch_size` at a time. The checkpoint moves only after the exporter confirmed a
send; a batch is marked done only once all its spans were confirmed, so a run stopped anywhere
resumes at the first unconfirmed span of the batch it was in, with the same span ids.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
from opentelemetry.sdk.trace import ReadableSpan

from chatspan.backfill.batch_checkpoint import BatchCheckpoint, load_batches, save_batches
from chatspan.backfill.batch_spans import BatchLines, batch_span
from chatspan.backfill.batches import BatchLine, BatchSelection, BatchSource, FileGone, InputIndex
from chatspan.backfill.checkpoint import locked
from chatspan.backfill.export import ExportFailed, VerifiedExport
from chatspan.backfill.progress import Progress, Tally
from chatspan.backfill.runner import RunOptions
from chatspan.mapping._values import as_count, as_text, field

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
"""Spans per export: big enough to keep the exporter busy, small enough to resume close by."""


def _log_skipped(batch_id: str, reason: str) -> None:
    logger.warning("batch %s skipped: %s", batch_id, reason)


def _log_malformed(batch_id: str, role: str, line: BatchLine) -> None:
    logger.warning("batch %s, %s file line %d: %s; skipped", batch_id, role, line.number, line.problem)


def _log_note(batch_id: str, note: str) -> None:
    logger.info("batch %s: %s", batch_id, note)


@dataclass(frozen=True)
class BatchReport:
    """Who hears of what a batch backfill passed over; by default, the `logging` module."""

    on_skipped: Callable[[str, str], None] = _log_skipped
    """(batch id, why): a batch left out, e.g. its output file expired; a later run tries again."""
    on_malformed: Callable[[str, str, BatchLine], None] = _log_malformed
    """(batch id, `output` or `error`, the line): a line that is not a batch line; counted, skipped."""
    on_note: Callable[[str, str], None] = _log_note
    """(batch id, what): something the spans lack, e.g. the requests of an input file that is gone."""


def backfill_batches(
    client: openai.OpenAI,
    *,
    export: VerifiedExport | None,
    checkpoint_path: Path,
    scope: str,
    selection: BatchSelection,
    options: RunOptions,
    progress: Progress,
    tally: Tally,
    report: BatchReport | None = None,
    restart: bool = False,
    batch_size: int = BATCH_SIZE,
    stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Backfill the finished batches of `selection` as one trace each, resumably and exactly once.

    With `export` None (a dry run) the spans are made and counted but sent nowhere, and the
    checkpoint at `checkpoint_path` is read (unless `restart`) but neither locked nor written;
    `options.show` is called with each batch the run reads. Raises CheckpointError (unreadable,
    another scope, in use) before anything is sent; SourceError, ExportFailed and
    KeyboardInterrupt (`stop()`) with everything confirmed so far saved.
    """
    sending = export is not None
    with locked(checkpoint_path) if sending else contextlib.nullcontext():
        checkpoint = BatchCheckpoint(scope=scope) if restart else load_batches(checkpoint_path, scope)
        run_batches(
            source=BatchSource(client, sleep=sleep),
            export=export,
            checkpoint=checkpoint,
            save=functools.partial(save_batches, checkpoint_path) if sending else None,
            selection=selection,
            options=options,
            progress=progress,
            tally=tally,
            report=report or BatchReport(),
            batch_size=batch_size,
            stop=stop,
        )


def run_batches(
    *,
    source: BatchSource,
    export: VerifiedExport | None,
    checkpoint: BatchCheckpoint,
    save: Callable[[BatchCheckpoint], None] | None,
    selection: BatchSelection,
    options: RunOptions,
    progress: Progress,
    tally: Tally,
    report: BatchReport,
    batch_size: int = BATCH_SIZE,
    stop: Callable[[], bool] = lambda: False,
) -> None:
    """Emit the spans of every listed batch the checkpoint has not marked done.

    Counts: `listed` every span or line considered (a done batch counts once), `exported` the spans
    made, `skipped` done batches, skipped batches and malformed lines, `failed` the spans of a send
    the collector refused. `stop()` is asked after each send and each batch.
    """
    listed = source.listed(selection)
    if selection.batch_id is None and save is not None and checkpoint.forget_before(selection.window.since):
        save(checkpoint)
    for batch_id in listed.running:
        report.on_note(batch_id, "not finished yet; a later run picks it up")
    for batch in listed.batches:
        batch_id = as_text(field(batch, "id")) or ""
        if options.show is not None:
            options.show(batch)
        if checkpoint.is_done(batch_id):
            tally.listed += 1
            tally.skipped += 1
            continue
        _run_one(batch, source, export, checkpoint, save, options, progress, tally, report, batch_size, stop)
        progress.update(tally)
        if stop():
            raise KeyboardInterrupt


def _run_one(
    batch: Any,
    source: BatchSource,
    export: VerifiedExport | None,
    checkpoint: BatchCheckpoint,
    save: Callable[[BatchCheckpoint], None] | None,
    options: RunOptions,
    progress: Progress,
    tally: Tally,
    report: BatchReport,
    batch_size: int,
    stop: Callable[[], bool],
) -> None:
    """Send one batch's spans in order, confirming after each send; mark it done at the end."""
    batch_id = as_text(field(batch, "id")) or ""
    files = [
        (role, file_id)
        for role, file_id in (
            ("output", as_text(field(batch, "output_file_id"))),
            ("error", as_text(field(batch, "error_file_id"))),
        )
        if file_id
    ]
    try:
        # Before the root span goes out: a batch whose lines are gone is skipped whole, not half sent.
        for role, file_id in files:
            source.check_file(file_id, role)
    except FileGone as gone:
        report.on_skipped(batch_id, str(gone))
        tally.listed += 1
        tally.skipped += 1
        return
    resume = checkpoint.resume_point(batch_id)
    with contextlib.ExitStack() as stack:
        index = _input_index(batch, source, options.capture_content, stack, report)
        lines = BatchLines.of(batch, resource=options.resource, capture_content=options.capture_content)
        pending: list[ReadableSpan] = []
        position = sent_to = trailing_bad = 0
        for position, item in enumerate(_items(batch, source, files), start=1):
            if position <= resume:
                continue  # confirmed by an earlier run: not even mapped again
            tally.listed += 1
            if item is _ROOT:
                pending.append(batch_span(batch, resource=options.resource))
            elif item[1].data is None:
                report.on_malformed(batch_id, item[0], item[1])
                tally.skipped += 1
                trailing_bad += 1
            else:
                pending.append(_line_span(item[1].data, lines, index))
                trailing_bad = 0
            if position - max(resume, sent_to) >= batch_size:
                # Broken lines at the end of what was read may be a cut-off stream, not bad lines:
                # they stay unconfirmed, so a run that reads the whole file maps them.
                _send(export, pending, tally)
                _confirm(checkpoint, save, batch_id, position - trailing_bad, len(pending))
                tally.exported += len(pending)
                pending = []
                sent_to = position
                progress.update(tally)
                if stop():
                    raise KeyboardInterrupt
        _send(export, pending, tally)
        tally.exported += len(pending)
    if save is None:
        return
    checkpoint.confirm(batch_id, max(resume, position - trailing_bad), len(pending))
    missing = _lines_expected(batch) - (position - 1)
    if missing > 0:
        # The files ended early (a stream cut off cleanly): not done, a later run reads on from here.
        report.on_note(batch_id, f"its files ended {missing} lines short of its request counts; not done")
    else:
        checkpoint.finish(batch_id, as_count(field(batch, "created_at")) or 0)
    save(checkpoint)


def _line_span(data: dict[str, Any], lines: BatchLines, index: InputIndex | None) -> ReadableSpan:
    request = index.request(str(data.get("custom_id"))) if index is not None else None
    return lines.span(data, request)


def _lines_expected(batch: Any) -> int:
    """Lines the output and error files hold together: the requests that completed or failed."""
    counts = field(batch, "request_counts")
    return sum(as_count(field(counts, name)) or 0 for name in ("completed", "failed"))


_ROOT = object()
"""Stands for the batch's root span among its items (always the first)."""


def _items(batch: Any, source: BatchSource, files: Sequence[tuple[str, str]]) -> Iterator[Any]:
    """The batch's items in their fixed order: the root, then the output lines, then the error lines."""
    yield _ROOT
    for role, file_id in files:
        for line in source.lines(file_id, role):
            yield role, line


def _input_index(
    batch: Any,
    source: BatchSource,
    capture_content: bool,
    stack: contextlib.ExitStack,
    report: BatchReport,
) -> InputIndex | None:
    """With content capture on, the batch's input file indexed by `custom_id` (None when off or gone)."""
    input_file_id = as_text(field(batch, "input_file_id"))
    if not capture_content or not input_file_id:
        return None
    batch_id = as_text(field(batch, "id")) or ""
    try:
        index = stack.enter_context(source.input_index(input_file_id))
    except FileGone as gone:
        report.on_note(batch_id, f"{gone}: its spans go without the requests' messages")
        return None
    if index.truncated:
        report.on_note(
            batch_id, f"the input file is larger than the join's budget; {len(index)} lines joined"
        )
    return index


def _confirm(
    checkpoint: BatchCheckpoint,
    save: Callable[[BatchCheckpoint], None] | None,
    batch_id: str,
    position: int,
    count: int,
) -> None:
    if save is not None:
        checkpoint.confirm(batch_id, position, count)
        save(checkpoint)


def _send(export: VerifiedExport | None, spans: Sequence[ReadableSpan], tally: Tally) -> None:
    """Hand spans to the exporter and wait for its verdict; a refused send counts as failed."""
    if export is None:
        return
    try:
        export.export(spans)
    except ExportFailed:
        tally.failed += len(spans)
        raise
