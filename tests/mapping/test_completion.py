from __future__ import annotations

from typing import Any

from openai.types.chat import ChatCompletion

from chatspan.mapping.completion import completion_attributes

BODY: dict[str, Any] = {
    "id": "chatcmpl-abc",
    "object": "chat.completion",
    "created": 1764000000,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "a"},
            "finish_reason": "stop",
            "logprobs": None,
        },
        {
            "index": 1,
            "message": {"role": "assistant", "content": "b"},
            "finish_reason": "length",
            "logprobs": None,
        },
    ],
    "usage": {
        "prompt_tokens": 11,
        "completion_tokens": 7,
        "total_tokens": 18,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 2},
    },
    "service_tier": "default",
    "system_fingerprint": "fp_44709d6fcb",
}

EXPECTED = {
    "gen_ai.response.id": "chatcmpl-abc",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "openai.response.created": 1764000000,
    "gen_ai.response.finish_reasons": ["stop", "length"],
    "gen_ai.usage.input_tokens": 11,
    "gen_ai.usage.output_tokens": 7,
    "gen_ai.usage.cache_read.input_tokens": 4,
    "gen_ai.usage.reasoning.output_tokens": 2,
    "openai.response.service_tier": "default",
    "openai.response.system_fingerprint": "fp_44709d6fcb",
}


def test_sdk_object_and_json_dict_map_alike() -> None:
    # Live responses are SDK objects; the backfill may map raw JSON: both must give the same span.
    assert completion_attributes(ChatCompletion.model_validate(BODY)) == EXPECTED
    assert completion_attributes(BODY) == EXPECTED


def test_created_is_an_int() -> None:
    assert type(completion_attributes(BODY)["openai.response.created"]) is int


def test_minimal_completion_from_a_compatible_server() -> None:
    # vLLM-style: no usage details, no service tier, no fingerprint.
    body = {"id": "x", "created": 1, "model": "m", "choices": [], "usage": {"prompt_tokens": 1}}
    assert completion_attributes(body) == {
        "gen_ai.response.id": "x",
        "gen_ai.response.model": "m",
        "openai.response.created": 1,
        "gen_ai.usage.input_tokens": 1,
    }


def test_garbage_maps_to_nothing() -> None:
    assert completion_attributes({"id": 5, "created": "yesterday", "choices": None, "usage": "lots"}) == {}
    assert completion_attributes(None) == {}


def test_integers_beyond_int64_are_left_out() -> None:
    # OTLP carries int64; one bigger value would make the exporter refuse the whole batch.
    attrs = completion_attributes({**BODY, "created": 2**64, "usage": {"prompt_tokens": -(2**63) - 1}})
    assert "openai.response.created" not in attrs
    assert "gen_ai.usage.input_tokens" not in attrs
