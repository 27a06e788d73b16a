"""Fixtures: a fresh devserver per test, real openai clients (sync and async) pointed at it, and
a probe that observes the SDK's retry sleeps instead of timing them (the server's fault waits:
tests/support/fault_waits.py)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import openai._base_client
import pytest

from chatspan.devserver import DevServer

CLIENT_TIMEOUT = 10.0


class _RecordingTime:
    """Stands in for the `time` module inside the openai SDK: `sleep` is recorded, not slept."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.fixture
def sdk_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The seconds the sync openai SDK sleeps between retries, in order, recorded instead of slept.

    The SDK sleeps with `time.sleep` in `openai._base_client` on every version of the matrix; the
    recorded value is the wait it chose (`retry-after-ms` when the server sent one it honours).
    """
    recorder = _RecordingTime()
    monkeypatch.setattr(openai._base_client, "time", recorder)
    return recorder.sleeps


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
