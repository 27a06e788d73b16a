"""A `Response` -> span attributes, read alike from the SDK's object, its JSON dict, or a partial object."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

from chatspan.mapping.responses import response_object_attributes

_BASE: dict[str, Any] = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1732636800.0,
    "status": "completed",
    "model": "gpt-4o-mini-2024-07-18",
    "service_tier": "default",
    "output": [],
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
    "incomplete_details": None,
    "error": None,
    "conversation": None,
    "usage": {
        "input_tokens": 24,
        "input_tokens_details": {"cached_tokens": 3, "cache_write_tokens": 2},
        "output_tokens": 11,
        "output_tokens_details": {"reasoning_tokens": 5},
        "total_tokens": 35,
    },
}

_COMPLETED = {
    "gen_ai.response.id": "resp_1",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "openai.response.service_tier": "default",
    "openai.response.created": 1732636800,
    "openai.response.status": "completed",
    "gen_ai.response.finish_reasons": ["stop"],
    "gen_ai.usage.input_tokens": 24,
    "gen_ai.usage.output_tokens": 11,
    "gen_ai.usage.cache_read.input_tokens": 3,
    "gen_ai.usage.cache_creation.input_tokens": 2,
    "gen_ai.usage.reasoning.output_tokens": 5,
}


def _body(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(_BASE)
    body.update(changes)
    return body


def _both(body: dict[str, Any]) -> list[Any]:
    """The body as JSON, and as the SDK's own object where this openai has the Responses API."""
    try:
        from openai.types.responses import Response
    except ImportError:
        return [body]
    return [body, Response.model_validate(body)]


def test_a_completed_response_reads_alike_from_its_object_and_its_dict() -> None:
    for response in _both(_body()):
        assert response_object_attributes(response) == _COMPLETED


def test_incomplete_failed_and_conversation_fields() -> None:
    incomplete = _body(status="incomplete", incomplete_details={"reason": "max_output_tokens"})
    failed = _body(status="failed", error={"code": "server_error", "message": "boom"})
    for response in _both(incomplete):
        assert response_object_attributes(response)["gen_ai.response.finish_reasons"] == ["length"]
    for response in _both(failed):
        attrs = response_object_attributes(response)
        assert attrs["gen_ai.response.finish_reasons"] == ["error"]
        assert attrs["error.type"] == "server_error"
        assert attrs["openai.response.error.message"] == "boom"
    assert (
        response_object_attributes(_body(conversation={"id": "conv_1"}))["gen_ai.conversation.id"] == "conv_1"
    )
    assert response_object_attributes(_body(conversation="conv_2"))["gen_ai.conversation.id"] == "conv_2"


def test_missing_fields_and_nested_details_are_left_out() -> None:
    # An object without most fields (as an older SDK's, or a compatible server's) and a dict whose
    # usage lacks its details: what is there is read, the rest left out, nothing raised.
    partial = SimpleNamespace(id="resp_2", status="completed", usage=SimpleNamespace(input_tokens=7))
    assert response_object_attributes(partial) == {
        "gen_ai.response.id": "resp_2",
        "openai.response.status": "completed",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 7,
    }
    bare_usage = _body(usage={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3})
    attrs = response_object_attributes(bare_usage)
    assert attrs["gen_ai.usage.input_tokens"] == 1 and "gen_ai.usage.cache_read.input_tokens" not in attrs
    assert (
        response_object_attributes(bare_usage, with_usage=False)
        .keys()
        .isdisjoint({"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"})
    )
