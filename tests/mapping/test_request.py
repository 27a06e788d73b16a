from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from chatspan.mapping.request import (
    metadata_attributes,
    opt_in_request_attributes,
    request_attributes,
    server_attributes,
    span_name,
)


def test_full_request_maps_every_parameter() -> None:
    attrs = request_attributes(
        {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "secret"}],
            "temperature": 0.2,
            "top_p": 1,
            "max_completion_tokens": 50,
            "seed": 7,
            "stop": ["\n", "END"],
            "frequency_penalty": 0.5,
            "presence_penalty": -0.5,
            "n": 2,
            "stream": True,
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
            "service_tier": "flex",
            "store": True,
            "metadata": {"team": "search", "env": "prod"},
        }
    )
    assert attrs == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "openai.api.type": "chat_completions",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 1.0,
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ["\n", "END"],
        "gen_ai.request.frequency_penalty": 0.5,
        "gen_ai.request.presence_penalty": -0.5,
        "gen_ai.request.choice.count": 2,
        "gen_ai.request.stream": True,
        "gen_ai.output.type": "json",
        "openai.request.service_tier": "flex",
        "openai.request.store": True,
        "openai.request.metadata.team": "search",
        "openai.request.metadata.env": "prod",
    }
    assert type(attrs["gen_ai.request.top_p"]) is float
    assert not any("secret" in str(value) for value in attrs.values())


def test_sdk_sentinels_and_none_read_as_absent() -> None:
    not_given: Any = openai.NOT_GIVEN
    attrs = request_attributes(
        {"model": "m", "temperature": not_given, "seed": None, "stop": not_given, "max_tokens": 9}
    )
    assert "gen_ai.request.temperature" not in attrs
    assert "gen_ai.request.seed" not in attrs
    assert attrs["gen_ai.request.max_tokens"] == 9
    assert attrs["gen_ai.request.stream"] is False


def test_wrong_types_are_left_out() -> None:
    attrs = request_attributes(
        {"model": 3, "temperature": "hot", "n": True, "stop": [1, 2], "store": "yes", "metadata": ["a"]}
    )
    assert set(attrs) == {
        "gen_ai.operation.name",
        "gen_ai.provider.name",
        "openai.api.type",
        "gen_ai.request.stream",
    }


@pytest.mark.parametrize(
    ("response_format", "expected"),
    [({"type": "text"}, "text"), ({"type": "json_object"}, "json"), ({"type": "other"}, None)],
)
def test_output_type(response_format: dict[str, str], expected: str | None) -> None:
    assert request_attributes({"response_format": response_format}).get("gen_ai.output.type") == expected


def test_parse_with_a_model_class_is_json() -> None:
    class Answer:
        pass

    assert request_attributes({"response_format": Answer})["gen_ai.output.type"] == "json"


def test_single_stop_string_becomes_a_list() -> None:
    assert request_attributes({"stop": "END"})["gen_ai.request.stop_sequences"] == ["END"]


def test_metadata_keeps_string_pairs_only() -> None:
    assert metadata_attributes({"a": "1", "b": 2}) == {"openai.request.metadata.a": "1"}


def test_server_attributes_default_ports() -> None:
    assert server_attributes("api.openai.com", None, "https") == {
        "server.address": "api.openai.com",
        "server.port": 443,
    }
    assert server_attributes("127.0.0.1", 8080, "http") == {
        "server.address": "127.0.0.1",
        "server.port": 8080,
    }
    assert server_attributes(None, None, None) == {}


def test_span_name() -> None:
    assert span_name("gpt-4o") == "chat gpt-4o"
    assert span_name(None) == "chat"


def test_opt_in_tools_and_user() -> None:
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    attrs = opt_in_request_attributes([tool], "user-1234")
    assert json.loads(str(attrs["gen_ai.tool.definitions"])) == [tool]
    assert attrs["user.id"] == "user-1234"
    assert opt_in_request_attributes(None, None) == {}
    assert opt_in_request_attributes([], "") == {}
