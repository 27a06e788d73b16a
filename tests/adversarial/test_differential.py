"""Every hostile case x call form, plain and instrumented in fresh processes: the app sees the same.

Six children (sync and async, each plain, instrumented, and instrumented with
CHATSPAN_STREAM_INCLUDE_USAGE=true) run all cases in all forms. The instrumented ones also account
for every call's span and encode every span and metric with the OTLP protobuf encoder.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.adversarial import summary
from tests.adversarial.child import planned_calls
from tests.adversarial.forms import SYNC_FORMS
from tests.adversarial.hostile_cases import CASES
from tests.adversarial.hostile_server import HostileServer
from tests.adversarial.runner import run_children
from tests.adversarial.verdicts import accounting_problems, differences, encoding_problems

pytestmark = pytest.mark.slow

GROUPS = ("sync", "async")
MODES = ("plain", "instrumented", "usage")
CHILD_TIMEOUT = 150.0
"""Seconds for the six children together (about 30 on an idle 2-core machine)."""

Runs = dict[tuple[str, str], dict[str, Any]]


@pytest.fixture(scope="module")
def runs(hostile_server: HostileServer) -> Runs:
    """group, mode -> the child's result."""
    specs = [
        {
            "check": "differential",
            "mode": mode,
            "group": group,
            "forms": list(SYNC_FORMS),
            "cases": list(CASES),
            "base_url": hostile_server.base_url,
        }
        for group in GROUPS
        for mode in MODES
    ]
    results = run_children(specs, timeout=CHILD_TIMEOUT)
    found: Runs = {
        (str(spec["group"]), str(spec["mode"])): result for spec, result in zip(specs, results, strict=True)
    }
    planned = len(planned_calls(list(SYNC_FORMS), list(CASES)))
    summary.put("differential cases", len(CASES))
    summary.put("differential call forms", len(SYNC_FORMS) * len(GROUPS))
    summary.put("differential variants (case x form x mode, run)", planned * len(GROUPS) * len(MODES))
    summary.add("calls compared (instrumented vs plain)", planned * len(GROUPS) * (len(MODES) - 1))
    for (_, mode), result in found.items():
        if mode != "plain":
            summary.add("spans accounted", result["spans_ended"])
    return found


@pytest.mark.parametrize("group", GROUPS)
def test_every_planned_call_ran(runs: Runs, group: str) -> None:
    planned = {f"{form}/{case}" for form, case in planned_calls(list(SYNC_FORMS), list(CASES))}
    for mode in MODES:
        assert set(runs[group, mode]["calls"]) == planned, mode
    # Each case really was hostile in its own way: the plain runs saw more than one kind of outcome.
    outcomes = {repr(call["seen"][-1][:2]) for call in runs[group, "plain"]["calls"].values() if call["seen"]}
    assert len(outcomes) > 10


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("mode", ["instrumented", "usage"])
def test_application_sees_the_same_with_chatspan(runs: Runs, group: str, mode: str) -> None:
    found = differences(runs[group, "plain"], runs[group, mode])
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("mode", ["instrumented", "usage"])
def test_one_span_per_call_ended_and_errors_marked(runs: Runs, group: str, mode: str) -> None:
    found = accounting_problems(runs[group, mode])
    assert found == [], "\n".join(found)
    assert runs[group, mode]["spans_started"] == len(runs[group, mode]["calls"])


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("mode", ["instrumented", "usage"])
def test_every_span_and_metric_encodes_as_otlp(runs: Runs, group: str, mode: str) -> None:
    found = encoding_problems(runs[group, mode])
    assert found == [], "\n".join(found)
