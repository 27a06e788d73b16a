"""What a running backfill tells the person watching: a live line on a terminal, log lines elsewhere."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, TextIO

DONE: Final = "done: "
"""Begins the final line, so it can be told from the progress lines before it."""


@dataclass
class Tally:
    """Counts of one run; `as_json()` is the `--json` summary.

    `clock` is injected so tests need not depend on how fast, or how long since boot, a machine is.
    """

    listed: int = 0
    exported: int = 0
    skipped: int = 0
    failed: int = 0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    started: float | None = None

    def __post_init__(self) -> None:
        if self.started is None:
            self.started = self.clock()

    def seconds(self) -> float:
        """Seconds since the run started, by the tally's clock."""
        assert self.started is not None  # set in __post_init__
        return self.clock() - self.started

    def as_json(self) -> dict[str, object]:
        """The counts and the run's duration, as the `--json` summary holds them."""
        return {
            "listed": self.listed,
            "exported": self.exported,
            "skipped": self.skipped,
            "failed": self.failed,
            "seconds": round(self.seconds(), 3),
        }


class Progress:
    """Report a tally as it grows: redrawn in place on a terminal, a line every few seconds otherwise.

    The first update always prints; later ones, off a terminal, only once `every` seconds have
    passed on `clock` since the last printed one.
    """

    def __init__(
        self,
        out: TextIO,
        *,
        interactive: bool,
        verb: str,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._out = out
        self._interactive = interactive
        self._verb = verb
        self._every = every
        self._clock = clock
        # None, not 0.0: a monotonic clock counts from an arbitrary point (on Linux, boot), so a
        # zero start would hold back the first line on a machine up for less than `every` seconds.
        self._last: float | None = None

    def update(self, tally: Tally) -> None:
        """Show the tally now (terminal), or if the last line is old enough (elsewhere)."""
        now = self._clock()
        if not self._interactive and self._last is not None and now - self._last < self._every:
            return
        self._last = now
        line = self._line(tally)
        if self._interactive:
            self._out.write("\r\033[K" + line)
        else:
            self._out.write(line + "\n")
        self._out.flush()

    def done(self, tally: Tally) -> None:
        """The final line: the whole run's counts (printed once, whatever ended the run)."""
        if self._interactive:
            self._out.write("\r\033[K")
        self._out.write(self._line(tally, DONE) + "\n")
        self._out.flush()

    def _line(self, tally: Tally, prefix: str = "") -> str:
        seconds = tally.seconds()
        rate = tally.listed / seconds if seconds > 0 else 0.0
        return (
            f"chatspan backfill: {prefix}{tally.listed} listed, {tally.exported} {self._verb}, "
            f"{tally.skipped} skipped, {tally.failed} failed ({rate:,.0f}/s)"
        )
