"""Go duration strings and the sliding-window rate limiter, with a fake clock."""

from __future__ import annotations

import re
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatspan.devserver.ratelimit import (
    RateLimiter,
    SlidingWindow,
    format_go_duration,
    format_reset,
)
from tests.support.clock import ManualClock

MS = 1_000_000
S = 1_000_000_000
GO_DURATION = re.compile(r"^-?(?:(?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?s|\d+(?:\.\d+)?(?:ms|µs|ns))$")
_UNITS = {"h": 3600 * S, "m": 60 * S, "s": S, "ms": MS, "µs": 1_000, "ns": 1}


def parse_go_duration(text: str) -> int:
    """Nanoseconds of a Go duration string (the inverse of the formatter, for round trips)."""
    sign = -1 if text.startswith("-") else 1
    total = 0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(h|ms|µs|ns|m|s)", text):
        whole, _, fraction = number.partition(".")
        scale = _UNITS[unit]
        total += int(whole) * scale + (int(fraction) * scale // 10 ** len(fraction) if fraction else 0)
    return sign * total


@pytest.mark.parametrize(
    ("nanoseconds", "expected"),
    [
        (0, "0s"),
        (1, "1ns"),
        (999, "999ns"),
        (1_500, "1.5µs"),
        (MS, "1ms"),
        (12 * MS, "12ms"),
        (1_500_000, "1.5ms"),
        (S, "1s"),
        (8_640 * MS, "8.64s"),
        (90 * S + 500 * MS, "1m30.5s"),
        (360 * S, "6m0s"),
        (3600 * S, "1h0m0s"),
        (3661 * S + 100 * MS, "1h1m1.1s"),
        (25 * 3600 * S, "25h0m0s"),
        (-1500 * MS, "-1.5s"),
    ],
)
def test_go_duration_matches_go(nanoseconds: int, expected: str) -> None:
    assert format_go_duration(nanoseconds) == expected


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_go_duration_round_trips(nanoseconds: int) -> None:
    text = format_go_duration(nanoseconds)
    assert GO_DURATION.match(text), text
    assert parse_go_duration(text) == nanoseconds


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.0, "0s"),
        (0.012, "12ms"),
        (0.0121, "13ms"),
        (0.00001, "1ms"),
        (1.0, "1s"),
        (59.9994, "1m0s"),
        (-3, "0s"),
    ],
)
def test_reset_rounds_up_to_milliseconds(seconds: float, expected: str) -> None:
    assert format_reset(seconds) == expected


def test_window_counts_down_and_comes_back_after_the_window() -> None:
    window = SlidingWindow(10, window=60.0)
    window.use(3, now=0.0)
    window.use(4, now=20.0)
    assert window.remaining(30.0) == 3
    assert window.reset_after(30.0) == pytest.approx(50.0)  # the use at 20 s leaves at 80 s
    assert not window.fits(5, 30.0)
    assert window.available_after(5, 30.0) == pytest.approx(30.0)  # the use at 0 s leaves at 60 s
    assert window.remaining(60.0) == 6
    assert window.fits(5, 60.0)
    assert window.remaining(80.0) == 10
    assert window.reset_after(80.0) == 0.0


def test_window_never_fits_more_than_its_limit() -> None:
    window = SlidingWindow(10)
    window.use(2, now=0.0)
    assert window.available_after(11, 1.0) == pytest.approx(59.0)


def test_window_rejects_a_zero_limit() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SlidingWindow(0)


def test_limiter_counts_requests_and_tokens() -> None:
    clock = ManualClock(1000.0)
    limiter = RateLimiter(rpm=3, tpm=100, clock=clock)
    first = limiter.acquire(10)
    assert first.allowed
    assert (first.state.remaining_requests, first.state.remaining_tokens) == (2, 90)
    assert first.state.headers()["x-ratelimit-reset-requests"] == "1m0s"
    clock.now += 15.5
    second = limiter.acquire(20)
    assert (second.state.remaining_requests, second.state.remaining_tokens) == (1, 70)
    assert second.state.headers()["x-ratelimit-reset-tokens"] == "1m0s"
    clock.now += 30
    assert (
        limiter.state().headers()["x-ratelimit-reset-requests"] == "30s"
    )  # the use at +15.5 s leaves at +75.5 s


def test_limiter_refuses_without_using_anything() -> None:
    clock = ManualClock(1000.0)
    limiter = RateLimiter(rpm=2, tpm=100, clock=clock)
    assert limiter.acquire(1).allowed
    clock.now += 10
    assert limiter.acquire(1).allowed
    refused = limiter.acquire(1)
    assert not refused.allowed
    assert refused.exceeded == "requests"
    assert refused.used == 2
    assert refused.retry_after == pytest.approx(50.0)
    assert refused.state.remaining_requests == 0
    assert refused.state.remaining_tokens == 98  # the refused request took no tokens
    clock.now += 50
    assert limiter.acquire(1).allowed


def test_limiter_refuses_on_tokens() -> None:
    clock = ManualClock(1000.0)
    limiter = RateLimiter(rpm=100, tpm=50, clock=clock)
    assert limiter.acquire(40).allowed
    refused = limiter.acquire(20)
    assert (refused.allowed, refused.exceeded, refused.used) == (False, "tokens", 40)
    assert refused.state.remaining_requests == 99
    assert limiter.acquire(10).allowed


def test_limiter_is_thread_safe() -> None:
    limiter = RateLimiter(rpm=500, tpm=10**9)
    allowed: list[bool] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(100):
            outcome = limiter.acquire(1).allowed
            with lock:
                allowed.append(outcome)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert allowed.count(True) == 500
    assert limiter.state().remaining_requests == 0
