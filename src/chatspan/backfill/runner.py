"""One backfill run: plan the passes, page, map, export, confirm — in that order, batch by batch."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.resources import Resource

from chatspan.backfill.checkpoint import Checkpoint, settled_edge
from chatspan.backfill.export import ExportFailed, VerifiedExport
from chatspan.backfill.progress import Progress, Tally
from chatspan.backfill.source import StoredCompletionSource, prefetched
from chatspan.backfill.spans import stored_span
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
            if export is not None:
                try:
                    export.export(spans)
                except ExportFailed:
                    tally.failed += len(spans)
                    raise
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
