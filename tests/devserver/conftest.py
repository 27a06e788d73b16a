"""Fixtures: a fresh devserver per test, real openai clients (sync and async) pointed at it, and
probes that observe waits instead of timing them: the SDK's retry sleeps, the server's fault waits."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import openai
import openai._base_client
import pytest

from chatspan.devserver import DevServer

CLIENT_TIMEOUT = 10.0
RELEASE_TIMEOUT = 5.0
"""How long a held fault wait waits for the test to release it; below CLIENT_TIMEOUT."""


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


@dataclass
class FaultWaits:
    """A `DevServer(fault_wait=...)` that records every fault delay and how each wait ended.

    `started` is set when a wait begins. Delays listed in `held` wait for `release` (set by the
    test) instead of the clock, so a test can check what the client had received meanwhile; the
    others wait on the server's stop event as the default does, so `stop()` still cuts them short.
    """

    held: tuple[float, ...] = ()
    delays: list[float] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    """Per finished wait: `released`, `timed out` (held, never released), `stopped` or `elapsed`."""
    started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    _ended: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, seconds: float, stopping: threading.Event) -> bool:
        self.delays.append(seconds)
        self.started.set()
        if seconds in self.held:
            self._end("released" if self.release.wait(RELEASE_TIMEOUT) else "timed out")
            return stopping.is_set()
        stopped = stopping.wait(seconds)
        self._end("stopped" if stopped else "elapsed")
        return stopped

    def _end(self, outcome: str) -> None:
        with self._ended:
            self.outcomes.append(outcome)
            self._ended.notify_all()

    def ended(self, count: int) -> list[str]:
        """The outcomes once `count` waits have ended (or after CLIENT_TIMEOUT, whatever ended by then).

        A client can see its connection cut by `DevServer.stop()` before the handler thread's wait
        has returned, so a test that checks how waits ended waits for them to end first.
        """
        with self._ended:
            self._ended.wait_for(lambda: len(self.outcomes) >= count, CLIENT_TIMEOUT)
            return list(self.outcomes)


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
