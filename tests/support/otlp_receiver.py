"""A minimal OTLP/HTTP trace receiver on 127.0.0.1 that keeps every span it is sent.

Unlike a real backend it never deduplicates, so a test can see a span delivered twice; and it can
be told to refuse (HTTP 503) or to accept without keeping, to play a collector that misbehaves.
"""

from __future__ import annotations

import gzip
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


@dataclass(frozen=True)
class ReceivedSpan:
    """The parts of a received span the tests look at."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    start_unix_nano: int
    end_unix_nano: int
    attributes: dict[str, Any]
    resource: dict[str, Any]


class OtlpReceiver:
    """Receives OTLP/HTTP protobuf at `/v1/traces`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[ReceivedSpan] = []
        self.refuse_next = 0
        """How many of the next requests get 503 (a collector shedding load)."""
        self.refuse_all = False
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                status = receiver._take(self.path, self.headers.get("content-encoding"), body)
                payload = ExportTraceServiceResponse().SerializeToString() if status == 200 else b""
                self.send_response(status)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The traces endpoint, for OTEL_EXPORTER_OTLP_TRACES_ENDPOINT."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/traces"

    def spans(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self._spans)

    def duplicates(self) -> dict[str, int]:
        """Span ids received more than once, with their counts."""
        counts = Counter(span.span_id for span in self.spans())
        return {span_id: n for span_id, n in counts.items() if n > 1}

    def _take(self, path: str, encoding: str | None, body: bytes) -> int:
        with self._lock:
            self.requests += 1
            if path != "/v1/traces":
                return 404
            if self.refuse_all or self.refuse_next > 0:
                self.refuse_next = max(0, self.refuse_next - 1)
                return 503
            if encoding == "gzip":
                body = gzip.decompress(body)
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self._spans.append(
                            ReceivedSpan(
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                parent_span_id=span.parent_span_id.hex(),
                                name=span.name,
                                start_unix_nano=span.start_time_unix_nano,
                                end_unix_nano=span.end_time_unix_nano,
                                attributes={kv.key: _value(kv.value) for kv in span.attributes},
                                resource=resource,
                            )
                        )
            return 200

    def start(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None


@contextmanager
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """Run a receiver for the length of the block."""
    receiver = OtlpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
