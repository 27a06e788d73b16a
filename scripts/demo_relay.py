"""An OTLP/HTTP relay on 127.0.0.1: forwards every trace export to the user's endpoint, keeps a copy.

When `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT` points at the user's own receiver (a collector, Jaeger),
the demo cannot ask that receiver what it got. So the app and the backfill export to this relay,
which forwards each request's bytes unchanged over OTLP/HTTP (with the user's
`OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`) and answers with the upstream's verdict: a span is kept for
the text view only once the upstream accepted it, and a refusal goes back to the exporter, which
retries as it would have without the relay. Collectors and Jaeger take OTLP/HTTP on port 4318; a
gRPC-only endpoint is refused with a message saying so.
"""

from __future__ import annotations

import gzip
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.util.re import parse_env_headers
from scripts.demo_view import SentSpan

_FORWARD_TIMEOUT: Final = 10.0
_STATUS_NAMES: Final = {0: "UNSET", 1: "OK", 2: "ERROR"}
_Forward = Callable[[bytes, ExportTraceServiceRequest], tuple[int, str]]
"""Forward one export request (its bytes and decoded form); returns (status for the exporter, error)."""
# OTLP/HTTP exporters retry 502, 503 and 504: the relay answers 503 when the upstream is unreachable.
_UNAVAILABLE: Final = 503


class RelayConfigError(ValueError):
    """The user's OTEL_EXPORTER_OTLP_* settings name something the relay cannot forward to."""


@dataclass(frozen=True)
class Upstream:
    """The user's trace receiver, as the standard OTLP exporter variables describe it."""

    url: str
    """The full traces URL, e.g. http://localhost:4318/v1/traces."""
    headers: dict[str, str]

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Upstream | None:
        """None when neither OTEL_EXPORTER_OTLP_TRACES_ENDPOINT nor OTEL_EXPORTER_OTLP_ENDPOINT is set.

        The signal-specific variables win over the general ones, as in the SDK. The protocol must
        be http/protobuf (the default here, as for `chatspan backfill`).
        """
        traces = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
        general = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
        if not traces and not general:
            return None
        protocol = (
            environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "").strip()
            or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").strip()
            or "http/protobuf"
        )
        if protocol != "http/protobuf":
            raise RelayConfigError(
                f"OTLP protocol {protocol!r}: the demo sends OTLP/HTTP (http/protobuf); point "
                "OTEL_EXPORTER_OTLP_ENDPOINT at the receiver's HTTP port (4318 on a collector or Jaeger)"
            )
        # The spec's rule: the general variable gets the signal's path appended, the traces one not.
        url = traces or general.rstrip("/") + "/v1/traces"
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise RelayConfigError(f"OTLP endpoint {url!r}: it must start with http:// or https://")
        header_text = environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or environ.get(
            "OTEL_EXPORTER_OTLP_HEADERS", ""
        )
        return cls(url, dict(parse_env_headers(header_text, liberal=True)))


class OtlpRelay:
    """Receives OTLP/HTTP protobuf at `/v1/traces` on 127.0.0.1 and forwards it to `upstream`."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self._lock = threading.Lock()
        self._spans: list[SentSpan] = []
        self.refused = 0
        """Export requests the upstream did not accept (the exporter retried or gave up)."""
        self.last_error = ""
        forward = _http_forwarder(upstream)
        relay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                status = 404 if self.path != "/v1/traces" else relay._relay(body, forward)
                payload = ExportTraceServiceResponse().SerializeToString() if status == 200 else b""
                self.send_response(status)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return  # the demo reports refusals itself

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-relay", daemon=True)

    @property
    def traces_endpoint(self) -> str:
        """For OTEL_EXPORTER_OTLP_TRACES_ENDPOINT of the processes whose spans are relayed."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/traces"

    def spans(self) -> list[SentSpan]:
        """Every span the upstream accepted, in arrival order."""
        with self._lock:
            return list(self._spans)

    def start(self) -> OtlpRelay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _relay(self, body: bytes, forward: _Forward) -> int:
        try:
            request = ExportTraceServiceRequest.FromString(body)
        except Exception:  # a protobuf DecodeError: the exporter sent something that is not OTLP
            return 400
        status, error = forward(body, request)
        with self._lock:
            if status == 200:
                self._spans.extend(from_otlp(request))
            else:
                self.refused += 1
                self.last_error = error
        return status


def _http_forwarder(upstream: Upstream) -> _Forward:
    def forward(body: bytes, request: ExportTraceServiceRequest) -> tuple[int, str]:
        headers = {**upstream.headers, "Content-Type": "application/x-protobuf"}
        post = urllib.request.Request(upstream.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(post, timeout=_FORWARD_TIMEOUT) as response:
                response.read()
                return 200, ""
        except urllib.error.HTTPError as error:
            return error.code, f"{upstream.url} answered {error.code}"
        except (urllib.error.URLError, OSError) as error:
            return _UNAVAILABLE, f"cannot reach {upstream.url}: {getattr(error, 'reason', error)}"

    return forward


def from_otlp(request: ExportTraceServiceRequest) -> list[SentSpan]:
    """The spans of one OTLP export request."""
    spans: list[SentSpan] = []
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    SentSpan(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex() or None,
                        name=span.name,
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                        status=_STATUS_NAMES.get(span.status.code, "UNSET"),
                        attributes={item.key: _value(item.value) for item in span.attributes},
                    )
                )
    return spans


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None
