"""Hostile values from the server: every span still ends, and nothing chatspan sets is invalid OTLP.

Every test here records through `instrumented()`, whose exit encodes every span and metric with the
OTLP protobuf encoders and fails on anything they drop or refuse.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import openai
import pytest
from opentelemetry.trace import StatusCode

from chatspan.instrumentation import call as call_module
from chatspan.instrumentation import kinds
from tests.support.recording import attributes, instrumented
from tests.support.transport import mock_client, response

HUGE = "9" * 5000
"""Beyond Python's int-from-string limit (4,300 digits), and far beyond int64."""

COMPLETION: dict[str, Any] = {
    "id": "chatcmpl-hostile",
    "object": "chat.completion",
    "created": 1_700_000_000,
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
}


def answer(status: int, body: object, **headers: str) -> openai.OpenAI:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"content-type": "application/json", "x-request-id": "req_hostile", **headers}
    return mock_client(lambda request: response(status, sent, content))


@pytest.mark.parametrize(
    "header", ["x-ratelimit-remaining-requests", "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens"]
)
def test_a_count_beyond_the_int_limit_on_success_keeps_every_other_header(header: str) -> None:
    with instrumented() as recording:
        client = answer(200, COMPLETION, **{header: HUGE, "openai-processing-ms": "12"})
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    attrs = attributes(recording.only_span())
    assert attrs["openai.request.id"] == "req_hostile"
    assert attrs["openai.processing.duration"] == pytest.approx(0.012)
    assert not any(key.startswith("openai.ratelimit.") for key in attrs), attrs


def test_a_count_beyond_the_int_limit_on_an_error_still_ends_the_span() -> None:
    body = {"error": {"message": "slow down", "type": "rate_limit_error", "code": None, "param": None}}
    with instrumented() as recording:
        client = answer(
            429, body, **{"x-ratelimit-remaining-requests": HUGE, "x-ratelimit-limit-tokens": HUGE}
        )
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    span = recording.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert attributes(span)["openai.request.id"] == "req_hostile"
    assert attributes(span)["error.type"] == "429"
    assert "gen_ai.client.operation.duration" in recording.metrics()


def test_a_mapping_that_raises_still_ends_the_span_with_its_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(completion: object) -> dict[str, Any]:
        raise RuntimeError("mapping bug")

    monkeypatch.setattr(kinds, "completion_attributes", broken)
    with instrumented() as recording:
        client = answer(200, COMPLETION)
        result = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
        )
    assert result.id == "chatcmpl-hostile"
    attrs = attributes(recording.only_span())
    assert attrs["openai.request.id"] == "req_hostile"
    assert "gen_ai.response.id" not in attrs
    assert [p.count for p in recording.metrics()["gen_ai.client.operation.duration"]] == [1]


def test_metrics_that_raise_still_end_the_span(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object, final: object) -> None:
        raise RuntimeError("metrics bug")

    monkeypatch.setattr(call_module.ChatCall, "_record_metrics", broken)
    with instrumented() as recording:
        answer(200, COMPLETION).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
        )
    assert attributes(recording.only_span())["gen_ai.response.id"] == "chatcmpl-hostile"


SURROGATE = "\ud800"


@contextmanager
def sdk_may_refuse(error: type[Exception]) -> Iterator[None]:
    """openai 3.x serialises the body strictly and raises; older SDKs escape and send. Either way is
    the app's outcome without chatspan too; the span must be valid and ended in both."""
    with suppress(error):
        yield


def test_lone_surrogates_from_the_server_are_repaired_not_exported() -> None:
    body = dict(
        COMPLETION,
        id=f"chatcmpl-{SURROGATE}",
        model=f"gpt-{SURROGATE}",
        system_fingerprint=f"fp_{SURROGATE}",
        service_tier=f"default{SURROGATE}",
    )
    body["choices"] = [dict(COMPLETION["choices"][0], finish_reason=f"stop{SURROGATE}")]
    # json.dumps writes the lone surrogate as the escape `\ud800`, which json.loads turns back into one.
    with instrumented() as recording:
        client = answer(200, body)
        result = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
        )
    assert result.id == f"chatcmpl-{SURROGATE}", "the app gets the value untouched"
    attrs = attributes(recording.only_span())
    assert attrs["gen_ai.response.id"] == "chatcmpl-\ufffd"
    assert attrs["gen_ai.response.model"] == "gpt-\ufffd"
    assert attrs["openai.response.system_fingerprint"] == "fp_\ufffd"
    assert attrs["openai.response.service_tier"] == "default\ufffd"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop\ufffd",)
    points = recording.metrics()["gen_ai.client.operation.duration"]
    assert [dict(p.attributes)["gen_ai.response.model"] for p in points] == ["gpt-\ufffd"]


def test_lone_surrogates_in_the_request_are_repaired(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    with instrumented() as recording, sdk_may_refuse(UnicodeEncodeError):
        answer(200, COMPLETION).chat.completions.create(
            model=f"gpt-4o-mini{SURROGATE}",
            messages=[{"role": "user", "content": f"hello {SURROGATE}"}],
            metadata={f"team{SURROGATE}": f"search{SURROGATE}"},
            stop=[f"end{SURROGATE}"],
            user=f"user{SURROGATE}",
        )
    span = recording.only_span()
    assert span.name == "chat gpt-4o-mini\ufffd"
    attrs = attributes(span)
    assert attrs["openai.request.metadata.team\ufffd"] == "search\ufffd"
    assert attrs["gen_ai.request.stop_sequences"] == ("end\ufffd",)
    assert attrs["user.id"] == "user\ufffd"
    assert "hello \ufffd" in str(attrs["gen_ai.input.messages"])


def test_negative_and_oversized_counts_are_dropped() -> None:
    body = dict(
        COMPLETION,
        created=2**63,
        usage={
            "prompt_tokens": -3,
            "completion_tokens": 2**64,
            "total_tokens": -1,
            "prompt_tokens_details": {"cached_tokens": -1},
            "completion_tokens_details": {"reasoning_tokens": -7},
        },
    )
    with instrumented() as recording:
        answer(200, body, **{"x-ratelimit-remaining-tokens": "-5"}).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], max_tokens=-1, n=-2
        )
    attrs = attributes(recording.only_span())
    for key in (
        "openai.response.created",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.reasoning.output_tokens",
        "openai.ratelimit.tokens.remaining",
        "gen_ai.request.max_tokens",
        "gen_ai.request.choice.count",
    ):
        assert key not in attrs, key
    assert "gen_ai.client.token.usage" not in recording.metrics()


def test_durations_that_overflow_are_dropped() -> None:
    with instrumented() as recording:
        answer(
            200,
            COMPLETION,
            **{
                "openai-processing-ms": HUGE,
                "x-ratelimit-reset-requests": HUGE + "s",
                "x-envoy-upstream-service-time": "nan",
            },
        ).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    attrs = attributes(recording.only_span())
    for key in ("openai.processing.duration", "openai.ratelimit.requests.reset", "openai.upstream.duration"):
        assert key not in attrs, key
    assert "openai.processing.duration" not in recording.metrics()


def test_non_finite_request_floats_are_dropped() -> None:
    with instrumented() as recording, sdk_may_refuse(ValueError):
        answer(200, COMPLETION).chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "x"}],
            temperature=float("nan"),
            top_p=10**400,
        )
    attrs = attributes(recording.only_span())
    assert "gen_ai.request.temperature" not in attrs
    assert "gen_ai.request.top_p" not in attrs


@pytest.mark.parametrize("form", ["raw", "streaming"])
def test_a_body_the_sdk_cannot_parse_is_an_error_span(form: str) -> None:
    with instrumented() as recording:
        client = answer(200, b'{"id": "chatcmpl-x", "choices": [')
        with pytest.raises(ValueError):
            if form == "raw":
                client.chat.completions.with_raw_response.create(model="m", messages=[]).parse()
            else:
                with client.chat.completions.with_streaming_response.create(
                    model="m", messages=[]
                ) as response:
                    response.parse()
    span = recording.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert attributes(span)["openai.request.id"] == "req_hostile"
