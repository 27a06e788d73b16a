"""Fixtures: a fresh devserver per test, and real openai clients (sync and async) pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
import pytest

from chatspan.devserver import DevServer

CLIENT_TIMEOUT = 10.0


@pytest.fixture
def server() -> Iterator[DevServer]:
    """A devserver on a free port, stopped after the test."""
    with DevServer() as running:
        yield running


@pytest.fixture
def client(server: DevServer) -> Iterator[openai.OpenAI]:
    """A sync client without retries (tests that want retries make their own)."""
    with openai.OpenAI(
        base_url=server.base_url, api_key="sk-test", timeout=CLIENT_TIMEOUT, max_retries=0
    ) as sync_client:
        yield sync_client


@pytest.fixture
async def async_client(server: DevServer) -> AsyncIterator[openai.AsyncOpenAI]:
    """An async client without retries."""
    async with openai.AsyncOpenAI(
        base_url=server.base_url, api_key="sk-test", timeout=CLIENT_TIMEOUT, max_retries=0
    ) as async_openai:
        yield async_openai
