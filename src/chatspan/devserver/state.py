"""What the devserver's handler threads share: configuration, limits, store, persistent faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from chatspan.devserver.batches import DEFAULT_BATCH_SECONDS, BatchStore
from chatspan.devserver.faults import MODEL_CALL_TARGETS, Fault, parse_faults
from chatspan.devserver.files import FileStore
from chatspan.devserver.promptcache import PromptCache
from chatspan.devserver.ratelimit import RateLimiter
from chatspan.devserver.response_store import ResponseStore
from chatspan.devserver.store import CompletionStore

DEFAULT_BACKGROUND_SECONDS = 1.0

FaultWait = Callable[[float, threading.Event], bool]
"""How a fault's delay is waited out: called with the seconds and the server's stop event, it
returns True when the server is stopping (the request is then dropped), like `Event.wait`."""


def wait_on_stop(seconds: float, stopping: threading.Event) -> bool:
    """The default `FaultWait`: wait on the stop event, so `DevServer.stop()` cuts a delay short."""
    return stopping.wait(seconds)


@dataclass
class ServerState:
    """Everything the handler threads share: configuration, limits, store, persistent faults."""

    limiter: RateLimiter
    api_key: str | None = None
    organization: str = "user-chatspan-dev"
    ignore_limit: bool = False
    """The list endpoint answers pages of a fixed size, whatever `limit` asks (OpenAI has done so)."""
    store: CompletionStore = field(default_factory=CompletionStore)
    responses: ResponseStore = field(default_factory=ResponseStore)
    clock: Callable[[], float] = time.time
    """Wall-clock seconds for `created_at` and background progress; tests pass one they advance."""
    background_seconds: float = DEFAULT_BACKGROUND_SECONDS
    """How long a background response stays `queued`, and then `in_progress`, before it completes."""
    files: FileStore = field(default_factory=FileStore)
    batches: BatchStore = field(default_factory=BatchStore)
    batch_seconds: float = DEFAULT_BATCH_SECONDS
    """How long each stage of a batch lasts (validating, in_progress, finalizing; cancelling)."""
    prompt_cache: PromptCache = field(default_factory=PromptCache)
    stopping: threading.Event = field(default_factory=threading.Event)
    fault_wait: FaultWait = wait_on_stop
    """Waits out `latency`, `hang`, `first-token` and `chunk-delay`; tests pass one that records."""
    _faults: tuple[Fault, ...] = ()
    _fault_texts: tuple[str, ...] = ()
    _requests: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def set_faults(self, texts: list[str]) -> None:
        """Replace the persistent faults (`[]` clears them) and restart every target's request count."""
        faults = tuple(parse_faults(texts))
        with self._lock:
            self._faults, self._fault_texts = faults, tuple(texts)
            self._requests = {}

    def faults(self) -> tuple[tuple[Fault, ...], tuple[str, ...]]:
        """The persistent faults, parsed and as given."""
        with self._lock:
            return self._faults, self._fault_texts

    def faults_for(self, target: str) -> tuple[tuple[Fault, ...], int]:
        """Count a request to `target`; the persistent faults that may apply to it, and its number.

        The number counts requests to `target` since the faults were last set, this one included.
        Untargeted faults apply to model calls, `MODEL_CALL_TARGETS` (and count retries, not requests).
        """
        with self._lock:
            number = self._requests.get(target, 0) + 1
            self._requests[target] = number
            faults = tuple(
                fault
                for fault in self._faults
                if fault.target == target or (fault.target is None and target in MODEL_CALL_TARGETS)
            )
        return faults, number
