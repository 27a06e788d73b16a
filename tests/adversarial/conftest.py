"""Fixtures of the adversarial suite: one hostile server per session, and the summary at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.adversarial import summary
from tests.adversarial.hostile_cases import CASES
from tests.adversarial.hostile_responses import RESPONSES_CASES
from tests.adversarial.hostile_server import HostileServer


@pytest.fixture(scope="session")
def hostile_server() -> Iterator[HostileServer]:
    """The hostile server, shared by every child of the session."""
    with HostileServer({**CASES, **RESPONSES_CASES}) as server:
        yield server


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the suite's figures and write them to test-output/adversarial-summary.json."""
    if not summary.FIGURES:
        return
    path = summary.write()
    terminalreporter.section("adversarial suite figures")
    for name, value in sorted(summary.FIGURES.items()):
        terminalreporter.write_line(f"{name}: {value}")
    terminalreporter.write_line(f"written to {path}")
