"""A clock a test moves by hand, for every piece of code that takes an injected clock."""

from __future__ import annotations


class ManualClock:
    """Returns `now` until the test moves it; stands for `time.time` or `time.monotonic` alike."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`."""
        self.now += seconds
