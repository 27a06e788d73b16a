"""Fixtures shared by every test folder."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support.phoenix import Phoenix, start_phoenix

PHOENIX_READY_TIMEOUT = 90.0
"""Seconds Phoenix may take to start: about 15 on an idle 2-core machine, more while pip is busy."""


@pytest.fixture(scope="session")
def phoenix() -> Iterator[Phoenix]:
    """A Phoenix server receiving OTLP on loopback, started once for the session.

    A missing Phoenix venv is an error naming the command that creates it, never a skip.
    """
    started = time.monotonic()
    server = start_phoenix(ready_timeout=PHOENIX_READY_TIMEOUT)
    print(f"\nPhoenix ready in {time.monotonic() - started:.1f} s at {server.endpoint}")
    try:
        yield server
    finally:
        server.stop()
