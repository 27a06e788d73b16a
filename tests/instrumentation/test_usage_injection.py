"""`CHATSPAN_STREAM_INCLUDE_USAGE=true`: only the trailing usage-only chunk that chatspan's own
request change caused is hidden; every other chunk reaches the app untouched, in order.

The one case no client can tell apart: a server that sends a trailing usage-only chunk unasked
while chatspan also asked for one. That chunk is hidden too (README, configuration table).
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.support.recording import attributes, instrumented
from tests.support.transport import http, mock_client, response

USAGE = {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}


def chunk(**fields: Any) -> dict[str, Any]:
    return {"id": "chatcmpl-u", "object": "chat.completion.chunk", "created": 1, "model": "m", **fields}


def delta(text: str, finish: str | None = None) -> dict[str, Any]:
    return chunk(choices=[{"index": 0, "delta": {"content": text}, "finish_reason": finish}])


def sse(chunks: list[dict[str, Any]]) -> bytes:
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"


def stream_client(chunks: list[dict[str, Any]], seen: list[Any]) -> openai.OpenAI:
    def handler(request: Any) -> Any:
        seen.append(json.loads(request.content))
        return response(200, {"content-type": "text/event-stream"}, sse(chunks))

    return mock_client(handler)


def async_stream_client(chunks: list[dict[str, Any]]) -> openai.AsyncOpenAI:
    async def handler(request: Any) -> Any:
        return response(200, {"content-type": "text/event-stream"}, sse(chunks))

    return openai.AsyncOpenAI(
        api_key="sk-mock",
        base_url="https://api.openai.com/v1",
        max_retries=0,
        http_client=http.AsyncClient(transport=http.MockTransport(handler)),
    )


TRAILING = {
    "choices []": chunk(choices=[], usage=USAGE),
    "choices null": chunk(choices=None, usage=USAGE),
    "choices missing": chunk(usage=USAGE),
}


def contents(received: list[Any]) -> list[tuple[Any, Any]]:
    return [(c.choices[0].delta.content if c.choices else None, c.usage) for c in received]


@pytest.mark.parametrize("last", list(TRAILING), ids=list(TRAILING))
def test_the_trailing_usage_chunk_chatspan_asked_for_is_hidden(
    last: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATSPAN_STREAM_INCLUDE_USAGE", "true")
    sent: list[Any] = []
    chunks = [delta("a"), delta("b", "stop"), TRAILING[last]]
    with instrumented() as recording:
        client = stream_client(chunks, sent)
        received = list(client.chat.completions.create(model="m", messages=[], stream=True))
    assert sent[0]["stream_options"] == {"include_usage": True}, "chatspan asked for usage"
    assert contents(received) == [("a", None), ("b", None)]
    attrs = attributes(recording.only_span())
    assert attrs["gen_ai.usage.input_tokens"] == 4
    assert attrs["gen_ai.usage.output_tokens"] == 2


def test_chunks_without_choices_that_are_not_trailing_reach_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATSPAN_STREAM_INCLUDE_USAGE", "true")
    # Azure sends prompt-filter chunks with no choices first; a usage-only chunk mid-stream is not
    # the one include_usage adds, so it stays; so does a second one before the trailing one.
    chunks = [
        chunk(choices=[]),
        chunk(usage=USAGE),
        delta("a"),
        chunk(choices=None, usage=USAGE),
        chunk(choices=[], usage=USAGE),
        delta("b", "stop"),
        chunk(usage=USAGE),
    ]
    with instrumented() as recording:
        received = list(
            stream_client(chunks, []).chat.completions.create(model="m", messages=[], stream=True)
        )
    assert len(received) == len(chunks) - 1
    assert [c.model_dump(exclude_unset=True) for c in received] == [
        openai.types.chat.ChatCompletionChunk.construct(**c).model_dump(exclude_unset=True)
        for c in chunks[:-1]
    ]
    assert len(recording.spans()) == 1


def test_nothing_is_hidden_when_the_app_asked_for_usage_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATSPAN_STREAM_INCLUDE_USAGE", "true")
    chunks = [delta("a", "stop"), chunk(usage=USAGE)]
    with instrumented():
        received = list(
            stream_client(chunks, []).chat.completions.create(
                model="m", messages=[], stream=True, stream_options={"include_usage": True}
            )
        )
    assert contents(received)[-1][1] is not None, "the app's own usage chunk is delivered"


def test_without_the_switch_every_chunk_is_delivered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHATSPAN_STREAM_INCLUDE_USAGE", raising=False)
    chunks = [delta("a", "stop"), chunk(usage=USAGE)]
    sent: list[Any] = []
    with instrumented():
        received = list(
            stream_client(chunks, sent).chat.completions.create(model="m", messages=[], stream=True)
        )
    assert "stream_options" not in sent[0]
    assert len(received) == 2


async def test_async_streams_hide_only_the_trailing_usage_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATSPAN_STREAM_INCLUDE_USAGE", "true")
    chunks = [chunk(usage=USAGE), delta("a", "stop"), chunk(choices=None, usage=USAGE)]
    with instrumented() as recording:
        client = async_stream_client(chunks)
        stream = await client.chat.completions.create(model="m", messages=[], stream=True)
        received = [c async for c in stream]
    assert [(text, usage and usage.total_tokens) for text, usage in contents(received)] == [
        (None, 6),
        ("a", None),
    ]
    assert attributes(recording.only_span())["gen_ai.usage.output_tokens"] == 2


def test_a_trailing_usage_chunk_with_garbage_choices_is_still_the_injected_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHATSPAN_STREAM_INCLUDE_USAGE", "true")
    chunks = [delta("a", "stop"), chunk(choices="x", usage=USAGE)]
    with instrumented() as recording:
        received = list(
            stream_client(chunks, []).chat.completions.create(model="m", messages=[], stream=True)
        )
    assert contents(received) == [("a", None)]
    assert attributes(recording.only_span())["gen_ai.usage.input_tokens"] == 4
