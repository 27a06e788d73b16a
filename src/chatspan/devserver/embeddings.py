"""A minimal `/v1/embeddings` answer for batch lines: a unit vector per input, derived from its text."""

from __future__ import annotations

from typing import Any

from chatspan.devserver.completions import count_tokens
from chatspan.devserver.errors import invalid_request
from chatspan.devserver.stable import stable_hex
from chatspan.devserver.validation import invalid_type, missing_parameter

EMBEDDING_DIMENSIONS = 16
"""Length of an embedding unless the request's `dimensions` asks for another."""


def embedding_inputs(body: dict[str, Any]) -> list[str]:
    """The texts of an embeddings body; raises `ApiError` (400) for a body OpenAI would refuse."""
    if "model" not in body:
        raise invalid_request("you must provide a model parameter")
    if not isinstance(body["model"], str):
        raise invalid_type("model", "a string", body["model"])
    if "input" not in body:
        raise missing_parameter("input")
    value = body["input"]
    inputs = [value] if isinstance(value, str) else value
    if (
        not isinstance(inputs, list)
        or not inputs
        or not all(isinstance(text, str) and text for text in inputs)
    ):
        raise invalid_request(
            "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
            param="input",
        )
    dimensions = body.get("dimensions")
    if dimensions is not None and (
        isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1
    ):
        raise invalid_type("dimensions", "a positive integer", dimensions)
    return inputs


def embedding_response(body: dict[str, Any]) -> dict[str, Any]:
    """A `CreateEmbeddingResponse`: a unit vector per input, derived from its text."""
    inputs = embedding_inputs(body)
    dimensions = body.get("dimensions") or EMBEDDING_DIMENSIONS
    data = []
    for index, text in enumerate(inputs):
        digits = stable_hex(text, dimensions * 4)
        raw = [int(digits[i : i + 4], 16) / 65_535 - 0.5 for i in range(0, dimensions * 4, 4)]
        norm = sum(value * value for value in raw) ** 0.5 or 1.0
        data.append(
            {"object": "embedding", "index": index, "embedding": [round(value / norm, 6) for value in raw]}
        )
    tokens = sum(count_tokens(text) for text in inputs)
    return {
        "object": "list",
        "data": data,
        "model": body["model"],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
