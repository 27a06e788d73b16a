"""What every chat span against the devserver must carry, shared by the instrumentation tests."""

from __future__ import annotations

import re
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.recording import attributes

REQUEST_ID = re.compile(r"^req_[0-9a-f]{32}$")
MODEL = "gpt-4o-mini"
MESSAGES: list[Any] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Tell me about the harbour lights"},
]


def assert_header_attributes(span: ReadableSpan) -> None:
    """The attributes only the HTTP response tells, with their exact types."""
    attrs = attributes(span)
    assert REQUEST_ID.match(attrs["openai.request.id"]), attrs.get("openai.request.id")
    for name in ("openai.processing.duration", "openai.upstream.duration"):
        assert type(attrs[name]) is float and attrs[name] >= 0, name
    assert attrs["openai.upstream.duration"] >= attrs["openai.processing.duration"]
    for name in (
        "openai.ratelimit.requests.limit",
        "openai.ratelimit.requests.remaining",
        "openai.ratelimit.tokens.limit",
        "openai.ratelimit.tokens.remaining",
    ):
        assert type(attrs[name]) is int and attrs[name] >= 0, name
    for name in ("openai.ratelimit.requests.reset", "openai.ratelimit.tokens.reset"):
        assert type(attrs[name]) is float and attrs[name] >= 0, name
    assert attrs["openai.ratelimit.requests.remaining"] < attrs["openai.ratelimit.requests.limit"]
    assert type(attrs["openai.retries"]) is int


def assert_chat_span(span: ReadableSpan, *, stream: bool, model: str = MODEL) -> dict[str, Any]:
    """A successful chat span: name, kind, request, response and header attributes."""
    attrs = attributes(span)
    assert span.name == f"chat {model}"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["openai.api.type"] == "chat_completions"
    assert attrs["chatspan.source"] == "live"
    assert attrs["gen_ai.request.model"] == model
    assert attrs["gen_ai.request.stream"] is stream
    assert attrs["server.address"] == "127.0.0.1"
    assert type(attrs["server.port"]) is int
    assert attrs["gen_ai.response.id"].startswith("chatcmpl-")
    assert attrs["gen_ai.response.model"].startswith(model)
    assert type(attrs["openai.response.created"]) is int
    assert attrs["gen_ai.response.finish_reasons"]
    assert_header_attributes(span)
    assert span.end_time is not None and span.start_time is not None
    assert "gen_ai.input.messages" not in attrs, "content is off by default"
    assert "gen_ai.output.messages" not in attrs
    assert "gen_ai.system_instructions" not in attrs
    return attrs


def assert_usage(attrs: dict[str, Any]) -> None:
    for name in (
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.reasoning.output_tokens",
    ):
        assert type(attrs[name]) is int, name
    assert attrs["gen_ai.usage.input_tokens"] > 0
    assert attrs["gen_ai.usage.output_tokens"] > 0


def assert_error_span(span: ReadableSpan, error_type: str) -> dict[str, Any]:
    attrs = attributes(span)
    assert span.status.status_code is StatusCode.ERROR
    assert attrs["error.type"] == error_type
    assert [event.name for event in span.events] == ["exception"]
    return attrs
