"""A devserver `fault_wait` that records fault delays and lets a test see a wait begin, not time it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

RELEASE_TIMEOUT = 5.0
"""How long a held fault wait waits for the test to release it; below the clients' timeouts."""
ENDED_TIMEOUT = 10.0
"""How long `ended()` waits for the waits to end."""


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
        """The outcomes once `count` waits have ended (or after ENDED_TIMEOUT, whatever ended by then).

        A client can see its connection cut by `DevServer.stop()` before the handler thread's wait
        has returned, so a test that checks how waits ended waits for them to end first.
        """
        with self._ended:
            self._ended.wait_for(lambda: len(self.outcomes) >= count, ENDED_TIMEOUT)
            return list(self.outcomes)
