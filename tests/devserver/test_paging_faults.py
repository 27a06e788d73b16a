"""Faults scoped to an endpoint (`list:500;times=2`): counted per endpoint, scripted without headers."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from chatspan.devserver import DevServer, FaultSyntaxError
from chatspan.devserver.faults import Fault, parse_fault, plan_faults
from tests.devserver.conftest import CLIENT_TIMEOUT
from tests.devserver.rawhttp import chat, request
from tests.support.fault_waits import FaultWaits

LIST = "/v1/chat/completions?limit=5"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def seeded() -> Iterator[DevServer]:
    with DevServer(seed_stored=40, seed=5) as server:
        yield server


def _client(server: DevServer, max_retries: int = 0, timeout: float = CLIENT_TIMEOUT) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=server.base_url, api_key="sk-test", timeout=timeout, max_retries=max_retries
    )


def _statuses(server: DevServer, count: int, path: str = LIST) -> list[int]:
    return [request(server, "GET", path).status for _ in range(count)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("list:500;times=2", Fault("status", 500, 2, None, "list")),
        ("list:429;times=6", Fault("status", 429, 6, 0.01, "list")),
        ("LIST: malformed ;nth=3", Fault("malformed", 0.0, None, None, "list", 3)),
        ("list:hang=30;nth=2", Fault("latency", 30.0, None, None, "list", 2)),
        ("list:drop;nth=2", Fault("drop-after", 0, None, None, "list", 2)),
        ("messages:500;times=1", Fault("status", 500, 1, None, "messages")),
        ("chat:first-token=0.5;nth=2;times=3", Fault("first-token", 0.5, 3, None, "chat", 2)),
        ("drop", Fault("drop-after", 0)),
        ("hang=1", Fault("latency", 1.0)),
    ],
)
def test_parse_targeted_fault(text: str, expected: Fault) -> None:
    assert parse_fault(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lists:500", "unknown target 'lists'"),
        ("list:500;nth=0", "nth counts from 1"),
        ("list:500;nth=x", "nth needs a whole number"),
        ("500;nth=2", "nth counts the requests to a target"),
        ("list:first-token=1", "which only chat, responses and responses.retrieve send"),
        ("list:hang=601", "at most 600 seconds"),
        ("latency=1e9", "at most 600 seconds"),
        ("list:", "unknown fault"),
        ("list:drop=2", "unknown fault"),
    ],
)
def test_unreadable_targeted_faults(text: str, message: str) -> None:
    with pytest.raises(FaultSyntaxError, match=message):
        parse_fault(text)


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("list:500", [1, 2, 3, 4, 5, 6]),
        ("list:500;times=2", [1, 2]),
        ("list:500;nth=3", [3]),
        ("list:500;nth=2;times=3", [2, 3, 4]),
        ("list:500;times=0", []),
    ],
)
def test_times_and_nth_count_requests(text: str, hit: list[int]) -> None:
    fault = parse_fault(text)
    # A targeted fault ignores the SDK's retry count: each retry is a request of its own.
    assert [n for n in range(1, 7) if plan_faults([fault], retry_count=5, request_number=n).status] == hit


def test_500_twice_counts_list_requests_only(seeded: DevServer) -> None:
    seeded.set_faults(["list:500;times=2"])
    completion_id = next(iter(seeded.stored))
    assert request(seeded, "GET", f"/v1/chat/completions/{completion_id}").status == 200
    assert chat(seeded, BODY).status == 200
    assert _statuses(seeded, 3) == [500, 500, 200]
    seeded.set_faults(["list:500;times=2"])  # setting again restarts the count
    assert _statuses(seeded, 3) == [500, 500, 200]


def test_sdk_retries_through_a_500_pair(seeded: DevServer, sdk_sleeps: list[float]) -> None:
    assert request(seeded, "POST", "/_chatspan/faults", ["list:500;times=2;retry-after=0.01"]).status == 200
    with _client(seeded, max_retries=2) as client:
        raw = client.chat.completions.with_raw_response.list(limit=5)
    assert raw.retries_taken == 2
    assert sdk_sleeps == [0.01, 0.01]  # the SDK honoured retry-after-ms instead of backing off
    assert len(raw.parse().data) == 5


def test_429_storm_is_short_and_then_passes(seeded: DevServer, sdk_sleeps: list[float]) -> None:
    seeded.set_faults(["list:429;times=6"])
    first = request(seeded, "GET", LIST)
    assert first.status == 429
    assert (first.headers["retry-after"], first.headers["retry-after-ms"]) == ("1", "10")
    assert first.json()["error"]["code"] == "rate_limit_exceeded"
    with _client(seeded, max_retries=6) as client:
        raw = client.chat.completions.with_raw_response.list(limit=5)
    assert raw.retries_taken == 5  # the first of the six went to the raw request above
    assert sdk_sleeps == [0.01] * 5  # retry-after-ms: 10, honoured each time


def test_malformed_third_page(seeded: DevServer) -> None:
    seeded.set_faults(["list:malformed;nth=3"])
    with _client(seeded) as client:
        page = client.chat.completions.list(limit=5)
        second = page.get_next_page()
        with pytest.raises((openai.APIResponseValidationError, ValueError)):
            second.get_next_page()
        assert len(second.get_next_page().data) == 5  # the 4th list request is whole again
    raw = request(seeded, "GET", LIST)
    assert raw.status == 200 and raw.json()["object"] == "list"


def test_dropped_second_page(seeded: DevServer) -> None:
    seeded.set_faults(["list:drop;nth=2"])
    with _client(seeded) as client:
        page = client.chat.completions.list(limit=5)
        with pytest.raises(openai.APIConnectionError):
            page.get_next_page()
        assert len(page.get_next_page().data) == 5


def test_hanging_page_blocks_neither_others_nor_shutdown() -> None:
    """While one list request hangs, others are answered; stopping the server ends the hang.

    Observed through the server's fault waits rather than timed: the others are answered while
    the hanging request's wait has not ended, and that wait ends because the server stops.
    """
    waits = FaultWaits()
    server = DevServer(seed_stored=40, faults=["list:hang=30;nth=2"], fault_wait=waits).start()
    outcome: list[Any] = []

    def second_list() -> None:
        try:
            outcome.append(request(server, "GET", LIST).status)
        except (OSError, http.client.HTTPException) as error:
            outcome.append(error)

    assert _statuses(server, 1) == [200]
    hanging = threading.Thread(target=second_list)
    hanging.start()
    assert waits.started.wait(CLIENT_TIMEOUT)  # the 2nd list request is in its 30 s hang
    # While it hangs, the 3rd list request and everything else are answered.
    assert _statuses(server, 1) == [200]
    assert chat(server, BODY).status == 200
    assert (waits.delays, waits.outcomes, outcome) == ([30], [], [])  # the hang has not ended
    with _client(server, timeout=0.3) as client:
        server.set_faults(["list:hang=30;nth=1"])
        with pytest.raises(openai.APITimeoutError):
            client.chat.completions.list(limit=5)
    server.stop()
    hanging.join(timeout=CLIENT_TIMEOUT)  # a bound for a broken server, not a measurement
    assert waits.ended(2) == ["stopped", "stopped"]  # both hangs ended by the stop, not the 30 s
    assert len(outcome) == 1 and isinstance(outcome[0], ConnectionError)


def test_messages_500_once(seeded: DevServer) -> None:
    seeded.set_faults(["messages:500;times=1"])
    completion_id = next(iter(seeded.stored))
    path = f"/v1/chat/completions/{completion_id}/messages"
    assert _statuses(seeded, 1) == [200]  # a list request is not a messages request
    assert _statuses(seeded, 3, path) == [500, 200, 200]
    seeded.set_faults(["messages:500;times=1"])
    with _client(seeded, max_retries=1) as client:
        raw = client.chat.completions.messages.with_raw_response.list(completion_id)
    assert raw.retries_taken == 1


def test_retrieve_update_delete_targets(seeded: DevServer) -> None:
    first, second = list(seeded.stored)[:2]
    seeded.set_faults(["retrieve:404;nth=1", "update:503", "delete:drop"])
    assert request(seeded, "GET", f"/v1/chat/completions/{first}").status == 404
    assert request(seeded, "GET", f"/v1/chat/completions/{first}").status == 200
    assert request(seeded, "POST", f"/v1/chat/completions/{first}", {"metadata": {}}).status == 503
    with pytest.raises(ConnectionError):
        request(seeded, "DELETE", f"/v1/chat/completions/{second}")
    assert second not in seeded.stored  # the work was done; only the answer was lost


def test_chat_target_counts_requests_not_retries(server: DevServer) -> None:
    server.set_faults(["chat:500;times=1"])
    assert chat(server, BODY).status == 500
    assert chat(server, BODY).status == 200  # the untargeted 500;times=1 would fail again
    server.set_faults(["500;times=1"])
    assert [chat(server, BODY).status for _ in range(2)] == [500, 500]
    assert request(server, "GET", LIST).status == 200  # untargeted faults stay on chat requests


def test_header_faults_apply_to_any_endpoint_but_take_no_target(seeded: DevServer) -> None:
    assert request(seeded, "GET", LIST, headers={"x-chatspan-fault": "503"}).status == 503
    refused = request(seeded, "GET", LIST, headers={"x-chatspan-fault": "list:503"})
    assert refused.status == 400
    assert "POST /_chatspan/faults" in refused.json()["error"]["message"]


def test_control_endpoint_takes_targeted_faults(seeded: DevServer) -> None:
    texts = ["list:500;times=2", "messages:500;times=1", "latency=0.01"]
    assert request(seeded, "POST", "/_chatspan/faults", texts).json() == {"faults": texts}
    assert seeded.faults == texts
    assert request(seeded, "POST", "/_chatspan/faults", ["list:nope"]).status == 400
    assert seeded.faults == texts
