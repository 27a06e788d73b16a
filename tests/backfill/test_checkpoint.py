from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from chatspan.backfill import checkpoint as checkpoint_module
from chatspan.backfill.checkpoint import (
    SETTLE_SECONDS,
    Checkpoint,
    CheckpointError,
    Pass,
    default_path,
    load,
    locked,
    save,
    scope_key,
)

NOW = 1_800_000_000


def test_fresh_plan_is_one_pass_over_the_window() -> None:
    assert Checkpoint("s").plan(100, 200) == [Pass(100, 200)]


def test_a_finished_pass_is_not_listed_again_but_its_unsettled_tail_is() -> None:
    state = Checkpoint("s")
    running = state.plan(NOW - 1000, NOW)[0]
    state.finish(running, started_at=NOW)
    assert state.covered == [[NOW - 1000, NOW - SETTLE_SECONDS]]
    assert state.plan(NOW - 1000, NOW + 50) == [Pass(NOW - SETTLE_SECONDS + 1, NOW + 50)]


def test_unfinished_pass_resumes_first_from_its_cursor_then_the_gaps_newest_first() -> None:
    state = Checkpoint("s", covered=[[300, 400]])
    running = Pass(100, 200)
    state.confirm(running, "chatcmpl-9", 5)
    assert state.plan(0, 500) == [
        Pass(100, 200, "chatcmpl-9", 5),
        Pass(401, 500),
        Pass(201, 299),
        Pass(0, 99),
    ]


def test_intervals_merge() -> None:
    state = Checkpoint("s")
    for since, until in ((100, 200), (201, 300), (50, 120), (400, 500)):
        state.finish(Pass(since, until), started_at=NOW)
    assert state.covered == [[50, 300], [400, 500]]
    assert state.plan(0, 600) == [Pass(501, 600), Pass(301, 399), Pass(0, 49)]
    assert state.plan(60, 290) == []


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "cp.json"
    state = Checkpoint("scope1", covered=[[1, 2]])
    state.confirm(Pass(5, 9), "chatcmpl-x", 3)
    save(path, state)
    assert load(path, "scope1") == state
    assert sorted(p.name for p in path.parent.iterdir()) == ["cp.json"], "no temp file left behind"


def test_missing_file_is_a_fresh_start(tmp_path: Path) -> None:
    assert load(tmp_path / "none.json", "s") == Checkpoint("s")


def test_damaged_or_foreign_checkpoints_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    path.write_text("{not json")
    with pytest.raises(CheckpointError, match="damaged"):
        load(path, "s")
    path.write_text(json.dumps({"version": 99, "scope": "s"}))
    with pytest.raises(CheckpointError, match="damaged"):
        load(path, "s")
    save(path, Checkpoint("other"))
    with pytest.raises(CheckpointError, match="another source"):
        load(path, "s")


def test_a_failed_write_keeps_the_old_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cp.json"
    save(path, Checkpoint("s", covered=[[1, 2]]))

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save(path, Checkpoint("s", covered=[[1, 99]]))
    monkeypatch.undo()
    assert load(path, "s").covered == [[1, 2]]
    assert [p.name for p in tmp_path.iterdir()] == ["cp.json"]


def test_lock_is_exclusive(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    with locked(path), pytest.raises(CheckpointError, match="another backfill"), locked(path):
        pass
    with locked(path):
        pass


def test_scope_depends_on_source_and_filters(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    base = scope_key("https://api.openai.com/v1/", None, None, {})
    assert base == scope_key("https://api.openai.com/v1", None, None, {})
    assert base != scope_key("http://127.0.0.1:8000/v1", None, None, {})
    assert base != scope_key("https://api.openai.com/v1", "proj_1", None, {})
    assert scope_key("u", None, "m", {"a": "1", "b": "2"}) == scope_key("u", None, "m", {"b": "2", "a": "1"})
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_path(base) == tmp_path / "chatspan" / f"backfill-{base}.json"


def test_confirmed_ids_of_the_tail_are_kept_until_the_settled_edge_passes_them(tmp_path: Path) -> None:
    state = Checkpoint("s")
    running = state.plan(NOW - 1000, NOW)[0]
    state.confirm(running, "c3", 3, {"c3": NOW - 10, "c2": NOW - 300})
    state.finish(running, started_at=NOW)
    assert state.tail == {"c3": NOW - 10, "c2": NOW - 300}, "both are in the unsettled last minutes"
    assert state.already_sent("c2") and not state.already_sent("c1")
    path = tmp_path / "cp.json"
    save(path, state)
    assert load(path, "s").tail == state.tail
    # Five minutes later the settled edge has passed c2 but not c3.
    later = NOW + 300
    running = state.plan(NOW - 1000, later)[0]
    state.finish(running, started_at=later)
    assert state.tail == {"c3": NOW - 10}


def test_the_tail_is_bounded_and_keeps_the_newest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoint_module, "TAIL_LIMIT", 3)
    state = Checkpoint("s")
    running = Pass(NOW - 100, NOW)
    state.confirm(running, "c4", 2, {"c1": NOW - 4, "c2": NOW - 3})
    state.confirm(running, "c4", 2, {"c3": NOW - 2, "c4": NOW - 1})
    assert state.tail == {"c2": NOW - 3, "c3": NOW - 2, "c4": NOW - 1}
    assert len(Checkpoint("s").tail) == 0


def test_the_real_bound_is_ten_thousand() -> None:
    state = Checkpoint("s")
    running = Pass(NOW - 20_000, NOW)
    state.confirm(running, "x", 12_000, {f"c{i}": NOW - i for i in range(12_000)})
    assert len(state.tail) == checkpoint_module.TAIL_LIMIT == 10_000
    assert state.already_sent("c0") and not state.already_sent("c11999"), "the oldest go first"


def test_a_format_1_file_reads_as_format_2_with_an_empty_tail(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    version_1 = {
        "version": 1,
        "scope": "s",
        "covered": [[1, 2]],
        "current": {"since": 5, "until": 9, "cursor": "chatcmpl-x", "exported": 3},
    }
    path.write_text(json.dumps(version_1))
    state = load(path, "s")
    assert state == Checkpoint("s", covered=[[1, 2]], current=Pass(5, 9, "chatcmpl-x", 3), tail={})
    save(path, state)
    assert json.loads(path.read_text())["version"] == 2


def test_a_pass_finished_by_a_later_run_is_settled_only_up_to_the_run_that_began_it() -> None:
    state = Checkpoint("s")
    running = state.plan(NOW - 1000, NOW)[0]
    running.opened_at = NOW  # begun by a run at NOW, killed mid-pass
    state.confirm(running, "c5", 5, {"c5": NOW - 30})
    an_hour_later = NOW + 3600
    (resumed,) = state.plan(NOW - 1000, NOW)
    assert resumed.opened_at == NOW and resumed.cursor == "c5"
    state.finish(resumed, started_at=an_hour_later)
    # What the first run listed in its last ten minutes was not settled then: listed again.
    assert state.covered == [[NOW - 1000, NOW - SETTLE_SECONDS]]
    assert state.tail == {"c5": NOW - 30}


@pytest.mark.parametrize("text", ["[1, 2]", '"a string"', "42"])
def test_a_checkpoint_that_is_no_json_object_is_damaged_not_a_traceback(tmp_path: Path, text: str) -> None:
    path = tmp_path / "checkpoint.json"
    path.write_text(text)
    with pytest.raises(CheckpointError, match="damaged"):
        load(path, "scope")
