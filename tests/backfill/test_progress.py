from __future__ import annotations

import io

from chatspan.backfill.progress import Progress, Tally


def test_terminal_redraws_one_line_with_counts_and_rate() -> None:
    out = io.StringIO()
    progress = Progress(out, interactive=True, verb="exported")
    tally = Tally(listed=100, exported=90, skipped=10)
    progress.update(tally)
    tally.listed, tally.exported = 200, 190
    progress.update(tally)
    progress.done(tally)
    text = out.getvalue()
    assert text.count("\r\033[K") == 3, "each update redraws the same line"
    assert "200 listed, 190 exported, 10 skipped, 0 failed" in text
    assert "/s)" in text
    assert text.endswith("\n") and text.count("\n") == 1


def test_elsewhere_plain_lines_at_most_every_few_seconds() -> None:
    out = io.StringIO()
    progress = Progress(out, interactive=False, verb="would export", every=3600)
    tally = Tally(listed=5, exported=5)
    for _ in range(50):
        progress.update(tally)
    progress.done(tally)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, "one log line, then the final one"
    assert all("\r" not in line and "\033" not in line for line in lines)
    assert lines[-1].startswith("chatspan backfill: 5 listed, 5 would export")


def test_summary_fields() -> None:
    assert set(Tally().as_json()) == {"listed", "exported", "skipped", "failed", "seconds"}
