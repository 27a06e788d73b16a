from __future__ import annotations

import io

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import ConsoleSpanExporter

from chatspan.backfill.otlp import (
    ConfigurationError,
    Destination,
    destination,
    otlp_exporter,
    resource,
    traces_endpoint,
)


def test_protocol_from_the_standard_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(otlp_exporter(), HttpExporter), "http/protobuf is the spec's default"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    assert isinstance(otlp_exporter(), GrpcExporter)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
    assert isinstance(otlp_exporter(), HttpExporter), "the traces variable wins"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")
    with pytest.raises(ConfigurationError, match="http/json"):
        otlp_exporter()


def test_resource_from_the_standard_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod")
    made = resource()
    assert made.attributes["service.name"] == "chatspan-backfill"
    assert made.attributes["deployment.environment"] == "prod"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "billing-api")
    assert resource().attributes["service.name"] == "billing-api"


def test_resource_hashes_and_compares_like_a_plain_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "svc")
    made = resource()
    plain = Resource(made.attributes, made.schema_url)
    assert hash(made) == hash(plain) and made == plain


ENDPOINT_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_TRACES_EXPORTER",
)


@pytest.mark.parametrize(
    ("variables", "protocol", "expected"),
    [
        ({}, "http/protobuf", "http://localhost:4318/v1/traces"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, "http/protobuf", "http://c:4318/v1/traces"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}, "http/protobuf", "http://c:4318/v1/traces"),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://t/x",
            },
            "http/protobuf",
            "https://t/x",
        ),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ""}, "http/protobuf", "http://localhost:4318/v1/traces"),
        ({}, "grpc", "http://localhost:4317"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"}, "grpc", "collector:4317"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://c:4317"}, "grpc", "https://c:4317"),
    ],
)
def test_the_traces_endpoint_is_the_one_the_exporter_uses(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], protocol: str, expected: str
) -> None:
    for name in ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert traces_endpoint(protocol) == expected
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", protocol)
    exporter = otlp_exporter()
    # The exporter's own resolution, where it keeps it (the gRPC one keeps only host:port).
    if protocol == "http/protobuf":
        assert vars(exporter)["_endpoint"] == expected


@pytest.mark.parametrize(
    ("variables", "protocol"),
    [
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "localhost:4318"}, "http/protobuf"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "not a url"}, "http/protobuf"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://"}, "http/protobuf"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:99999/v1/traces"}, "http/protobuf"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://c/v1/traces"}, "http/protobuf"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://col lector:4318/v1/traces"}, "http/protobuf"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "col lector:4317"}, "grpc"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:0"}, "grpc"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "c:4318"}, "http/protobuf"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "not a url"}, "grpc"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://"}, "grpc"),
    ],
)
def test_an_endpoint_that_is_not_a_url_is_refused(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], protocol: str
) -> None:
    for name in ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    (variable,) = variables
    with pytest.raises(ConfigurationError, match=variable):
        traces_endpoint(protocol)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", protocol)
    with pytest.raises(ConfigurationError):
        otlp_exporter()


def test_the_traces_exporter_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    console = io.StringIO()
    made = destination(console)
    assert made.kind == "otlp" and isinstance(made.exporter, HttpExporter)
    assert made.description == "OTLP endpoint http://localhost:4318/v1/traces"
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", " console ")
    made = destination(console)
    assert made.kind == "console" and isinstance(made.exporter, ConsoleSpanExporter)
    assert made.exporter.out is console
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert destination(console) == Destination("none", None, "nowhere (OTEL_TRACES_EXPORTER=none)")
    for unusable in ("zipkin", "otlp,console", ","):
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", unusable)
        with pytest.raises(ConfigurationError, match="otlp, console or none"):
            destination(console)
