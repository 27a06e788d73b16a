from __future__ import annotations

import io

from chatspan.backfill.progress import Progress, Tally
from tests.support.clock import ManualClock

FRESH_BOOT = 1.0
"""Where time.monotonic() stands on a machine booted a second ago (it counts from boot on Linux)."""


def test_terminal_redraws_one_line_with_counts_and_rate() -> None:
    out = io.StringIO()
    clock = ManualClock(FRESH_BOOT)
    progress = Progress(out, interactive=True, verb="exported", clock=clock)
    tally = Tally(listed=100, exported=90, skipped=10, clock=clock)
    clock.now += 2
    progress.update(tally)
    tally.listed, tally.exported = 200, 190
    progress.update(tally)
    progress.done(tally)
    text = out.getvalue()
    assert text.count("\r\033[K") == 3, "each update redraws the same line"
    assert "200 listed, 190 exported, 10 skipped, 0 failed (100/s)" in text
    assert text.endswith("\n") and text.count("\n") == 1


def test_elsewhere_plain_lines_at_most_every_few_seconds() -> None:
    out = io.StringIO()
    # One second after boot: a "last printed at 0.0" start would hold back the first line.
    clock = ManualClock(FRESH_BOOT)
    progress = Progress(out, interactive=False, verb="would export", every=3600, clock=clock)
    tally = Tally(listed=5, exported=5, clock=clock)
    for _ in range(50):
        progress.update(tally)
        clock.now += 1
    progress.done(tally)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, "one log line, then the final one"
    assert all("\r" not in line and "\033" not in line for line in lines)
    assert lines[0].startswith("chatspan backfill: 5 listed, 5 would export")
    assert lines[-1].startswith("chatspan backfill: done: 5 listed, 5 would export")


def test_elsewhere_a_new_line_once_the_interval_has_passed() -> None:
    out = io.StringIO()
    clock = ManualClock(1_000_000.0)
    progress = Progress(out, interactive=False, verb="exported", every=5, clock=clock)
    tally = Tally(clock=clock)
    progress.update(tally)
    clock.now += 4.9
    progress.update(tally)
    clock.now += 0.1
    progress.update(tally)
    assert len(out.getvalue().splitlines()) == 2


def test_tally_seconds_by_its_clock() -> None:
    clock = ManualClock(0.5)
    tally = Tally(listed=30, clock=clock)
    clock.now += 3
    assert tally.seconds() == 3
    assert tally.as_json()["seconds"] == 3


def test_summary_fields() -> None:
    assert set(Tally().as_json()) == {"listed", "exported", "skipped", "failed", "seconds"}
