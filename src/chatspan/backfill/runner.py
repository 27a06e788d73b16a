"""One backfill run: plan the passes, page, map, export, confirm — in that order, batch by batch."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan

from chatspan.backfill.checkpoint import Checkpoint, LineCheckpoint, settled_edge
from chatspan.backfill.export import ExportFailed, VerifiedExport
from chatspan.backfill.progress import Progress, Tally
from chatspan.backfill.responses import IdLine, IdList, StoredResponseSource
from chatspan.backfill.source import StoredCompletionSource, prefetched
from chatspan.backfill.spans import response_span, stored_span
from chatspan.backfill.window import Selection


@dataclass(frozen=True)
class RunOptions:
    """How the spans are made and whether they are sent."""

    resource: Resource
    capture_content: bool
    show: Callable[[Any], None] | None = None
    """Called with each completion the run emits (a dry run lists them)."""


def run_backfill(
    *,
    source: StoredCompletionSource,
    export: VerifiedExport | None,
    checkpoint: Checkpoint,
    save: Callable[[Checkpoint], None] | None,
    selection: Selection,
    options: RunOptions,
    progress: Progress,
    tally: Tally,
    stop: Callable[[], bool] = lambda: False,
    now: Callable[[], float] = time.time,
) -> None:
    """Emit one span per stored completion the checkpoint has not confirmed yet.

    The checkpoint moves (and is saved) only after the exporter accepted a batch; an exception
    from paging or exporting leaves it at the last confirmed batch, so a re-run resumes there.
    Completions of the unsettled tail that an earlier run confirmed are skipped (counted in
    `skipped`). Without `export` the spans are made and counted but sent nowhere; without `save`
    the checkpoint is read but never moved (a dry run has neither, and shows each completion).
    `stop()` is asked after each batch; when it says so, the run ends by raising
    KeyboardInterrupt with everything so far confirmed and saved.
    """
    started_at = int(now())
    for running in checkpoint.plan(selection.since, selection.until):
        if running.opened_at is None:
            running.opened_at = started_at
        for page in prefetched(source.pages(running)):
            fresh = [c for c in page.completions if not checkpoint.already_sent(str(c.id))]
            spans = [
                stored_span(
                    completion,
                    resource=options.resource,
                    capture_content=options.capture_content,
                    messages=page.messages.get(completion.id),
                )
                for completion in fresh
            ]
            if options.show is not None:
                for completion in fresh:
                    options.show(completion)
            tally.listed += page.seen
            tally.skipped += page.seen - len(spans)
            _deliver(export, spans, tally)
            if save is not None and page.cursor is not None:
                unsettled = settled_edge(running, started_at)
                sent = {str(c.id): int(c.created) for c in fresh if int(c.created) > unsettled}
                checkpoint.confirm(running, page.cursor, len(spans), sent)
                save(checkpoint)
            tally.exported += len(spans)
            progress.update(tally)
            if stop():
                raise KeyboardInterrupt
        if save is not None:
            checkpoint.finish(running, started_at)
            save(checkpoint)


@dataclass(frozen=True)
class SkipReport:
    """Who hears of what a responses backfill passed over: ids the API did not have, lines with no id."""

    on_missing: Callable[[str], None]
    on_invalid: Callable[[IdLine], None]


def run_response_backfill(
    *,
    source: StoredResponseSource,
    ids: IdList,
    export: VerifiedExport | None,
    checkpoint: LineCheckpoint,
    save: Callable[[LineCheckpoint], None] | None,
    options: RunOptions,
    progress: Progress,
    tally: Tally,
    report: SkipReport,
    batch_size: int = 100,
    stop: Callable[[], bool] = lambda: False,
) -> None:
    """Emit one span per stored response of the id list, from the line after the last confirmed one.

    The same discipline as `run_backfill`: the checkpoint moves (and is saved) only after the
    exporter accepted a batch, so a re-run resumes after the last confirmed batch with the same
    span ids. A 404 id is counted in `skipped` and reported, as is a line that holds no id.
    """
    for batch in prefetched(source.batches(ids, start=checkpoint.lines, size=batch_size)):
        spans = [
            response_span(
                response,
                resource=options.resource,
                capture_content=options.capture_content,
                input_items=batch.input_items.get(str(response.id)),
            )
            for response in batch.responses
        ]
        if options.show is not None:
            for response in batch.responses:
                options.show(response)
        for response_id in batch.missing:
            report.on_missing(response_id)
        for line in batch.invalid:
            report.on_invalid(line)
        tally.listed += len(batch.responses) + len(batch.missing) + len(batch.invalid)
        tally.skipped += len(batch.missing) + len(batch.invalid)
        _deliver(export, spans, tally)
        if save is not None:
            checkpoint.confirm(batch.end, ids.digest(batch.end), len(spans))
            save(checkpoint)
        tally.exported += len(spans)
        progress.update(tally)
        if stop():
            raise KeyboardInterrupt


def _deliver(export: VerifiedExport | None, spans: Sequence[ReadableSpan], tally: Tally) -> None:
    """Hand a batch to the exporter and wait for its verdict; a refused batch counts as failed."""
    if export is None:
        return
    try:
        export.export(spans)
    except ExportFailed:
        tally.failed += len(spans)
        raise
