from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chatspan.backfill.window import Selection, WindowError, parse_metadata, parse_time, selection

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=timezone.utc)
NOW_TS = int(NOW.timestamp())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW_TS - 7 * 86400),
        ("36h", NOW_TS - 36 * 3600),
        ("90m", NOW_TS - 90 * 60),
        ("45s", NOW_TS - 45),
        ("2w", NOW_TS - 14 * 86400),
        ("1.5h", NOW_TS - 5400),
        ("now", NOW_TS),
        ("2026-11-01", int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp())),
        ("2026-11-01T12:30:00Z", int(datetime(2026, 11, 1, 12, 30, tzinfo=timezone.utc).timestamp())),
        ("2026-11-01T12:30:00+01:00", int(datetime(2026, 11, 1, 11, 30, tzinfo=timezone.utc).timestamp())),
    ],
)
def test_times(text: str, expected: int) -> None:
    assert parse_time(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "7 days", "-3d", "2026-13-01", "", "d"])
def test_bad_times_say_what_is_accepted(text: str) -> None:
    with pytest.raises(WindowError, match="ISO date"):
        parse_time(text, now=NOW)


def test_default_window_is_the_last_30_days() -> None:
    chosen = selection(since=None, until=None, model=None, metadata=[], now=NOW)
    assert (chosen.since, chosen.until) == (NOW_TS - 30 * 86400, NOW_TS)


def test_since_after_until_is_refused() -> None:
    with pytest.raises(WindowError, match="after --until"):
        selection(since="1d", until="2d", model=None, metadata=[], now=NOW)


def test_metadata_pairs() -> None:
    assert parse_metadata(["team=search", "env=prod=eu"]) == {"team": "search", "env": "prod=eu"}
    assert parse_metadata(["empty="]) == {"empty": ""}
    for bad in (["novalue"], ["=x"], ["a=1", "a=2"]):
        with pytest.raises(WindowError):
            parse_metadata(bad)
    with pytest.raises(WindowError, match="16"):
        parse_metadata([f"k{i}=v" for i in range(17)])


def test_matches_window_model_and_metadata() -> None:
    chosen = Selection(since=100, until=200, model="gpt-4o-mini", metadata={"team": "a"})
    assert chosen.matches(100, "gpt-4o-mini", {"team": "a", "x": "y"})
    assert chosen.matches(200, "gpt-4o-mini-2024-07-18", {"team": "a"}), "a dated snapshot of the model"
    assert not chosen.matches(99, "gpt-4o-mini", {"team": "a"})
    assert not chosen.matches(201, "gpt-4o-mini", {"team": "a"})
    assert not chosen.matches(150, "gpt-4o", {"team": "a"})
    assert not chosen.matches(150, "gpt-4o-mini-extra", {"team": "a"})
    assert not chosen.matches(150, "gpt-4o-mini", {"team": "b"})
    assert not chosen.matches(150, "gpt-4o-mini", None)
