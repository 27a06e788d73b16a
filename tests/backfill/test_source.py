"""The stored list's first request: nothing answering there is a configuration mistake, found at once;
a connection that breaks after the API answered is an outage, retried and resumable."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from chatspan.backfill.checkpoint import Pass
from chatspan.backfill.source import ApiUnreachable, SourceError, StoredCompletionSource
from chatspan.backfill.window import Selection
from tests.support.transport import http

BASE_URL = "http://127.0.0.1:9/v1"
SELECTION = Selection(since=0, until=2_000_000_000)


class Scripted:
    """Answers each request with the next step: a page of ids (a list: more follow; a tuple: the
    last page), or an HTTP library error class to raise."""

    def __init__(self, *steps: list[str] | tuple[str, ...] | Any) -> None:
        self.steps = list(steps)
        self.requests: list[Any] = []

    def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        step = self.steps.pop(0)
        if not isinstance(step, (list, tuple)):
            raise step("boom", request=request)  # an HTTP library error class
        data = [
            {"id": item, "object": "chat.completion", "created": 1_700_000_000, "model": "m"} for item in step
        ]
        body = {"object": "list", "data": data, "has_more": isinstance(step, list) and bool(self.steps)}
        return http.Response(
            200, headers={"content-type": "application/json"}, content=json.dumps(body).encode()
        )


def source(handler: Scripted, *, max_retries: int, sleeps: list[float]) -> StoredCompletionSource:
    client = openai.OpenAI(
        api_key="sk-test",
        base_url=BASE_URL,
        max_retries=max_retries,
        http_client=http.Client(transport=http.MockTransport(handler)),
    )
    return StoredCompletionSource(client, SELECTION, sleep=sleeps.append)


def test_refused_on_the_first_request_fails_at_once_naming_the_url() -> None:
    handler = Scripted(http.ConnectError, http.ConnectError, http.ConnectError)
    sleeps: list[float] = []
    with pytest.raises(ApiUnreachable) as raised:
        list(source(handler, max_retries=5, sleeps=sleeps).pages(Pass(0, 2_000_000_000)))
    assert len(handler.requests) == 1, "neither the SDK's retries nor chatspan's page attempts"
    assert sleeps == []
    message = str(raised.value)
    assert message.startswith(f"nothing answers at {BASE_URL} ") and "check OPENAI_BASE_URL" in message
    assert "resume" not in message


def test_refused_on_retrieve_fails_at_once_too() -> None:
    handler = Scripted(http.ConnectError)
    with pytest.raises(ApiUnreachable):
        source(handler, max_retries=5, sleeps=[]).retrieve("chatcmpl-x")
    assert len(handler.requests) == 1


@pytest.mark.parametrize("failure", ["RemoteProtocolError", "ConnectTimeout", "ReadTimeout"])
def test_a_first_request_that_breaks_otherwise_is_asked_again(failure: str) -> None:
    # A connection dropped after it was made, or a slow server, is no configuration mistake.
    handler = Scripted(getattr(http, failure), ["c2", "c1"])
    pages = list(source(handler, max_retries=0, sleeps=[]).pages(Pass(0, 2_000_000_000)))
    assert [c.id for page in pages for c in page.completions] == ["c2", "c1"]
    assert len(handler.requests) == 2


def test_refused_after_the_api_answered_is_an_outage_with_the_resume_advice() -> None:
    handler = Scripted(["c4", "c3"], http.ConnectError, http.ConnectError, http.ConnectError)
    sleeps: list[float] = []
    pages = source(handler, max_retries=0, sleeps=sleeps).pages(Pass(0, 2_000_000_000))
    assert [c.id for c in next(pages).completions] == ["c4", "c3"]
    with pytest.raises(SourceError) as raised:
        next(pages)
    assert not isinstance(raised.value, ApiUnreachable)
    assert "still failing after 3 attempts (connection failed)" in str(raised.value)
    assert "run again to resume" in str(raised.value)
    assert len(sleeps) == 2
    assert "after=c3" in str(handler.requests[1].url), "the next page starts after the last id"


def test_refused_on_a_later_pass_of_the_run_is_an_outage_too() -> None:
    handler = Scripted(("c9",), http.ConnectError, http.ConnectError, http.ConnectError)
    sleeps: list[float] = []
    listing = source(handler, max_retries=0, sleeps=sleeps)
    assert [c.id for page in listing.pages(Pass(0, 2_000_000_000)) for c in page.completions] == ["c9"]
    with pytest.raises(SourceError) as raised:
        list(listing.pages(Pass(0, 1_000)))
    assert not isinstance(raised.value, ApiUnreachable), "the API answered earlier in this run"
    assert "run again to resume" in str(raised.value)
