"""Fault strings: parsing, `times`, combining; and the control endpoint."""

from __future__ import annotations

import pytest

from chatspan.devserver import DevServer, FaultSyntaxError
from chatspan.devserver.faults import Fault, parse_fault, parse_faults, plan_faults, retry_count
from tests.devserver.rawhttp import chat, request

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("429", Fault("status", 429, None, 0.01)),
        ("429;times=1", Fault("status", 429, 1, 0.01)),
        ("429; retry-after=2", Fault("status", 429, None, 2.0)),
        ("500", Fault("status", 500)),
        ("500;times=2;retry-after=0.01", Fault("status", 500, 2, 0.01)),
        ("latency=0.2", Fault("latency", 0.2)),
        ("first-token=0.5", Fault("first-token", 0.5)),
        ("chunk-delay=0.01;times=1", Fault("chunk-delay", 0.01, 1)),
        ("drop-after=3", Fault("drop-after", 3)),
        (" MALFORMED ", Fault("malformed")),
    ],
)
def test_parse_fault(text: str, expected: Fault) -> None:
    assert parse_fault(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "200",
        "600",
        "latency",
        "latency=-1",
        "latency=soon",
        "drop-after=1.5",
        "429;times=x",
        "429;twice",
        "explode",
    ],
)
def test_unreadable_faults_are_refused(text: str) -> None:
    with pytest.raises(FaultSyntaxError):
        parse_fault(text)


def test_lists_combine_and_times_counts_retries() -> None:
    faults = parse_faults("429;times=1, latency=0.1, latency=0.2;times=2, drop-after=5, drop-after=2")
    first = plan_faults(faults, retry_count=0)
    assert (first.status, first.retry_after, first.drop_after) == (429, 0.01, 2)
    assert first.latency == pytest.approx(0.3)
    second = plan_faults(faults, retry_count=1)
    assert second.status is None
    assert second.latency == pytest.approx(0.3)
    third = plan_faults(faults, retry_count=2)
    assert third.latency == pytest.approx(0.1)
    assert parse_faults(["500", "", "malformed,latency=1"]) == [
        Fault("status", 500),
        Fault("malformed"),
        Fault("latency", 1.0),
    ]


@pytest.mark.parametrize(("header", "expected"), [(None, 0), ("0", 0), ("2", 2), ("x", 0), (" 3 ", 3)])
def test_retry_count(header: str | None, expected: int) -> None:
    assert retry_count(header) == expected


def test_control_endpoint_sets_and_clears_faults(server: DevServer) -> None:
    assert request(server, "POST", "/_chatspan/faults", ["502;times=1"]).json() == {"faults": ["502;times=1"]}
    assert server.faults == ["502;times=1"]
    assert chat(server, BODY).status == 502
    assert chat(server, BODY, {"x-stainless-retry-count": "1"}).status == 200
    assert request(server, "GET", "/_chatspan/faults").json() == {"faults": ["502;times=1"]}
    assert request(server, "POST", "/_chatspan/faults", []).json() == {"faults": []}
    assert chat(server, BODY).status == 200


@pytest.mark.parametrize("body", [b"not json", b'{"faults": []}', b'["nonsense"]', b"[1]"])
def test_control_endpoint_refuses_bad_lists(server: DevServer, body: bytes) -> None:
    response = request(server, "POST", "/_chatspan/faults", body)
    assert response.status == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert server.faults == []


def test_set_faults_refuses_bad_strings(server: DevServer) -> None:
    with pytest.raises(FaultSyntaxError, match="unknown fault"):
        server.set_faults(["explode"])


def test_header_fault_with_retry_after(server: DevServer) -> None:
    response = chat(server, BODY, {"x-chatspan-fault": "503;retry-after=1.5"})
    assert response.status == 503
    assert (response.headers["retry-after"], response.headers["retry-after-ms"]) == ("2", "1500")
    limited = chat(server, BODY, {"x-chatspan-fault": "429"})
    assert (limited.headers["retry-after"], limited.headers["retry-after-ms"]) == ("1", "10")
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"


def test_malformed_stream_and_drop_without_stream(server: DevServer) -> None:
    streamed = chat(server, {**BODY, "stream": True}, {"x-chatspan-fault": "malformed"})
    assert streamed.status == 200
    with pytest.raises(ValueError):
        streamed.chunks()
    plain = chat(server, BODY, {"x-chatspan-fault": "malformed"})
    assert plain.status == 200
    with pytest.raises(ValueError):
        plain.json()
    with pytest.raises(ConnectionError):
        chat(server, BODY, {"x-chatspan-fault": "drop-after=0"})
