from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
import pytest

from chatspan.devserver import DevServer
from tests.support.recording import Recording, instrumented

API_KEY = "sk-test-9f8e7d6c5b4a3f2e1d0c"


@pytest.fixture(scope="session")
def server() -> Iterator[DevServer]:
    with DevServer() as running:
        yield running


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recording]:
    for name in (
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
        "CHATSPAN_STREAM_INCLUDE_USAGE",
        "CHATSPAN_LINK_STORED",
    ):
        monkeypatch.delenv(name, raising=False)
    with instrumented() as recorded:
        yield recorded


@pytest.fixture
def client(server: DevServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=10) as made:
        yield made


@pytest.fixture
async def async_client(server: DevServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=10
    ) as made:
        yield made
