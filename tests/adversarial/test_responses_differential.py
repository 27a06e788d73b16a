"""Every hostile Responses API case x call form, plain and instrumented in fresh processes.

Six children (sync and async, each plain, instrumented, and instrumented with message-content
capture, which maps the hostile output items too) run every case of `hostile_responses` in every
form of `responses_forms`, many calls per child. What the application saw must be identical; the
instrumented ones account for every call's span and encode every span and metric as OTLP.

openai before 1.66 has no `client.responses`: on such an SDK only
`test_this_sdk_has_no_responses_api_so_no_responses_call_runs` runs, and it asserts that the SDK
really lacks the API (so a broken probe cannot make this whole module pass by running nothing).
"""

from __future__ import annotations

import importlib
from typing import Any

import openai
import pytest

from tests.adversarial import summary
from tests.adversarial.child import planned_calls
from tests.adversarial.forms import is_call_error
from tests.adversarial.hostile_responses import RESPONSES_CASES
from tests.adversarial.hostile_server import HostileServer
from tests.adversarial.responses_forms import SYNC_FORMS, has_responses_api, reported_failures
from tests.adversarial.runner import run_children
from tests.adversarial.verdicts import (
    accounting_problems,
    differences,
    encoding_problems,
    unreported_failures,
)

pytestmark = pytest.mark.slow

HAS_RESPONSES = has_responses_api()
needs_responses = pytest.mark.skipif(
    not HAS_RESPONSES, reason=f"openai {openai.__version__} has no client.responses (asserted below)"
)
GROUPS = ("sync", "async")
MODES = ("plain", "instrumented", "content")
CHILD_TIMEOUT = 150.0
"""Seconds for the six children together (about 25 on an idle 2-core machine)."""

Runs = dict[tuple[str, str], dict[str, Any]]


def _planned() -> list[tuple[str, str]]:
    return planned_calls(list(SYNC_FORMS), list(RESPONSES_CASES), "responses")


@pytest.fixture(scope="module")
def runs(hostile_server: HostileServer) -> Runs:
    """group, mode -> the child's result."""
    specs = [
        {
            "check": "differential",
            "api": "responses",
            "mode": mode,
            "group": group,
            "forms": list(SYNC_FORMS),
            "cases": list(RESPONSES_CASES),
            "base_url": hostile_server.base_url,
        }
        for group in GROUPS
        for mode in MODES
    ]
    results = run_children(specs, timeout=CHILD_TIMEOUT)
    found: Runs = {
        (str(spec["group"]), str(spec["mode"])): result for spec, result in zip(specs, results, strict=True)
    }
    planned = len(_planned())
    summary.put("responses cases", len(RESPONSES_CASES))
    summary.put("responses call forms", len(SYNC_FORMS) * len(GROUPS))
    summary.put("responses variants (case x form x mode, run)", planned * len(GROUPS) * len(MODES))
    summary.add("calls compared (instrumented vs plain)", planned * len(GROUPS) * (len(MODES) - 1))
    summary.add("responses calls compared (instrumented vs plain)", planned * len(GROUPS) * (len(MODES) - 1))
    for (_, mode), result in found.items():
        if mode != "plain":
            summary.add("spans accounted", result["spans_ended"])
            summary.add("responses spans accounted", result["spans_ended"])
    return found


@pytest.mark.skipif(HAS_RESPONSES, reason=f"openai {openai.__version__} has client.responses: tested below")
def test_this_sdk_has_no_responses_api_so_no_responses_call_runs() -> None:
    client = openai.OpenAI(api_key="sk-probe", base_url="http://127.0.0.1:9/v1")
    assert not hasattr(client, "responses")
    with pytest.raises(ImportError):
        importlib.import_module("openai.resources.responses")
    summary.put("responses cases", f"none: openai {openai.__version__} has no client.responses")


@needs_responses
@pytest.mark.parametrize("group", GROUPS)
def test_every_planned_call_ran(runs: Runs, group: str) -> None:
    planned = {f"{form}/{case}" for form, case in _planned()}
    for mode in MODES:
        assert set(runs[group, mode]["calls"]) == planned, mode
    # Each case really was hostile in its own way: the plain runs saw many kinds of outcome, and
    # the stream forms saw events (so no case broke every call the same way).
    plain = runs[group, "plain"]["calls"]
    outcomes = {repr(call["seen"][-1][:2]) for call in plain.values() if call["seen"]}
    assert len(outcomes) > 10
    assert len(plain["stream-full/resp-ok"]["seen"]) == 10
    assert plain["stream-helper/resp-ok"]["seen"][-1][0] == "final"
    assert plain["retrieve-stream/resp-ok"]["seen"] == plain["stream-full/resp-ok"]["seen"]


@needs_responses
@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("mode", ["instrumented", "content"])
def test_application_sees_the_same_with_chatspan(runs: Runs, group: str, mode: str) -> None:
    found = differences(runs[group, "plain"], runs[group, mode])
    assert found == [], "\n".join(found)


@needs_responses
@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("mode", ["instrumented", "content"])
def test_one_span_per_call_ended_and_errors_marked(runs: Runs, group: str, mode: str) -> None:
    found = accounting_problems(runs[group, mode])
    assert found == [], "\n".join(found)
    assert runs[group, mode]["spans_started"] == len(runs[group, mode]["calls"])


@needs_responses
@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("mode", ["instrumented", "content"])
def test_every_span_and_metric_encodes_as_otlp(runs: Runs, group: str, mode: str) -> None:
    found = encoding_problems(runs[group, mode])
    assert found == [], "\n".join(found)


@needs_responses
@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("mode", ["instrumented", "content"])
def test_a_failure_the_server_reported_makes_an_error_span(runs: Runs, group: str, mode: str) -> None:
    found = unreported_failures(runs[group, mode], reported_failures())
    assert found == [], "\n".join(found)
    # None of these raised, so the accounting check alone would not have asked for ERROR.
    plain = runs[group, "plain"]["calls"]
    assert not any(is_call_error(plain[key]["seen"]) for key in reported_failures())
