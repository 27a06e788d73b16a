"""Helpers of the batch backfill tests: finished batches made through the openai client, a run of
`backfill_batches` into the in-process OTLP receiver through the real OTLP HTTP exporter."""

from __future__ import annotations

import gzip
import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource

from chatspan.backfill.batch_runner import BatchReport, backfill_batches
from chatspan.backfill.batch_spans import batch_span_ids
from chatspan.backfill.batches import BatchLine, BatchSelection
from chatspan.backfill.export import VerifiedExport
from chatspan.backfill.progress import Progress, Tally
from chatspan.backfill.runner import RunOptions
from chatspan.backfill.window import Selection
from tests.devserver.batchkit import STAGE, Clock, Endpoint, create, upload
from tests.support.otlp_receiver import OtlpReceiver

DAY = 86_400
RESOURCE = Resource.create({"service.name": "batch-backfill-test"})


@dataclass(frozen=True)
class SpanDetails:
    """What the shared receiver does not keep: status, events and links of a received span."""

    status_code: int
    status_message: str
    events: list[tuple[str, int]]
    links: list[tuple[str, str]]


class DetailReceiver(OtlpReceiver):
    """The shared receiver, also keeping each span's status, events and links by span id.

    With `keep=False` it only counts what it accepts (for the memory test, where a receiver that
    holds 50,000 spans would be the one growing).
    """

    def __init__(self, *, keep: bool = True) -> None:
        super().__init__()
        self.keep = keep
        self.accepted = 0
        self.details: dict[str, SpanDetails] = {}
        self._detail_lock = threading.Lock()

    def _take(self, path: str, encoding: str | None, body: bytes) -> int:
        if not self.keep:
            with self._detail_lock:
                self.requests += 1
                if self.refuse_all or self.refuse_next > 0:
                    self.refuse_next = max(0, self.refuse_next - 1)
                    return 503
                data = gzip.decompress(body) if encoding == "gzip" else body
                request = ExportTraceServiceRequest.FromString(data)
                self.accepted += sum(
                    len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans
                )
            return 200
        status = super()._take(path, encoding, body)
        if status == 200:
            data = gzip.decompress(body) if encoding == "gzip" else body
            request = ExportTraceServiceRequest.FromString(data)
            with self._detail_lock:
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            self.details[span.span_id.hex()] = SpanDetails(
                                status_code=span.status.code,
                                status_message=span.status.message,
                                events=[(event.name, event.time_unix_nano) for event in span.events],
                                links=[(link.trace_id.hex(), link.span_id.hex()) for link in span.links],
                            )
        return status


@contextmanager
def detail_receiver(*, keep: bool = True) -> Iterator[DetailReceiver]:
    """Run a DetailReceiver for the length of the block."""
    receiver = DetailReceiver(keep=keep)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


def exporter_for(receiver: OtlpReceiver, *, attempts: int = 5) -> VerifiedExport:
    """The real OTLP HTTP exporter to `receiver`, behind VerifiedExport (its backoff not slept)."""
    return VerifiedExport(
        OTLPSpanExporter(endpoint=receiver.endpoint, timeout=2),
        attempts=attempts,
        sleep=lambda seconds: None,
        destination=receiver.endpoint,
    )


@dataclass
class Notices:
    """What a run reported: skipped batches, malformed lines, notes."""

    skipped: list[tuple[str, str]] = field(default_factory=list)
    malformed: list[tuple[str, str, int, str | None]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)

    def report(self) -> BatchReport:
        return BatchReport(
            on_skipped=lambda batch_id, why: self.skipped.append((batch_id, why)),
            on_malformed=self._malformed,
            on_note=lambda batch_id, note: self.notes.append((batch_id, note)),
        )

    def _malformed(self, batch_id: str, role: str, line: BatchLine) -> None:
        self.malformed.append((batch_id, role, line.number, line.problem))


def window(clock: Clock, days: int = 31, **filters: Any) -> BatchSelection:
    """Every batch created in the last `days` of the clock."""
    now = int(clock.now)
    return BatchSelection(Selection(since=now - days * DAY, until=now, **filters))


def run(
    client: openai.OpenAI,
    export: VerifiedExport | None,
    checkpoint: Path,
    selection: BatchSelection,
    *,
    capture: bool = False,
    notices: Notices | None = None,
    batch_size: int = 500,
    stop: Callable[[], bool] = lambda: False,
    show: Callable[[Any], None] | None = None,
    restart: bool = False,
) -> Tally:
    """One `backfill_batches` run as the CLI will make it; its tally."""
    tally = Tally(clock=lambda: 0.0)
    backfill_batches(
        client,
        export=export,
        checkpoint_path=checkpoint,
        scope="batch-test",
        selection=selection,
        options=RunOptions(resource=RESOURCE, capture_content=capture, show=show),
        progress=Progress(io.StringIO(), interactive=False, verb="exported", clock=lambda: 0.0),
        tally=tally,
        report=(notices or Notices()).report(),
        restart=restart,
        batch_size=batch_size,
        stop=stop,
        sleep=lambda seconds: None,
    )
    return tally


def finished(
    client: openai.OpenAI, clock: Clock, lines: list[dict[str, Any]], endpoint: Endpoint, **options: Any
) -> Any:
    """Upload `lines`, create a batch of them and move the clock until it is done; the batch."""
    batch = create(client, upload(client, lines), endpoint, **options)
    clock.advance(4 * STAGE)
    done = client.batches.retrieve(batch.id)
    assert done.status in {"completed", "expired", "failed"}, done.status
    return done


def line_span_id(batch_id: str, custom_id: str) -> str:
    """The span id of a batch line's span, in the receiver's hex form."""
    return f"{batch_span_ids(batch_id, custom_id)[1]:016x}"


def root_span_id(batch_id: str) -> str:
    """The span id of a batch's root span, in the receiver's hex form."""
    return f"{batch_span_ids(batch_id)[1]:016x}"


def trace_of(batch_id: str) -> str:
    """The trace id of a batch, in the receiver's hex form."""
    return f"{batch_span_ids(batch_id)[0]:032x}"


def output_custom_ids(client: openai.OpenAI, file_id: str | None) -> list[str]:
    """The `custom_id`s of a file's lines, in order (read with the plain SDK)."""
    import json

    if file_id is None:
        return []
    return [json.loads(line)["custom_id"] for line in client.files.content(file_id).text.splitlines() if line]
