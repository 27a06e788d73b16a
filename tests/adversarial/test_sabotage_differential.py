"""The differential, accounting and encoding checks fail when chatspan is made to misbehave.

Each sabotage (tests/adversarial/sabotage.py) runs in its own instrumented child over a few cases;
the verdict functions the real tests use must then report it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chatspan.instrumentation.streams import _StreamState
from tests.adversarial import sabotage as sabotage_module
from tests.adversarial.forms import SYNC_FORMS
from tests.adversarial.hostile_server import HostileServer
from tests.adversarial.runner import ChildFailed, run_children
from tests.adversarial.sabotage import SabotageTargetMissing
from tests.adversarial.verdicts import accounting_problems, differences, encoding_problems

pytestmark = pytest.mark.slow

CASES = ["ok", "html-500", "sse-reset", "headers-huge"]
Verdict = Callable[[dict[str, Any], dict[str, Any]], list[str]]

# sabotage -> (the check that must report it, a text its report must contain)
EXPECTED: dict[str, tuple[str, str]] = {
    "drop-chunk": ("differential", "stream-full/ok"),
    "raise-in-wrapper": ("differential", "chatspan sabotage: raised from inside the wrapper"),
    "exception-message": ("differential", "sabotaged: "),
    "unended-span": ("accounting", "spans ended: 0 of 1 started"),
    "error-status-unset": ("accounting", "create/html-500: the application saw an error but the span status"),
    "invalid-string": ("encoding", "surrogates not allowed"),
    "invalid-int": ("encoding", "Value out of range"),
}
CHECKS: dict[str, Verdict] = {
    "differential": differences,
    "accounting": lambda plain, run: accounting_problems(run),
    "encoding": lambda plain, run: encoding_problems(run),
}


@pytest.fixture(scope="module")
def runs(hostile_server: HostileServer) -> dict[str, dict[str, Any]]:
    """ "plain" and each sabotage -> the child's result."""
    base = {"check": "differential", "group": "sync", "forms": list(SYNC_FORMS), "cases": CASES,
            "base_url": hostile_server.base_url}  # fmt: skip
    names = ["plain", "clean", *EXPECTED]
    specs = [{**base, "mode": "plain"}, {**base, "mode": "instrumented"}]
    specs += [{**base, "mode": "instrumented", "sabotage": name} for name in EXPECTED]
    return dict(zip(names, run_children(specs, timeout=120.0), strict=True))


@pytest.mark.parametrize("sabotage", list(EXPECTED))
def test_check_reports_the_sabotage(runs: dict[str, dict[str, Any]], sabotage: str) -> None:
    check, evidence = EXPECTED[sabotage]
    reported = CHECKS[check](runs["plain"], runs[sabotage])
    assert any(evidence in line for line in reported), reported
    # The evidence is the sabotage's doing, not a product bug the unsabotaged run shows as well.
    clean = CHECKS[check](runs["plain"], runs["clean"])
    assert not any(evidence in line for line in clean), clean


def test_a_moved_sabotage_target_fails_loudly() -> None:
    with pytest.raises(SabotageTargetMissing, match="no callable 'take_renamed'"):
        sabotage_module._patch(_StreamState, "take_renamed", lambda f: f)
    with pytest.raises(SabotageTargetMissing, match="unknown sabotage"):
        sabotage_module.apply("no-such-sabotage")


def test_a_sabotage_that_cannot_be_applied_fails_the_child(hostile_server: HostileServer) -> None:
    spec = {"check": "differential", "group": "sync", "forms": ["create"], "cases": ["ok"],
            "base_url": hostile_server.base_url, "mode": "instrumented",
            "sabotage": "no-such-sabotage"}  # fmt: skip
    with pytest.raises(ChildFailed, match="SabotageTargetMissing"):
        run_children([spec], timeout=60.0)
