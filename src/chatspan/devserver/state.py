"""What the devserver's handler threads share: configuration, limits, store, persistent faults."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from chatspan.devserver.faults import Fault, parse_faults
from chatspan.devserver.promptcache import PromptCache
from chatspan.devserver.ratelimit import RateLimiter
from chatspan.devserver.store import CompletionStore


@dataclass
class ServerState:
    """Everything the handler threads share: configuration, limits, store, persistent faults."""

    limiter: RateLimiter
    api_key: str | None = None
    organization: str = "user-chatspan-dev"
    store: CompletionStore = field(default_factory=CompletionStore)
    prompt_cache: PromptCache = field(default_factory=PromptCache)
    stopping: threading.Event = field(default_factory=threading.Event)
    _faults: tuple[Fault, ...] = ()
    _fault_texts: tuple[str, ...] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def set_faults(self, texts: list[str]) -> None:
        """Replace the faults applied to every chat request (`[]` clears them)."""
        faults = tuple(parse_faults(texts))
        with self._lock:
            self._faults, self._fault_texts = faults, tuple(texts)

    def faults(self) -> tuple[tuple[Fault, ...], tuple[str, ...]]:
        """The persistent faults, parsed and as given."""
        with self._lock:
            return self._faults, self._fault_texts
