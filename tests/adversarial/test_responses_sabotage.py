"""The Responses checks fail when chatspan misbehaves on a Responses call or event stream.

Each sabotage (tests/adversarial/sabotage.py) runs in its own instrumented child over a few
Responses cases in every Responses form; the verdict functions `test_responses_differential`
applies must then report it, on the form the pattern names. openai before 1.66 has no
`client.responses`: there `test_responses_differential` asserts that, and these do not run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import openai
import pytest

from tests.adversarial.hostile_server import HostileServer
from tests.adversarial.responses_forms import SYNC_FORMS, has_responses_api, reported_failures
from tests.adversarial.runner import run_children
from tests.adversarial.verdicts import (
    accounting_problems,
    differences,
    encoding_problems,
    unreported_failures,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not has_responses_api(),
        reason=f"openai {openai.__version__} lacks client.responses (see test_responses_differential)",
    ),
]

CASES = ["resp-ok", "resp-html-500", "resp-sse-reset", "resp-usage-huge", "resp-failed-error-str",
         "resp-sse-error-event"]  # fmt: skip
Verdict = Callable[[dict[str, Any], dict[str, Any]], list[str]]
_STREAM_FORM = (
    r"^(stream-full|stream-with|stream-break|stream-abandon|streaming-stream|stream-helper|"
    r"stream-helper-break|retrieve-stream)/resp-[a-z0-9-]+: "
)

# sabotage -> (the check that must report it, a pattern one line of its report must match)
EXPECTED: dict[str, tuple[str, str]] = {
    "drop-event": ("differential", r"^stream-full/resp-ok: 10 observations plain, [0-9] instrumented"),
    "unended-span": ("accounting", _STREAM_FORM + "spans ended: 0 of 1 started"),
    "invalid-string": ("encoding", _STREAM_FORM + ".*surrogates not allowed"),
    "invalid-int": ("encoding", r"^retrieve/resp-ok: .*Value out of range"),
    "error-status-unset": (
        "accounting",
        r"^stream-full/resp-sse-reset: the application saw an error but the span status is not ERROR",
    ),
    "exception-message": ("differential", r"^create/resp-html-500: .*sabotaged: "),
    "raise-in-wrapper": ("differential", r"chatspan sabotage: raised from inside the wrapper"),
    "failure-unreported": (
        "failures",
        r"^stream-full/resp-sse-error-event: the server reported a failure but the span statuses are "
        r"\['UNSET'\]",
    ),
}
CHECKS: dict[str, Verdict] = {
    "differential": differences,
    "accounting": lambda plain, run: accounting_problems(run),
    "encoding": lambda plain, run: encoding_problems(run),
    "failures": lambda plain, run: unreported_failures(run, reported_failures() & set(run["calls"])),
}


@pytest.fixture(scope="module")
def runs(hostile_server: HostileServer) -> dict[str, dict[str, Any]]:
    """ "plain", "clean" (instrumented, unsabotaged) and each sabotage -> the child's result."""
    base = {"check": "differential", "api": "responses", "group": "sync", "forms": list(SYNC_FORMS),
            "cases": CASES, "base_url": hostile_server.base_url}  # fmt: skip
    names = ["plain", "clean", *EXPECTED]
    specs = [{**base, "mode": "plain"}, {**base, "mode": "instrumented"}]
    specs += [{**base, "mode": "instrumented", "sabotage": name} for name in EXPECTED]
    return dict(zip(names, run_children(specs, timeout=120.0), strict=True))


@pytest.mark.parametrize("sabotage", list(EXPECTED))
def test_check_reports_the_sabotage(runs: dict[str, dict[str, Any]], sabotage: str) -> None:
    check, pattern = EXPECTED[sabotage]
    reported = CHECKS[check](runs["plain"], runs[sabotage])
    assert any(re.search(pattern, line) for line in reported), reported
    # The evidence is the sabotage's doing, not a product bug the unsabotaged run shows as well.
    clean = CHECKS[check](runs["plain"], runs["clean"])
    assert not any(re.search(pattern, line) for line in clean), clean
