"""End-to-end fixtures: a fresh devserver and API key per test (Phoenix is in tests/conftest.py)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from chatspan.devserver import DevServer


@pytest.fixture
def api_key() -> str:
    """A key no span may contain: the devserver accepts only it, so it surely went over the wire."""
    return f"sk-test-{secrets.token_hex(16)}"


@pytest.fixture
def devserver(api_key: str) -> Iterator[DevServer]:
    """A devserver on a free loopback port, accepting only `api_key`, stopped after the test."""
    with DevServer(api_key=api_key) as server:
        yield server
