"""What a running backfill tells the person watching: a live line on a terminal, log lines elsewhere."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Tally:
    """Counts of one run; `as_json()` is the `--json` summary."""

    listed: int = 0
    exported: int = 0
    skipped: int = 0
    failed: int = 0
    started: float = field(default_factory=time.monotonic)

    def seconds(self) -> float:
        return time.monotonic() - self.started

    def as_json(self) -> dict[str, object]:
        return {
            "listed": self.listed,
            "exported": self.exported,
            "skipped": self.skipped,
            "failed": self.failed,
            "seconds": round(self.seconds(), 3),
        }


class Progress:
    """Report a tally as it grows: redrawn in place on a terminal, a line every few seconds otherwise."""

    def __init__(self, out: TextIO, *, interactive: bool, verb: str, every: float = 5.0) -> None:
        self._out = out
        self._interactive = interactive
        self._verb = verb
        self._every = every
        self._last = 0.0

    def update(self, tally: Tally) -> None:
        now = time.monotonic()
        if not self._interactive and now - self._last < self._every:
            return
        self._last = now
        line = self._line(tally)
        if self._interactive:
            self._out.write("\r\033[K" + line)
        else:
            self._out.write(line + "\n")
        self._out.flush()

    def done(self, tally: Tally) -> None:
        if self._interactive:
            self._out.write("\r\033[K")
        self._out.write(self._line(tally) + "\n")
        self._out.flush()

    def _line(self, tally: Tally) -> str:
        seconds = tally.seconds()
        rate = tally.listed / seconds if seconds > 0 else 0.0
        return (
            f"chatspan backfill: {tally.listed} listed, {tally.exported} {self._verb}, "
            f"{tally.skipped} skipped, {tally.failed} failed ({rate:,.0f}/s)"
        )
