"""An openai client over an in-process transport, on httpx (openai < 3) or httpx2 (openai >= 3)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import openai

OPENAI_MAJOR = int(openai.__version__.split(".")[0])
http: Any = importlib.import_module("httpx2" if OPENAI_MAJOR >= 3 else "httpx")

Handler = Callable[[Any], Any]


def mock_client(handler: Handler) -> openai.OpenAI:
    """A sync client whose every request is answered by `handler(request) -> Response`."""
    return openai.OpenAI(
        api_key="sk-mock",
        base_url="https://api.openai.com/v1",
        max_retries=0,
        http_client=http.Client(transport=http.MockTransport(handler)),
    )


def response(status: int, headers: dict[str, str], content: bytes) -> Any:
    """An HTTP response object of the client's own HTTP library."""
    return http.Response(status, headers=headers, content=content)
