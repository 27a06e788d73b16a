"""The span exporter and resource, configured as OpenTelemetry users expect: by OTEL_* variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final, TextIO
from urllib.parse import urlsplit

from opentelemetry.environment_variables import OTEL_TRACES_EXPORTER
from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    OTEL_SERVICE_NAME,
)
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter

DEFAULT_SERVICE_NAME: Final = "chatspan-backfill"
DEFAULT_HTTP_ENDPOINT: Final = "http://localhost:4318/v1/traces"
DEFAULT_GRPC_ENDPOINT: Final = "http://localhost:4317"


class ConfigurationError(ValueError):
    """An OTEL_* variable holds a value chatspan cannot use."""


@dataclass(frozen=True)
class Destination:
    """Where the spans go: the exporter (None for OTEL_TRACES_EXPORTER=none) and how to name it."""

    kind: str
    """`otlp`, `console` or `none`, as OTEL_TRACES_EXPORTER says."""
    exporter: SpanExporter | None
    description: str
    """For messages: the OTLP endpoint the exporter posts to, or `stdout`/`stderr`."""


def destination(console: TextIO) -> Destination:
    """The exporter OTEL_TRACES_EXPORTER names (default `otlp`), checked before anything is listed.

    `console` writes each span as JSON to `console`; `none` makes no exporter. Anything else, or an
    OTLP endpoint that is not a URL, is a ConfigurationError.
    """
    names = [name.strip() for name in (_env(OTEL_TRACES_EXPORTER) or "otlp").split(",") if name.strip()]
    if len(names) != 1:
        raise ConfigurationError(
            f"OTEL_TRACES_EXPORTER={_env(OTEL_TRACES_EXPORTER)!r}: chatspan backfill sends to one "
            "exporter: otlp, console or none"
        )
    (kind,) = names
    if kind == "otlp":
        exporter = otlp_exporter()
        return Destination(kind, exporter, f"OTLP endpoint {traces_endpoint(_protocol())}")
    if kind == "console":
        return Destination(
            kind, ConsoleSpanExporter(out=console), "the console (OTEL_TRACES_EXPORTER=console)"
        )
    if kind == "none":
        return Destination(kind, None, "nowhere (OTEL_TRACES_EXPORTER=none)")
    raise ConfigurationError(
        f"OTEL_TRACES_EXPORTER={kind!r} is not supported by chatspan backfill: use otlp, console or none"
    )


def otlp_exporter() -> SpanExporter:
    """An OTLP span exporter; protocol from OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL (default http/protobuf).

    The endpoint is checked here (traces_endpoint()); headers, timeout, compression and
    certificates are read by the exporter itself from the standard OTEL_EXPORTER_OTLP_* variables.
    """
    protocol = _protocol()
    traces_endpoint(protocol)
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    return HttpExporter()


def traces_endpoint(protocol: str) -> str:
    """The traces endpoint the OTLP exporter of `protocol` posts to, or ConfigurationError.

    As the exporters resolve it: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, else (HTTP)
    OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces or (gRPC) OTEL_EXPORTER_OTLP_ENDPOINT, else the default.
    """
    traces = _env(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
    base = _env(OTEL_EXPORTER_OTLP_ENDPOINT)
    variable = OTEL_EXPORTER_OTLP_TRACES_ENDPOINT if traces else OTEL_EXPORTER_OTLP_ENDPOINT
    if protocol == "grpc":
        endpoint = traces or base or DEFAULT_GRPC_ENDPOINT
        # The gRPC exporter also takes a bare host:port.
        if _is_url(endpoint, ("http", "https")) or _is_host_port(endpoint):
            return endpoint
        raise ConfigurationError(
            f"{variable}={endpoint!r} is not an OTLP/gRPC endpoint: write http://HOST:4317 or HOST:4317"
        )
    endpoint = traces or (f"{base.removesuffix('/')}/v1/traces" if base else DEFAULT_HTTP_ENDPOINT)
    if _is_url(endpoint, ("http", "https")):
        return endpoint
    raise ConfigurationError(
        f"{variable}={traces or base!r} is not a URL: write it as http://HOST:4318 "
        f"(OTEL_EXPORTER_OTLP_ENDPOINT) or http://HOST:4318/v1/traces (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)"
    )


def _protocol() -> str:
    protocol = (
        _env(OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) or _env(OTEL_EXPORTER_OTLP_PROTOCOL) or "http/protobuf"
    )
    if protocol not in ("grpc", "http/protobuf"):
        raise ConfigurationError(f"OTLP protocol {protocol!r} is not supported: use grpc or http/protobuf")
    return protocol


def _env(name: str) -> str:
    # The exporters take an empty variable as unset; so does chatspan.
    return os.environ.get(name, "").strip()


def _is_url(text: str, schemes: tuple[str, ...]) -> bool:
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError when the port is not a number in range
    except ValueError:
        return False
    del port
    return parts.scheme in schemes and bool(parts.hostname) and not any(c.isspace() for c in text)


def _is_host_port(text: str) -> bool:
    host, sep, port = text.rpartition(":")
    return (
        bool(sep and host and port.isdigit())
        and 0 < int(port) < 65536
        and not any(c.isspace() or c == "/" for c in host)
    )


class _StaticResource(Resource):
    """A resource that hashes once: the OTLP encoder hashes the resource of every span, and a plain
    Resource re-serialises its attributes to JSON each time (a few percent of a backfill)."""

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource.attributes, resource.schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other)


def resource() -> Resource:
    """The resource from OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES (default service chatspan-backfill)."""
    detected = Resource.create()
    if not os.environ.get(OTEL_SERVICE_NAME) and "service.name=" not in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    ):
        detected = detected.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return _StaticResource(detected)
