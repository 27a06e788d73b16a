"""No recorded exception carries the client's API key or a `Bearer …` credential."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.support.recording import instrumented
from tests.support.transport import http, response

KEY = "sk-proj-Zq8Yv2Lw9Xc4Tn6Rb1Md"
OTHER_BEARER = "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"


def echoing_client(status: int) -> openai.OpenAI:
    """A server (a misconfigured proxy) whose error message echoes the request's credentials."""

    def handler(request: Any) -> Any:
        auth = request.headers["authorization"]
        message = f"bad upstream: Authorization: {auth}; upstream said Bearer {OTHER_BEARER}; key={KEY}"
        body = {"error": {"message": message, "type": "invalid_request_error", "code": None, "param": None}}
        return response(status, {"content-type": "application/json"}, json.dumps(body).encode())

    return openai.OpenAI(
        api_key=KEY,
        base_url="https://api.openai.com/v1",
        max_retries=0,
        http_client=http.Client(transport=http.MockTransport(handler)),
    )


@pytest.mark.parametrize("stream", [False, True])
def test_the_key_never_reaches_the_exception_event(stream: bool) -> None:
    with instrumented() as recording, pytest.raises(openai.BadRequestError) as raised:
        echoing_client(400).chat.completions.create(model="m", messages=[], stream=stream)
    assert KEY in str(raised.value), "the app's exception is untouched"
    exported = recording.everything_exported()
    assert KEY not in exported
    assert OTHER_BEARER not in exported
    (event,) = recording.only_span().events
    assert event.name == "exception"
    attrs = dict(event.attributes or {})
    assert attrs["exception.type"] == "openai.BadRequestError"
    message = str(attrs["exception.message"])
    assert "Bearer [REDACTED]" in message and "key=[REDACTED]" in message
    assert "[REDACTED]" in str(attrs["exception.stacktrace"])


def test_short_strings_are_not_mistaken_for_keys() -> None:
    from chatspan.mapping.errors import scrub

    assert scrub("model gpt is unknown", ["gpt"]) == "model gpt is unknown"
    assert scrub("token: bearer abc.def", []) == "token: bearer [REDACTED]"
