"""A completion as the `chat.completion.chunk` objects OpenAI streams for it.

Per choice: a first chunk with the role (and the tool call's id and name), one chunk per piece of
text or of tool arguments, and a chunk with the `finish_reason`; choices follow one another. With
`stream_options.include_usage`, every chunk carries `usage: null` and one last chunk with no choices
carries the usage. `obfuscation` pads every chunk unless `stream_options.include_obfuscation` is false.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

from chatspan.devserver.completions import Choice, Completion, random_id


def completion_chunks(
    completion: Completion, *, include_usage: bool, include_obfuscation: bool
) -> Iterator[dict[str, Any]]:
    """Every chunk of `completion`, in order, before the `[DONE]` line."""
    for choice in completion.choices:
        for delta, finish_reason, logprobs in _choice_deltas(completion, choice):
            chunk = _chunk(completion, include_usage, include_obfuscation)
            chunk["choices"] = [
                {"index": choice.index, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}
            ]
            yield chunk
    if include_usage:
        chunk = _chunk(completion, include_usage, include_obfuscation)
        chunk["usage"] = completion.usage()
        yield chunk


def _chunk(completion: Completion, include_usage: bool, include_obfuscation: bool) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "id": completion.id,
        "object": "chat.completion.chunk",
        "created": completion.created,
        "model": completion.model,
        "service_tier": completion.service_tier,
        "system_fingerprint": completion.system_fingerprint,
        "choices": [],
    }
    if include_usage:
        chunk["usage"] = None
    if include_obfuscation:
        # OpenAI pads chunks with random text so their sizes do not reveal the tokens.
        chunk["obfuscation"] = random_id("", 1 + secrets.randbelow(12))
    return chunk


def _choice_deltas(
    completion: Completion, choice: Choice
) -> Iterator[tuple[dict[str, Any], str | None, dict[str, Any] | None]]:
    """(delta, finish_reason, logprobs) for each chunk of one choice."""
    if choice.tool_calls:
        for position, call in enumerate(choice.tool_calls):
            head: dict[str, Any] = {"index": position, "id": call.id, "type": call.type}
            if call.type == "custom":
                head["custom"] = {"name": call.name, "input": ""}
            else:
                head["function"] = {"name": call.name, "arguments": ""}
            delta: dict[str, Any] = {"tool_calls": [head]}
            if position == 0:
                delta = {"role": "assistant", "content": None, **delta, "refusal": None}
            yield delta, None, None
            field = "input" if call.type == "custom" else "arguments"
            for piece in _argument_pieces(call.arguments):
                yield {"tool_calls": [{"index": position, call.type: {field: piece}}]}, None, None
        yield {}, choice.finish_reason, None
        return
    first_logprobs = completion.choice_logprobs(choice, ())
    if choice.is_refusal:
        yield {"role": "assistant", "content": None, "refusal": ""}, None, first_logprobs
    else:
        yield {"role": "assistant", "content": "", "refusal": None}, None, first_logprobs
    key = "refusal" if choice.is_refusal else "content"
    for piece in choice.pieces:
        yield {key: piece}, None, completion.choice_logprobs(choice, (piece,))
    yield {}, choice.finish_reason, None


def _argument_pieces(arguments: str) -> Iterator[str]:
    """Tool arguments in pieces of a few characters, as a model emits them token by token."""
    for start in range(0, len(arguments), 8):
        yield arguments[start : start + 8]
