"""instrument/uninstrument cycles and fork: chatspan's life outside a single call.

Cycles: 20 cycles, a new sync and async client in each, their raw and streaming accessors first used
cycles later; one span per call while instrumented, none after. Fork: 30 forks while other threads
are inside chatspan (half of them while a thread holds the headroom's lock); every child makes an
instrumented call and exits within 10 s.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.adversarial import summary
from tests.adversarial.runner import run_children

pytestmark = pytest.mark.slow

CYCLES = {"check": "cycles", "cycles": 20}
FORKS = {"check": "fork", "forks": 30}


@pytest.fixture(scope="module")
def runs() -> dict[str, dict[str, Any]]:
    """name -> result, the real and sabotaged runs side by side."""
    named = {
        "cycles": CYCLES,
        "fork": FORKS,
        "cycles noop-uninstrument": {**CYCLES, "cycles": 4, "sabotage": "noop-uninstrument"},
        "fork fork-hang": {**FORKS, "forks": 2, "child_bound": 2.0, "sabotage": "fork-hang"},
    }
    results = dict(zip(named, run_children(list(named.values()), timeout=120.0), strict=True))
    summary.put("instrument/uninstrument cycles", CYCLES["cycles"])
    summary.put("cycle calls checked", results["cycles"]["calls"])
    summary.put("forks", results["fork"]["forks"])
    return results


def test_every_form_on_every_client_follows_instrument_state(runs: dict[str, dict[str, Any]]) -> None:
    result = runs["cycles"]
    assert result["problems"] == [], "\n".join(result["problems"])
    assert result["spans_started"] == result["spans_ended"] > 0


def test_spans_after_uninstrument_are_reported(runs: dict[str, dict[str, Any]]) -> None:
    problems = runs["cycles noop-uninstrument"]["problems"]
    assert any("uninstrumented" in p and ": 1 spans" in p for p in problems), problems


def test_a_forked_child_makes_an_instrumented_call(runs: dict[str, dict[str, Any]]) -> None:
    result = runs["fork"]
    assert result["problems"] == [], "\n".join(result["problems"])
    assert result["forks"] == FORKS["forks"]


def test_a_hanging_forked_child_is_killed_and_reported(runs: dict[str, dict[str, Any]]) -> None:
    problems = runs["fork fork-hang"]["problems"]
    assert any("child hung" in p and "was killed" in p and "sabotage.py" in p for p in problems), problems
