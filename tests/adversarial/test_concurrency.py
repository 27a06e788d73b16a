"""Concurrent calls (8 threads x 50, 100 asyncio tasks) under their own parent spans.

Each chatspan span must hang under its caller's span, carry only its own call's ids, and end; the
sabotaged runs (an attribute copied from the previous call, spans started without the current
context) prove the check can see both failures.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.adversarial import summary
from tests.adversarial.hostile_server import HostileServer
from tests.adversarial.runner import run_children

pytestmark = pytest.mark.slow

THREADS = {"check": "concurrency", "mode": "threads", "threads": 8, "per_thread": 50}
TASKS = {"check": "concurrency", "mode": "asyncio", "tasks": 100}


@pytest.fixture(scope="module")
def runs(hostile_server: HostileServer) -> dict[str, dict[str, Any]]:
    """name -> result, for the real and the sabotaged runs (all started at once)."""
    base_url = {"base_url": hostile_server.base_url}
    named = {
        "threads": {**THREADS, **base_url},
        "asyncio": {**TASKS, **base_url},
        "threads cross-call": {**THREADS, **base_url, "sabotage": "cross-call"},
        "asyncio orphan-span": {**TASKS, **base_url, "sabotage": "orphan-span"},
    }
    results = dict(zip(named, run_children(list(named.values()), timeout=120.0), strict=True))
    for name in ("threads", "asyncio"):
        summary.add("concurrent calls", results[name]["calls"])
        summary.add("spans accounted", results[name]["spans_ended"])
    return results


@pytest.mark.parametrize("name", ["threads", "asyncio"])
def test_concurrent_spans_stay_with_their_call(runs: dict[str, dict[str, Any]], name: str) -> None:
    result = runs[name]
    assert result["problems"] == [], "\n".join(result["problems"])
    # Each call's span and its caller's span.
    assert result["spans_started"] == result["spans_ended"] == 2 * result["calls"]


def test_an_attribute_from_another_call_is_reported(runs: dict[str, dict[str, Any]]) -> None:
    problems = runs["threads cross-call"]["problems"]
    assert any("gen_ai.request.model=" in p and "belongs to" in p for p in problems), problems


def test_a_span_outside_its_caller_is_reported(runs: dict[str, dict[str, Any]]) -> None:
    problems = runs["asyncio orphan-span"]["problems"]
    assert any("0 chat spans under its caller's span" in p for p in problems), problems
