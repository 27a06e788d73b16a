"""The pure parts: request validation, deterministic answers, schema samples, stream chunks."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatspan.devserver.chunks import completion_chunks
from chatspan.devserver.completions import (
    build_completion,
    count_tokens,
    prompt_tokens,
    resolve_model,
    response_service_tier,
    split_pieces,
)
from chatspan.devserver.errors import ApiError
from chatspan.devserver.samples import sample_value
from chatspan.devserver.validation import ChatRequest, parse_body, read_chat_request

USER: Any = [
    {"role": "user", "content": "one two three four five six seven eight nine ten eleven twelve thirteen"}
]


def _request(**fields: Any) -> ChatRequest:
    return read_chat_request({"model": "gpt-4o-mini", "messages": USER, **fields})


def _error(body: dict[str, Any]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        read_chat_request(body)
    return caught.value


@pytest.mark.parametrize(
    ("body", "param", "code", "message"),
    [
        ({"messages": USER}, None, None, "you must provide a model parameter"),
        ({"model": "m"}, "messages", "missing_required_parameter", "Missing required parameter: 'messages'."),
        ({"model": "m", "messages": []}, "messages", "empty_array", "Invalid 'messages': empty array."),
        ({"model": "m", "messages": USER, "n": 0}, "n", "integer_below_min_value", "Expected a value >= 1"),
        (
            {"model": "m", "messages": USER, "n": 129},
            "n",
            "integer_above_max_value",
            "Expected a value <= 128",
        ),
        ({"model": "m", "messages": USER, "n": "2"}, "n", "invalid_type", "expected an integer"),
        (
            {"model": "m", "messages": USER, "metadata": {"a": "b"}},
            "metadata",
            None,
            "only allowed when 'store'",
        ),
        (
            {"model": "m", "messages": USER, "store": True, "metadata": {str(i): "v" for i in range(17)}},
            "metadata",
            "object_above_max_properties",
            "at most 16 properties",
        ),
        (
            {"model": "m", "messages": USER, "store": True, "metadata": {"k": "v" * 513}},
            "metadata.k",
            "string_above_max_length",
            "maximum length 512",
        ),
        (
            {"model": "m", "messages": [{"content": "x"}]},
            "messages[0].role",
            "missing_required_parameter",
            "role",
        ),
        (
            {"model": "m", "messages": [{"role": "tool", "content": "x"}]},
            "messages[0].tool_call_id",
            None,
            "tool",
        ),
        (
            {"model": "m", "messages": USER, "tool_choice": "auto"},
            "tool_choice",
            None,
            "only allowed when 'tools'",
        ),
        (
            {"model": "m", "messages": USER, "stop": ["a"] * 5},
            "stop",
            "array_above_max_length",
            "maximum length 4",
        ),
        ({"model": "m", "messages": USER, "max_tokens": 0}, "max_tokens", "integer_below_min_value", ">= 1"),
        ({"model": "m", "messages": USER, "top_p": 1.5}, "top_p", "decimal_above_max_value", "<= 1"),
        (
            {"model": "m", "messages": USER, "response_format": {"type": "json_schema"}},
            "response_format.json_schema",
            "missing_required_parameter",
            "Missing",
        ),
    ],
)
def test_invalid_requests(body: dict[str, Any], param: str | None, code: str | None, message: str) -> None:
    error = _error(body)
    assert (error.status, error.type, error.param) == (400, "invalid_request_error", param)
    if code is not None:
        assert error.code == code
    assert message in error.message


def test_metadata_message_is_openais() -> None:
    error = _error({"model": "m", "messages": USER, "metadata": {"a": "b"}})
    assert error.message == "The 'metadata' parameter is only allowed when 'store' is enabled."


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b'"x"', b"\xff"])
def test_unparseable_bodies(raw: bytes) -> None:
    with pytest.raises(ApiError, match="We could not parse the JSON body"):
        parse_body(raw)


def test_answer_is_deterministic() -> None:
    first, second = build_completion(_request()), build_completion(_request())
    assert first.id != second.id
    assert first.response()["choices"] == second.response()["choices"]
    assert first.choices[0].text == "You said: one two three four five six seven eight nine ten eleven twelve"


def test_stop_and_length() -> None:
    stopped = build_completion(_request(stop=["three", "two"])).choices[0]
    assert (stopped.text, stopped.finish_reason) == ("You said: one ", "stop")
    cut = build_completion(_request(max_tokens=3)).choices[0]
    assert cut.finish_reason == "length"
    assert cut.completion_tokens == 3
    assert cut.text == "You said:"  # "You" is 1 token, " said:" 2
    tiny = build_completion(_request(max_completion_tokens=1)).choices[0]
    assert (tiny.text, tiny.completion_tokens) == ("You", 1)


def test_reasoning_tokens_stay_within_the_budget() -> None:
    completion = build_completion(read_chat_request({"model": "gpt-5", "messages": USER, "max_tokens": 20}))
    usage = completion.usage()
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 10
    assert usage["completion_tokens"] <= 20
    assert completion.choices[0].finish_reason == "length"


def test_forced_tool_and_tool_choice_none() -> None:
    tools = [
        {"type": "function", "function": {"name": "first"}},
        {"type": "function", "function": {"name": "second", "parameters": {"type": "object"}}},
    ]
    forced = build_completion(
        _request(tools=tools, tool_choice={"type": "function", "function": {"name": "second"}})
    )
    call = forced.choices[0].tool_calls[0]
    assert (call.name, call.arguments) == ("second", "{}")
    assert build_completion(_request(tools=tools)).choices[0].tool_calls[0].name == "first"
    assert build_completion(_request(tools=tools, tool_choice="none")).choices[0].tool_calls == ()
    with pytest.raises(ApiError, match="not among"):
        _request(tools=tools, tool_choice={"type": "function", "function": {"name": "third"}})


def test_refusal_wins_over_tools_and_json() -> None:
    request = read_chat_request(
        {
            "model": "m",
            "messages": [{"role": "user", "content": "Refuse, please"}],
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "response_format": {"type": "json_object"},
        }
    )
    choice = build_completion(request).choices[0]
    assert choice.is_refusal and choice.tool_calls == ()
    assert choice.message()["content"] is None and choice.message()["refusal"]
    assert (
        not build_completion(_request(messages=[{"role": "user", "content": "refused"}]))
        .choices[0]
        .is_refusal
    )


def test_usage_counts_characters() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "abcd" * 5},
        {"role": "user", "content": [{"type": "text", "text": "xyz"}]},
    ]
    assert prompt_tokens(messages) == 6  # 23 characters
    assert (count_tokens(""), count_tokens("a"), count_tokens("abcde")) == (0, 1, 2)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
        ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
        ("gpt-3.5-turbo", "gpt-3.5-turbo-0125"),
        ("gpt-4-0613", "gpt-4-0613"),
        ("my-model", "my-model-2024-08-06"),
        ("ft:gpt-4o-mini:org::abc", "ft:gpt-4o-mini:org::abc"),
    ],
)
def test_resolve_model(model: str, expected: str) -> None:
    assert resolve_model(model) == expected


@pytest.mark.parametrize(
    ("requested", "served"), [(None, "default"), ("auto", "default"), ("flex", "flex"), ("fast", "priority")]
)
def test_service_tier(requested: str | None, served: str) -> None:
    assert response_service_tier(requested) == served


@given(st.text())
def test_pieces_join_back(text: str) -> None:
    assert "".join(split_pieces(text)) == text


SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {"a": {"type": "string", "minLength": 40}}, "required": ["a"]},
    {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 10, "maximum": 12}},
        "required": ["n"],
    },
    {"type": "object", "properties": {"x": {"type": "number", "exclusiveMaximum": 1}}, "required": ["x"]},
    {"type": "array", "items": {"type": "boolean"}, "minItems": 3},
    {"anyOf": [{"type": "null"}, {"type": "string", "format": "date-time"}]},
    {"type": ["null", "integer"]},
    {"const": "fixed"},
    {"enum": ["b", "a"]},
    {
        "type": "object",
        "properties": {
            "item": {"$ref": "#/$defs/Item"},
            "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
        },
        "required": ["item", "items"],
        "$defs": {
            "Item": {
                "type": "object",
                "properties": {"id": {"type": "string", "maxLength": 3}, "email": {"type": "string"}},
                "required": ["id", "email"],
                "additionalProperties": False,
            }
        },
    },
    {"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}]},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_samples_are_valid(schema: dict[str, Any]) -> None:
    value = sample_value(schema, text="some words")
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(value)


def test_samples_read_like_the_property() -> None:
    schema = {
        "type": "object",
        "properties": {
            "homeCity": {"type": "string"},
            "user_email": {"type": "string"},
            "query": {"type": "string"},
        },
        "required": ["homeCity", "user_email", "query"],
    }
    assert sample_value(schema, text="find me") == {
        "homeCity": "Paris",
        "user_email": "ada@example.com",
        "query": "find me",
    }


def test_chunks_follow_the_completion() -> None:
    completion = build_completion(_request(n=2, logprobs=True, top_logprobs=2))
    chunks = list(completion_chunks(completion, include_usage=True, include_obfuscation=False))
    assert all("obfuscation" not in chunk for chunk in chunks)
    for index, choice in enumerate(completion.response()["choices"]):
        mine = [
            chunk["choices"][0]
            for chunk in chunks
            if chunk["choices"] and chunk["choices"][0]["index"] == index
        ]
        assert "".join(c["delta"].get("content") or "" for c in mine) == choice["message"]["content"]
        streamed = [entry for c in mine if c["logprobs"] for entry in c["logprobs"]["content"]]
        assert streamed == choice["logprobs"]["content"]
        assert len(streamed[0]["top_logprobs"]) == 2
    assert chunks[-1]["usage"] == completion.usage()
    assert all(chunk["usage"] is None for chunk in chunks[:-1])
    json.dumps(chunks)
