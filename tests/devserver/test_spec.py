"""Every kind of response the devserver sends, validated against OpenAI's OpenAPI spec.

Raw HTTP, so what is validated is exactly what went over the wire. Each response is also checked
for keys the spec does not declare, which `additionalProperties`-open schemas would let through.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from chatspan.devserver import DevServer
from chatspan.devserver.chunks import completion_chunks
from chatspan.devserver.completions import build_completion
from chatspan.devserver.validation import read_chat_request
from tests.devserver.rawhttp import chat, request
from tests.support.openapi import undeclared_properties, validate

MESSAGES = [{"role": "user", "content": "What is the weather like in Paris today?"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["location", "unit"],
        },
    },
}
WEATHER_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "weather",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}},
            "required": ["city", "celsius"],
            "additionalProperties": False,
        },
    },
}

REQUESTS: dict[str, dict[str, Any]] = {
    "plain": {},
    "n3": {"n": 3},
    "tools": {"tools": [WEATHER_TOOL]},
    "tool-result": {
        "tools": [WEATHER_TOOL],
        "messages": [
            *MESSAGES,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18 degrees and sunny"},
        ],
    },
    "refusal": {"messages": [{"role": "user", "content": "Please refuse this one."}]},
    "json-object": {"response_format": {"type": "json_object"}},
    "json-schema": {"response_format": WEATHER_SCHEMA},
    "length": {"max_tokens": 3},
    "stop": {"stop": ["weather"]},
    "logprobs": {"logprobs": True, "top_logprobs": 2},
    "refusal-logprobs": {"logprobs": True, "messages": [{"role": "user", "content": "refuse"}]},
    "reasoning": {"model": "o3-mini", "max_completion_tokens": 40},
    "store": {"store": True, "metadata": {"team": "chatspan"}},
    "flex": {"service_tier": "flex"},
}


def _body(overrides: dict[str, Any]) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": MESSAGES, **overrides}


def _check(schema_name: str, instance: object) -> None:
    validate(schema_name, instance)
    assert undeclared_properties(schema_name, instance) == []


@pytest.mark.parametrize("kind", sorted(REQUESTS))
def test_completion_matches_spec(server: DevServer, kind: str) -> None:
    response = chat(server, _body(REQUESTS[kind]))
    assert response.status == 200, response.body
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.body)
    _check("CreateChatCompletionResponse", response.json())


@pytest.mark.parametrize("kind", sorted(REQUESTS))
@pytest.mark.parametrize("include_usage", [True, False])
def test_every_chunk_matches_spec(server: DevServer, kind: str, include_usage: bool) -> None:
    body = _body({**REQUESTS[kind], "stream": True, "stream_options": {"include_usage": include_usage}})
    response = chat(server, body)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.events()[-1] == "[DONE]"
    chunks = response.chunks()
    assert len(chunks) >= 3
    for chunk in chunks:
        _check("CreateChatCompletionStreamResponse", chunk)
    assert ("usage" in chunks[-1] and chunks[-1]["choices"] == []) is include_usage


ERRORS: dict[str, tuple[bytes | dict[str, Any], int]] = {
    "malformed-json": (b'{"model": "gpt-4o-mini", "messages": [', 400),
    "not-an-object": (b"[1, 2]", 400),
    "missing-model": ({"messages": MESSAGES}, 400),
    "missing-messages": ({"model": "gpt-4o-mini"}, 400),
    "empty-messages": ({"model": "gpt-4o-mini", "messages": []}, 400),
    "n-zero": (_body({"n": 0}), 400),
    "n-too-big": (_body({"n": 129}), 400),
    "metadata-without-store": (_body({"metadata": {"a": "b"}}), 400),
    "too-much-metadata": (_body({"store": True, "metadata": {f"k{i}": "v" for i in range(17)}}), 400),
    "bad-role": (_body({"messages": [{"role": "robot", "content": "hi"}]}), 400),
    "stream-options-without-stream": (_body({"stream_options": {"include_usage": True}}), 400),
    "temperature": (_body({"temperature": 3}), 400),
}


@pytest.mark.parametrize("kind", sorted(ERRORS))
def test_error_body_matches_spec(server: DevServer, kind: str) -> None:
    body, status = ERRORS[kind]
    response = chat(server, body)
    assert response.status == status
    _check("ErrorResponse", response.json())
    assert response.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("POST", "/v1/nothing", {}, 404),
        ("GET", "/v1/chat/completions/x/y", {}, 404),
        ("POST", "/v1/chat/completions", {"x-chatspan-fault": "500"}, 500),
        ("POST", "/v1/chat/completions", {"x-chatspan-fault": "503"}, 503),
        ("POST", "/v1/chat/completions", {"x-chatspan-fault": "429"}, 429),
        ("POST", "/v1/chat/completions", {"x-chatspan-fault": "bogus"}, 400),
    ],
)
def test_other_errors_match_spec(
    server: DevServer, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    response = request(server, method, path, _body({}), headers)
    assert response.status == status
    _check("ErrorResponse", response.json())


def test_auth_errors_match_spec() -> None:
    with DevServer(api_key="sk-right-key-1234") as server:
        wrong = chat(server, _body({}), {"authorization": "Bearer sk-wrong-key-9999"})
        missing = chat(server, _body({}), {"authorization": ""})
    assert (wrong.status, missing.status) == (401, 401)
    _check("ErrorResponse", wrong.json())
    _check("ErrorResponse", missing.json())
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    assert "sk-wrong-key-9999" not in wrong.json()["error"]["message"]  # masked as OpenAI masks it


def test_stored_record_matches_spec(server: DevServer) -> None:
    response = chat(server, _body(REQUESTS["store"])).json()
    record = server.stored[response["id"]]
    _check("CreateChatCompletionResponse", record.completion)
    validate("CreateChatCompletionResponse", record.as_object())
    validate(
        "ChatCompletionList",
        {
            "object": "list",
            "data": [record.as_object()],
            "first_id": record.id,
            "last_id": record.id,
            "has_more": False,
        },
    )


# The validator must be strict: a valid response, broken in one place, fails.
def _originals() -> tuple[dict[str, Any], dict[str, Any]]:
    """A valid response and its last (finish_reason) chunk, built without a server."""
    completion = build_completion(read_chat_request(_body({})))
    chunks = list(completion_chunks(completion, include_usage=False, include_obfuscation=True))
    return completion.response(), chunks[-1]


def test_originals_are_valid() -> None:
    good, chunk = _originals()
    _check("CreateChatCompletionResponse", good)
    _check("CreateChatCompletionStreamResponse", chunk)


def _broken_responses() -> list[Any]:
    good, chunk = _originals()
    cases: list[Any] = []

    def broken(name: str, schema_name: str, source: dict[str, Any], change: Any) -> None:
        instance = copy.deepcopy(source)
        change(instance)
        cases.append(pytest.param(schema_name, instance, id=name))

    response, stream = "CreateChatCompletionResponse", "CreateChatCompletionStreamResponse"
    broken("missing choices", response, good, lambda r: r.pop("choices"))
    broken("wrong object", response, good, lambda r: r.update(object="chat.completion.chunk"))
    broken("created as string", response, good, lambda r: r.update(created="now"))
    broken("null finish_reason", response, good, lambda r: r["choices"][0].update(finish_reason=None))
    broken("bad finish_reason", response, good, lambda r: r["choices"][0].update(finish_reason="done"))
    broken("missing logprobs", response, good, lambda r: r["choices"][0].pop("logprobs"))
    broken("missing refusal", response, good, lambda r: r["choices"][0]["message"].pop("refusal"))
    broken("bad role", response, good, lambda r: r["choices"][0]["message"].update(role="user"))
    broken("usage tokens as string", response, good, lambda r: r["usage"].update(prompt_tokens="6"))
    broken("missing total_tokens", response, good, lambda r: r["usage"].pop("total_tokens"))
    broken("bad service_tier", response, good, lambda r: r.update(service_tier="gold"))
    broken("chunk wrong object", stream, chunk, lambda c: c.update(object="chat.completion"))
    broken("chunk bad finish_reason", stream, chunk, lambda c: c["choices"][0].update(finish_reason="end"))
    broken("chunk missing delta", stream, chunk, lambda c: c["choices"][0].pop("delta"))
    broken("chunk usage as list", stream, chunk, lambda c: c.update(usage=[]))
    broken("chunk logprobs as list", stream, chunk, lambda c: c["choices"][0].update(logprobs=[]))
    broken(
        "error without message", "ErrorResponse", {"error": {"type": "x", "param": None, "code": None}}, id
    )
    return cases


@pytest.mark.parametrize(("schema_name", "instance"), _broken_responses())
def test_broken_responses_fail_validation(schema_name: str, instance: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        validate(schema_name, instance)


def test_nullable_fields_accept_null() -> None:
    """`nullable: true` in the spec means null is allowed: the chunk's finish_reason, logprobs, usage."""
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "usage": None,
        "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None, "logprobs": None}],
    }
    validate("CreateChatCompletionStreamResponse", chunk)


def test_undeclared_properties_are_found() -> None:
    with DevServer() as server:
        good = chat(server, _body({})).json()
    good["usage"]["prompt_token_details"] = {}
    good["choices"][0]["message"]["reasoning"] = "hm"
    validate("CreateChatCompletionResponse", good)  # open schemas let these through ...
    assert undeclared_properties("CreateChatCompletionResponse", good) == [  # ... this does not
        "$.choices[0].message.reasoning",
        "$.usage.prompt_token_details",
    ]
