"""Prompt caching as OpenAI reports it: a repeated prompt of 1,024+ tokens comes back partly cached.

OpenAI caches prompt prefixes of at least 1,024 tokens in steps of 128 tokens, so the second time
the same long prompt is sent, `usage.prompt_tokens_details.cached_tokens` is the prompt length
rounded down to a multiple of 128. The devserver remembers whole prompts, not prefixes.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

MIN_CACHED_TOKENS = 1024
CACHE_STEP = 128


class PromptCache:
    """Remembers the last `capacity` long prompts; thread-safe."""

    def __init__(self, capacity: int = 1024) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def cached_tokens(self, messages: list[dict[str, Any]], prompt_tokens: int) -> int:
        """Tokens of this prompt already in the cache; the prompt is remembered for next time."""
        if prompt_tokens < MIN_CACHED_TOKENS:
            return 0
        key = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()
        with self._lock:
            seen = key in self._seen
            self._seen[key] = None
            self._seen.move_to_end(key)
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
        return prompt_tokens // CACHE_STEP * CACHE_STEP if seen else 0
