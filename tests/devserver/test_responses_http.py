"""The Responses API over raw HTTP: Azure's paths, the headers on every answer, the rate limits a
responses call spends, and the fault knobs (header, targets, `fail-after`, `drop-after`)."""

from __future__ import annotations

import http.client
from typing import Any

import pytest

from chatspan.devserver import DevServer, FaultSyntaxError
from chatspan.devserver.faults import parse_faults, plan_faults
from tests.devserver.rawhttp import RawResponse, chat, request, responses
from tests.devserver.test_http import _assert_openai_headers

INPUT = "Tell me about the tallest mountains in the Alps"
BODY: dict[str, Any] = {"model": "gpt-4o-mini", "input": INPUT}


def _get(server: DevServer, path: str) -> RawResponse:
    return request(server, "GET", path)


@pytest.mark.parametrize(
    "path",
    [
        "/openai/responses?api-version=2025-04-01-preview",
        "/openai/v1/responses",
        "/openai/v1/responses?api-version=preview",
    ],
)
def test_azure_paths(server: DevServer, path: str) -> None:
    answer = request(server, "POST", path, BODY)
    assert answer.status == 200, answer.body
    response_id = answer.json()["id"]
    base = path.split("?")[0]
    query = path.partition("?")[2]
    retrieved = request(server, "GET", f"{base}/{response_id}?{query}")
    assert retrieved.json()["id"] == response_id


def test_azure_classic_path_needs_api_version(server: DevServer) -> None:
    answer = request(server, "POST", "/openai/responses", BODY)
    assert answer.status == 400
    assert answer.json()["error"]["param"] == "api-version"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v1/responses", 200),
        ("POST", "/v1/responses?stream", 200),
        ("GET", "/v1/responses/resp_nope", 404),
        ("GET", "/v1/responses/resp_nope/input_items", 404),
        ("DELETE", "/v1/responses/resp_nope", 404),
        ("POST", "/v1/responses/resp_nope/cancel", 404),
    ],
)
def test_every_response_has_openai_headers(server: DevServer, method: str, path: str, status: int) -> None:
    body = {**BODY, "stream": True} if path.endswith("?stream") else BODY
    answer = request(server, method, path.removesuffix("?stream"), body)
    assert answer.status == status
    _assert_openai_headers(answer)


def test_responses_spend_the_same_rate_limits_as_chat() -> None:
    with DevServer(rpm=10, tpm=1000) as server:
        first = responses(server, BODY)
        second = chat(server, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": INPUT}]})
        third = responses(server, BODY)
        retrieved = _get(server, f"/v1/responses/{first.json()['id']}")
    remaining = [int(r.headers["x-ratelimit-remaining-requests"]) for r in (first, second, third, retrieved)]
    assert remaining == [9, 8, 7, 7]  # a retrieve spends nothing
    spent = first.json()["usage"]["total_tokens"] + second.json()["usage"]["total_tokens"]
    spent += third.json()["usage"]["total_tokens"]
    assert int(third.headers["x-ratelimit-remaining-tokens"]) == 1000 - spent


def test_rate_limit_exhausted_answers_429() -> None:
    with DevServer(rpm=1, clock=lambda: 1_800_000_000.0) as server:
        assert responses(server, BODY).status == 200
        refused = responses(server, BODY)
    assert refused.status == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert (refused.headers["retry-after"], refused.headers["retry-after-ms"]) == ("60", "60000")


def test_header_faults(server: DevServer) -> None:
    assert responses(server, BODY, {"x-chatspan-fault": "503"}).status == 503
    limited = responses(server, BODY, {"x-chatspan-fault": "429;retry-after=2"})
    assert (limited.status, limited.headers["retry-after"], limited.headers["retry-after-ms"]) == (
        429,
        "2",
        "2000",
    )
    malformed = responses(server, BODY, {"x-chatspan-fault": "malformed"})
    assert malformed.status == 200
    with pytest.raises(ValueError):
        malformed.json()
    broken = responses(server, {**BODY, "stream": True}, {"x-chatspan-fault": "malformed"})
    with pytest.raises(ValueError):
        broken.named_events()


def test_drop_after_cuts_the_stream(server: DevServer) -> None:
    with pytest.raises(http.client.IncompleteRead) as caught:
        responses(server, {**BODY, "stream": True}, {"x-chatspan-fault": "drop-after=3"})
    assert caught.value.partial.count(b"event: ") == 3


def test_fail_after_sends_error_then_failed(server: DevServer) -> None:
    events = [
        data
        for _, data in responses(
            server, {**BODY, "stream": True}, {"x-chatspan-fault": "fail-after=4"}
        ).named_events()
    ]
    assert [event["type"] for event in events[4:]] == ["error", "response.failed"]
    assert events[4]["code"] == "server_error"
    failed = events[5]["response"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "server_error"
    assert _get(server, f"/v1/responses/{failed['id']}").json() == failed  # stored as it ended


def test_targeted_faults_count_their_endpoint(server: DevServer) -> None:
    created = responses(server, BODY).json()
    path = f"/v1/responses/{created['id']}"
    server.set_faults(["responses.retrieve:500;times=2", "responses:429;nth=2", "responses.delete:drop"])
    assert [_get(server, path).status for _ in range(3)] == [500, 500, 200]
    assert [responses(server, BODY).status for _ in range(3)] == [200, 429, 200]
    with pytest.raises(ConnectionError):
        request(server, "DELETE", path)
    assert created["id"] not in server.stored_responses  # the work was done; only the answer was lost
    server.set_faults(["responses.retrieve:fail-after=2"])
    second = responses(server, BODY).json()
    replay = [data for _, data in _get(server, f"/v1/responses/{second['id']}?stream=true").named_events()]
    assert [event["type"] for event in replay] == [
        "response.created",
        "response.in_progress",
        "error",
        "response.failed",
    ]


def test_untargeted_faults_hit_model_calls_only(server: DevServer) -> None:
    created = responses(server, BODY).json()
    server.set_faults(["500"])
    assert responses(server, BODY).status == 500
    assert chat(server, {"model": "m", "messages": [{"role": "user", "content": "hi"}]}).status == 500
    assert _get(server, f"/v1/responses/{created['id']}").status == 200


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("list:fail-after=2", "only responses and responses.retrieve send"),
        ("responses.delete:first-token=1", "which only chat, responses and responses.retrieve send"),
        ("responses.nope:500", "unknown target"),
    ],
)
def test_unreadable_responses_faults(server: DevServer, text: str, message: str) -> None:
    with pytest.raises(FaultSyntaxError, match=message):
        server.set_faults([text])


def test_fail_after_faults_combine_to_the_earliest() -> None:
    plan = plan_faults(parse_faults("fail-after=5, fail-after=2, drop-after=9"), retry_count=0)
    assert (plan.fail_after, plan.drop_after) == (2, 9)
    assert plan_faults(parse_faults("fail-after=2;times=1"), retry_count=1).fail_after is None


def test_fail_after_is_refused_where_no_model_response_is_sent(server: DevServer) -> None:
    refused = chat(
        server,
        {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        {"x-chatspan-fault": "fail-after=1"},
    )
    assert refused.status == 400
    assert refused.json()["error"]["param"] == "x-chatspan-fault"
    assert "fail-after fails a model response" in refused.json()["error"]["message"]
    created = responses(server, BODY).json()
    listed = request(
        server,
        "GET",
        f"/v1/responses/{created['id']}/input_items",
        headers={"x-chatspan-fault": "fail-after=1"},
    )
    assert listed.status == 400


def test_fail_after_on_a_json_retrieve_shows_it_failed(server: DevServer) -> None:
    created = responses(server, BODY).json()
    failed = request(
        server, "GET", f"/v1/responses/{created['id']}", headers={"x-chatspan-fault": "fail-after=0"}
    )
    assert failed.json()["status"] == "failed" and failed.json()["error"]["code"] == "server_error"
    assert _get(server, f"/v1/responses/{created['id']}").json() == created  # the stored one is unchanged
