"""`POST /v1/responses` refuses what OpenAI refuses, one case per check, with its `param` and `code`;
and accepts what it accepts without an `input` (a stored prompt, a conversation)."""

from __future__ import annotations

from typing import Any

import pytest

from chatspan.devserver import DevServer
from chatspan.devserver.responses_request import read_responses_request
from tests.devserver.rawhttp import request, responses

BODY: dict[str, Any] = {"model": "gpt-4o-mini", "input": "hi"}
INPUT = "Tell me about the tallest mountains in the Alps"
TOOL = {"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}
MISSING = "missing_required_parameter"


def _item(**fields: Any) -> dict[str, Any]:
    return {**BODY, "input": [fields]}


CASES: dict[str, tuple[dict[str, Any], str | None, str | None]] = {
    "model type": ({**BODY, "model": 4}, "model", "invalid_type"),
    "item not an object": ({**BODY, "input": ["hi"]}, "input[0]", "invalid_type"),
    "item type": (_item(type="telepathy"), "input[0].type", "invalid_value"),
    "message role": (_item(role="robot", content="hi"), "input[0].role", "invalid_value"),
    "message content missing": (_item(role="user"), "input[0].content", MISSING),
    "message content type": (_item(role="user", content=3), "input[0].content", "invalid_type"),
    "output without call_id": (_item(type="function_call_output", output="x"), "input[0].call_id", MISSING),
    "output without output": (_item(type="function_call_output", call_id="c"), "input[0].output", MISSING),
    "call without name": (_item(type="function_call", call_id="c", arguments="{}"), "input[0].name", MISSING),
    "tools type": ({**BODY, "tools": {}}, "tools", "invalid_type"),
    "tool type": ({**BODY, "tools": ["f"]}, "tools[0]", "invalid_type"),
    "tool without name": ({**BODY, "tools": [{"type": "function"}]}, "tools[0].name", MISSING),
    "tool choice unknown": (
        {**BODY, "tools": [TOOL], "tool_choice": {"type": "function", "name": "g"}},
        "tool_choice",
        None,
    ),
    "tool choice value": ({**BODY, "tool_choice": "sometimes"}, "tool_choice", "invalid_value"),
    "text type": ({**BODY, "text": "json"}, "text", "invalid_type"),
    "text format type": ({**BODY, "text": {"format": "json"}}, "text.format", "invalid_type"),
    "text format kind": ({**BODY, "text": {"format": {"type": "yaml"}}}, "text.format.type", "invalid_value"),
    "json schema name": (
        {**BODY, "text": {"format": {"type": "json_schema", "schema": {}}}},
        "text.format.name",
        MISSING,
    ),
    "json schema schema": (
        {**BODY, "text": {"format": {"type": "json_schema", "name": "n"}}},
        "text.format.schema",
        MISSING,
    ),
    "reasoning type": ({**BODY, "model": "o3", "reasoning": "hard"}, "reasoning", "invalid_type"),
    "reasoning effort": (
        {**BODY, "model": "o3", "reasoning": {"effort": "max"}},
        "reasoning.effort",
        "invalid_value",
    ),
    "reasoning summary": (
        {**BODY, "model": "o3", "reasoning": {"summary": "long"}},
        "reasoning.summary",
        "invalid_value",
    ),
    "stream type": ({**BODY, "stream": 1}, "stream", "invalid_type"),
    "background type": ({**BODY, "background": "yes"}, "background", "invalid_type"),
    "temperature type": ({**BODY, "temperature": "hot"}, "temperature", "invalid_type"),
    "temperature below": ({**BODY, "temperature": -1}, "temperature", "decimal_below_min_value"),
    "top_p above": ({**BODY, "top_p": 1.5}, "top_p", "decimal_above_max_value"),
    "max_output_tokens type": ({**BODY, "max_output_tokens": "8"}, "max_output_tokens", "invalid_type"),
    "max_output_tokens above": (
        {**BODY, "max_output_tokens": 10**6},
        "max_output_tokens",
        "integer_above_max_value",
    ),
    "instructions type": ({**BODY, "instructions": ["x"]}, "instructions", "invalid_type"),
    "service_tier type": ({**BODY, "service_tier": 1}, "service_tier", "invalid_type"),
    "previous type": ({**BODY, "previous_response_id": 1}, "previous_response_id", "invalid_type"),
    "conversation type": ({**BODY, "conversation": 7}, "conversation", "invalid_type"),
    "previous and conversation": (
        {**BODY, "previous_response_id": "resp_1", "conversation": "conv_1"},
        None,
        "mutually_exclusive_parameters",
    ),
    "background without store": ({**BODY, "background": True, "store": False}, "background", None),
    "metadata type": ({**BODY, "metadata": ["a"]}, "metadata", "invalid_type"),
    "metadata too big": (
        {**BODY, "metadata": {f"k{i}": "v" for i in range(17)}},
        "metadata",
        "object_above_max_properties",
    ),
    "truncation": ({**BODY, "truncation": "middle"}, "truncation", "invalid_value"),
}


@pytest.mark.parametrize(
    ("body", "message", "param", "code"),
    [
        ({"input": INPUT}, "Missing required parameter: 'model'.", "model", "missing_required_parameter"),
        (
            {"model": "gpt-4o-mini"},
            "Missing required parameter: 'input'.",
            "input",
            "missing_required_parameter",
        ),
        (
            {**BODY, "input": 42},
            "Invalid type for 'input': expected one of a string or array of input items, "
            "but got an integer instead.",
            "input",
            "invalid_type",
        ),
        (
            {**BODY, "input": {"role": "user"}},
            "Invalid type for 'input': expected one of a string or array of input items, "
            "but got an object instead.",
            "input",
            "invalid_type",
        ),
        (
            {**BODY, "max_output_tokens": 8},
            "Invalid 'max_output_tokens': integer below minimum value. "
            "Expected a value >= 16, but got 8 instead.",
            "max_output_tokens",
            "integer_below_min_value",
        ),
        (
            {**BODY, "input": [{"content": "hi"}]},
            "Missing required parameter: 'input[0].role'.",
            "input[0].role",
            "missing_required_parameter",
        ),
        (
            {**BODY, "store": "yes"},
            "Invalid type for 'store': expected a boolean, but got a string instead.",
            "store",
            "invalid_type",
        ),
    ],
)
def test_validation_errors_in_openai_words(
    server: DevServer, body: dict[str, Any], message: str, param: str, code: str
) -> None:
    answer = responses(server, body)
    assert answer.status == 400
    assert answer.json()["error"] == {
        "message": message,
        "type": "invalid_request_error",
        "param": param,
        "code": code,
    }


@pytest.mark.parametrize("kind", sorted(CASES))
def test_refused_like_openai(server: DevServer, kind: str) -> None:
    body, param, code = CASES[kind]
    answer = responses(server, body)
    assert answer.status == 400, answer.body
    error = answer.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)
    assert error["message"]


def test_wording_of_the_common_ones(server: DevServer) -> None:
    messages = {
        kind: responses(server, CASES[kind][0]).json()["error"]["message"]
        for kind in ("message role", "tool choice value", "previous and conversation", "temperature below")
    }
    assert messages == {
        "message role": 'Invalid value: "robot". Supported values are: '
        "'user', 'assistant', 'system', and 'developer'.",
        "tool choice value": 'Invalid value: "sometimes". Supported values are: '
        "'none', 'auto', and 'required'.",
        "previous and conversation": "Mutually exclusive parameters: Ensure you are only providing one of: "
        "'previous_response_id' or 'conversation'.",
        "temperature below": "Invalid 'temperature': decimal below minimum value. Expected a value >= 0, "
        "but got -1 instead.",
    }


@pytest.mark.parametrize(
    "body",
    [
        {"model": "gpt-4o-mini", "prompt": {"id": "pmpt_1"}},
        {"model": "gpt-4o-mini", "conversation": {"id": "conv_1"}},
        {"model": "gpt-4o-mini", "input": []} | {"conversation": "conv_1"},
    ],
)
def test_input_may_be_left_out_with_a_prompt_or_conversation(server: DevServer, body: dict[str, Any]) -> None:
    answer = responses(server, body)
    assert answer.status == 200, answer.body
    assert answer.json()["output"][0]["content"][0]["text"] == "Hello! How can I help you today?"


def test_a_string_input_is_one_user_message() -> None:
    read = read_responses_request(BODY)
    assert read.input_items == [{"type": "message", "role": "user", "content": "hi"}]
    assert (read.store, read.background, read.stream, read.truncation) == (True, False, False, "disabled")


def test_retrieve_stream_parameter_is_checked(server: DevServer) -> None:
    created = responses(server, BODY).json()
    answer = request(server, "GET", f"/v1/responses/{created['id']}?stream=maybe")
    assert answer.status == 400 and answer.json()["error"]["param"] == "stream"
    assert request(server, "GET", f"/v1/responses/{created['id']}?stream=false").json() == created


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/v1/responses"),
        ("GET", "/v1/responses/"),
        ("POST", "/v1/responses/resp_1"),
        ("GET", "/v1/responses/resp_1/cancel"),
        ("POST", "/v1/responses/resp_1/input_items"),
        ("GET", "/v1/responses/resp_1/other"),
    ],
)
def test_unserved_responses_paths_are_404(server: DevServer, method: str, path: str) -> None:
    answer = request(server, method, path, BODY)
    assert answer.status == 404
    assert answer.json()["error"]["message"] == f"Invalid URL ({method} {path})"


def test_background_seconds_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="background_seconds"):
        DevServer(background_seconds=-1)
