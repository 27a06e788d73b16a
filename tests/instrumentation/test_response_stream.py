"""The Responses event accumulator keeps the latest Response an event carried, whatever else arrives."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from chatspan.instrumentation.response_stream import ResponseEventAccumulator


def response(**fields: Any) -> SimpleNamespace:
    base: dict[str, Any] = {
        "id": "resp_1",
        "model": "m",
        "status": "in_progress",
        "created_at": 1_700_000_000,
        "output": [],
        "usage": None,
        "error": None,
        "incomplete_details": None,
        "service_tier": None,
    }
    return SimpleNamespace(**{**base, **fields})


@pytest.mark.parametrize("garbage", ["x", 5, [1], None])
def test_a_terminal_event_without_a_response_object_keeps_the_earlier_one(garbage: object) -> None:
    accumulator = ResponseEventAccumulator(False)
    accumulator.add(SimpleNamespace(type="response.created", response=response()))
    accumulator.add(SimpleNamespace(type="response.completed", response=garbage))
    attrs = accumulator.attributes()
    assert attrs["gen_ai.response.id"] == "resp_1"
    assert attrs["openai.response.status"] == "in_progress"


def test_the_latest_response_wins_and_an_error_event_marks_the_call() -> None:
    accumulator = ResponseEventAccumulator(False)
    accumulator.add(SimpleNamespace(type="response.created", response=response()))
    accumulator.add(SimpleNamespace(type="response.output_text.delta", delta="hi"))
    accumulator.add(SimpleNamespace(type="error", code="server_error", message="boom"))
    accumulator.add(SimpleNamespace(type="response.completed", response=response(status="completed")))
    attrs = accumulator.attributes()
    assert attrs["openai.response.status"] == "completed"
    assert attrs["error.type"] == "server_error"
    assert accumulator.is_output(SimpleNamespace(type="response.output_text.delta"))
    assert not accumulator.is_output(SimpleNamespace(type="response.created"))
