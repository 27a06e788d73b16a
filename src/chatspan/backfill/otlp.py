"""The span exporter and resource, configured as OpenTelemetry users expect: by OTEL_* variables."""

from __future__ import annotations

import os

from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    OTEL_SERVICE_NAME,
)
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace.export import SpanExporter

DEFAULT_SERVICE_NAME = "chatspan-backfill"


class ConfigurationError(ValueError):
    """An OTEL_* variable holds a value chatspan cannot use."""


def otlp_exporter() -> SpanExporter:
    """An OTLP span exporter; protocol from OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL (default http/protobuf).

    Endpoint, headers, timeout, compression and certificates are read by the exporter itself from
    the standard OTEL_EXPORTER_OTLP_* variables.
    """
    protocol = (
        os.environ.get(OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)
        or os.environ.get(OTEL_EXPORTER_OTLP_PROTOCOL)
        or "http/protobuf"
    ).strip()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        return HttpExporter()
    raise ConfigurationError(f"OTLP protocol {protocol!r} is not supported: use grpc or http/protobuf")


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
