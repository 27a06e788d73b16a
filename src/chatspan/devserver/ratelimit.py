"""Sliding-window rate limits and the Go duration strings OpenAI writes in `x-ratelimit-reset-*`.

OpenAI answers every request with the limit, the remaining headroom and the time until the limit
is back to its initial state, for requests and for tokens. The devserver keeps both in a 60 s
sliding window: a request uses 1 request and its `total_tokens`, and both come back to the window
60 s later. A request that does not fit gets a 429 (nothing is used) and `retry-after` tells
when enough headroom has come back for it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from chatspan.devserver.errors import rate_limit_error

_NANOS_PER_MICRO = 1_000
_NANOS_PER_MILLI = 1_000_000
_NANOS_PER_SECOND = 1_000_000_000


def format_go_duration(nanoseconds: int) -> str:
    """Format a duration exactly like Go's `time.Duration.String()`.

    `0s`, `12ms`, `1.5µs`, `1s`, `1m30.5s`, `6m0s`, `1h0m0s`; negative durations get a leading `-`.
    OpenAI writes its `x-ratelimit-reset-*` headers in this format.
    """
    sign = "-" if nanoseconds < 0 else ""
    magnitude = abs(nanoseconds)
    if magnitude == 0:
        return "0s"
    if magnitude < _NANOS_PER_SECOND:
        # Go switches to the largest unit that keeps the integer part non-zero.
        if magnitude < _NANOS_PER_MICRO:
            return f"{sign}{magnitude}ns"
        if magnitude < _NANOS_PER_MILLI:
            return f"{sign}{_decimal(magnitude, 3)}µs"
        return f"{sign}{_decimal(magnitude, 6)}ms"
    total_seconds, fraction = divmod(magnitude, _NANOS_PER_SECOND)
    seconds_text = _decimal(total_seconds % 60 * _NANOS_PER_SECOND + fraction, 9) + "s"
    total_minutes = total_seconds // 60
    if total_minutes == 0:
        return f"{sign}{seconds_text}"
    hours, minutes = divmod(total_minutes, 60)
    if hours == 0:
        return f"{sign}{minutes}m{seconds_text}"
    return f"{sign}{hours}h{minutes}m{seconds_text}"


def _decimal(value: int, precision: int) -> str:
    """`value / 10**precision` with trailing zeros (and a bare point) dropped, as Go's fmtFrac does."""
    whole, fraction = divmod(value, 10**precision)
    if fraction == 0:
        return str(whole)
    digits = str(fraction).rjust(precision, "0").rstrip("0")
    return f"{whole}.{digits}"


def format_reset(seconds: float) -> str:
    """Format a reset delay in seconds as OpenAI does: a Go duration rounded up to whole milliseconds."""
    millis = max(0, math.ceil(seconds * 1000 - 1e-6))
    return format_go_duration(millis * _NANOS_PER_MILLI)


class SlidingWindow:
    """Amounts used in the last `window` seconds, against a fixed limit. Not thread-safe by itself."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        if limit < 1:
            raise ValueError(f"a rate limit must be at least 1, got {limit}")
        self.limit = limit
        self.window = window
        self._events: deque[tuple[float, int]] = deque()
        self._used = 0

    def _expire(self, now: float) -> None:
        while self._events and self._events[0][0] + self.window <= now:
            _, amount = self._events.popleft()
            self._used -= amount

    def remaining(self, now: float) -> int:
        """Headroom left at `now`."""
        self._expire(now)
        return max(0, self.limit - self._used)

    def fits(self, amount: int, now: float) -> bool:
        """Whether `amount` can be used at `now` without passing the limit."""
        return self.remaining(now) >= amount

    def use(self, amount: int, now: float) -> None:
        """Record `amount` as used at `now` (callers check `fits` first)."""
        self._expire(now)
        self._events.append((now, amount))
        self._used += amount

    def reset_after(self, now: float) -> float:
        """Seconds until everything now in the window has left it, i.e. the limit is back to full."""
        self._expire(now)
        if not self._events:
            return 0.0
        return max(0.0, self._events[-1][0] + self.window - now)

    def available_after(self, amount: int, now: float) -> float:
        """Seconds until `amount` fits; `reset_after` when it can never fit in one window."""
        self._expire(now)
        if amount > self.limit:
            return self.reset_after(now)
        freed = self.limit - self._used
        if freed >= amount:
            return 0.0
        # The oldest uses leave the window first; headroom returns when enough of them have.
        for timestamp, used in self._events:
            freed += used
            if freed >= amount:
                return max(0.0, timestamp + self.window - now)
        return self.reset_after(now)


@dataclass(frozen=True)
class RateLimitState:
    """What the `x-ratelimit-*` headers of one response say."""

    limit_requests: int
    limit_tokens: int
    remaining_requests: int
    remaining_tokens: int
    reset_requests: float
    reset_tokens: float

    def headers(self) -> dict[str, str]:
        """The six `x-ratelimit-*` headers, spelt as OpenAI spells them."""
        return {
            "x-ratelimit-limit-requests": str(self.limit_requests),
            "x-ratelimit-limit-tokens": str(self.limit_tokens),
            "x-ratelimit-remaining-requests": str(self.remaining_requests),
            "x-ratelimit-remaining-tokens": str(self.remaining_tokens),
            "x-ratelimit-reset-requests": format_reset(self.reset_requests),
            "x-ratelimit-reset-tokens": format_reset(self.reset_tokens),
        }


@dataclass(frozen=True)
class RateLimitDecision:
    """The outcome of `RateLimiter.acquire`: allowed or not, the state after it, and when to retry."""

    allowed: bool
    state: RateLimitState
    exceeded: str | None = None
    """`requests` or `tokens`: the limit that refused the request."""
    used: int = 0
    """How much of the refusing limit was in use."""
    retry_after: float = 0.0


class RateLimiter:
    """Requests-per-minute and tokens-per-minute limits over one sliding window; thread-safe."""

    def __init__(
        self,
        rpm: int,
        tpm: int,
        *,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._requests = SlidingWindow(rpm, window)
        self._tokens = SlidingWindow(tpm, window)
        self._clock = clock
        self._lock = threading.Lock()

    def _state(self, now: float) -> RateLimitState:
        return RateLimitState(
            limit_requests=self._requests.limit,
            limit_tokens=self._tokens.limit,
            remaining_requests=self._requests.remaining(now),
            remaining_tokens=self._tokens.remaining(now),
            reset_requests=self._requests.reset_after(now),
            reset_tokens=self._tokens.reset_after(now),
        )

    def state(self) -> RateLimitState:
        """The current state without using anything (for responses that are not completions)."""
        with self._lock:
            return self._state(self._clock())

    def acquire(self, tokens: int) -> RateLimitDecision:
        """Use one request and `tokens` tokens if both fit; otherwise use nothing and say why."""
        with self._lock:
            now = self._clock()
            for name, window, amount in (("requests", self._requests, 1), ("tokens", self._tokens, tokens)):
                if not window.fits(amount, now):
                    return RateLimitDecision(
                        allowed=False,
                        state=self._state(now),
                        exceeded=name,
                        used=window.limit - window.remaining(now),
                        retry_after=window.available_after(amount, now),
                    )
            self._requests.use(1, now)
            self._tokens.use(tokens, now)
            return RateLimitDecision(allowed=True, state=self._state(now))


def charge(limiter: RateLimiter, model: str, tokens: int) -> RateLimitState:
    """Spend one request and `tokens` tokens of `limiter` for a call to `model`; the state after.

    Raises OpenAI's 429 (`rate_limit_exceeded`, with `retry-after`/`retry-after-ms`) when either
    limit has no room, and then spends nothing. Chat completions and responses spend alike.
    """
    decision = limiter.acquire(tokens)
    if decision.allowed:
        return decision.state
    by_requests = decision.exceeded == "requests"
    error = rate_limit_error(
        decision.exceeded or "requests",
        model,
        limit=decision.state.limit_requests if by_requests else decision.state.limit_tokens,
        used=decision.used,
        requested=1 if by_requests else tokens,
        retry_after=decision.retry_after,
    )
    error.headers.update(retry_after_headers(decision.retry_after))
    raise error


def retry_after_headers(seconds: float) -> dict[str, str]:
    """`retry-after` in whole seconds as OpenAI sends it, and `retry-after-ms`, which the SDK prefers."""
    return {"retry-after": str(math.ceil(seconds)), "retry-after-ms": str(math.ceil(seconds * 1000))}
