from __future__ import annotations

import json

from openai.types.chat import ChatCompletion

from chatspan.mapping.messages import input_message_attributes, output_message_attributes


def test_input_messages_follow_the_semconv_shape() -> None:
    attrs = input_message_attributes(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "No emoji."}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather?"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "rain"},
        ]
    )
    assert json.loads(str(attrs["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "Be brief."},
        {"type": "text", "content": "No emoji."},
    ]
    assert json.loads(str(attrs["gen_ai.input.messages"])) == [
        {
            "role": "user",
            "parts": [
                {"type": "text", "content": "Weather?"},
                {"type": "uri", "modality": "image", "uri": "https://x/y.png"},
            ],
        },
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "call_1", "name": "weather", "arguments": {"city": "Oslo"}}
            ],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "rain"}]},
    ]


def test_inline_image_bytes_stay_out() -> None:
    attrs = input_message_attributes(
        [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}],
            }
        ]
    )
    assert "AAAA" not in str(attrs["gen_ai.input.messages"])


def test_output_messages_with_tool_calls_and_refusals() -> None:
    completion = ChatCompletion.model_validate(
        {
            "id": "c",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_9",
                                "type": "function",
                                "function": {"name": "f", "arguments": "not json"},
                            }
                        ],
                    },
                },
                {
                    "index": 1,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": None, "refusal": "No."},
                },
            ],
        }
    )
    assert json.loads(str(output_message_attributes(completion.choices)["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "call_9", "name": "f", "arguments": "not json"}],
            "finish_reason": "tool_calls",
        },
        {"role": "assistant", "parts": [{"type": "refusal", "content": "No."}], "finish_reason": "stop"},
    ]


def test_nothing_to_say_sets_nothing() -> None:
    assert input_message_attributes(None) == {}
    assert input_message_attributes("hello") == {}
    assert output_message_attributes([]) == {}
