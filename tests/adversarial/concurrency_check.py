"""Concurrent calls under their own parent spans: parents, attributes and counts stay per call.

Every call gets an id `cNNNNx` that the hostile server echoes into the response id, request id and
response model, and the call's model is `m-<id>`; a span carrying any other call's id has had an
attribute cross over.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from tests.adversarial import forms, sabotage
from tests.adversarial.harness import Instrumented, clients, instrument

MIX = ("ok", "ok", "ok", "headers-huge", "html-500", "sse-reset", "surrogate-fields", "429-bogus",
       "usage-negative", "sse-done-early", "ok", "sse-non-json")  # fmt: skip
"""The cases concurrent calls cycle through: mostly well-behaved, a mix of hostile ones."""

FORMS = ("create", "stream-full", "stream-break", "raw")
_ID = re.compile(r"c\d{4}x")
THREAD_BOUND = 60.0


def _call_id(number: int) -> str:
    return f"c{number:04d}x"


def _plan(count: int) -> list[tuple[str, str, str]]:
    """(call id, case, form) for `count` calls."""
    cases, kinds = itertools.cycle(MIX), itertools.cycle(FORMS)
    return [(_call_id(n), next(cases), next(kinds)) for n in range(count)]


def _span_problems(instrumented: Instrumented, parents: dict[str, int], calls: int) -> list[str]:
    problems: list[str] = []
    chat = [s for s in instrumented.processor.finished if s.name.startswith("chat ")]
    by_parent: dict[int, list[ReadableSpan]] = {}
    for span in chat:
        if span.parent is not None:
            by_parent.setdefault(span.parent.span_id, []).append(span)
    if len(chat) != calls:
        problems.append(f"{len(chat)} chat spans for {calls} calls")
    for call_id, parent in parents.items():
        mine = by_parent.get(parent, [])
        if len(mine) != 1:
            problems.append(f"{call_id}: {len(mine)} chat spans under its caller's span")
            continue
        for key, value in (mine[0].attributes or {}).items():
            for text in value if isinstance(value, tuple) else (value,):
                foreign = {found for found in _ID.findall(str(text)) if found != call_id}
                if foreign:
                    problems.append(f"{call_id}: {key}={text!r} belongs to {sorted(foreign)}")
    started, ended, _ = instrumented.snapshot()
    if started != ended:
        problems.append(f"spans started {started} != ended {ended}")
    return problems


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Threads (`threads` x `per_thread` calls) or `tasks` asyncio tasks, then the span checks."""
    instrumented = instrument(keep=True)
    sabotage.apply(spec.get("sabotage"))
    tracer = instrumented.tracer_provider.get_tracer("adversarial.caller")
    parents: dict[str, int] = {}
    lock = threading.Lock()
    if spec["mode"] == "threads":
        plain, _ = clients(spec["base_url"], asynchronous=False)
        plan = _plan(spec["threads"] * spec["per_thread"])

        def work(part: list[tuple[str, str, str]]) -> None:
            for call_id, case, form in part:
                client = plain.with_options(default_headers={"x-hostile-case": case, "x-call-id": call_id})
                with tracer.start_as_current_span(f"caller {call_id}") as parent:
                    with lock:
                        parents[call_id] = parent.get_span_context().span_id
                    forms.observe_call(forms.SYNC_FORMS[form], client, f"m-{call_id}")

        threads = [
            threading.Thread(target=work, args=(plan[i :: spec["threads"]],), daemon=True)
            for i in range(spec["threads"])
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=THREAD_BOUND)
        hung = sum(thread.is_alive() for thread in threads)
    else:
        aclient, _ = clients(spec["base_url"], asynchronous=True)
        plan = _plan(spec["tasks"])

        async def one(call_id: str, case: str, form: str) -> None:
            client = aclient.with_options(default_headers={"x-hostile-case": case, "x-call-id": call_id})
            with tracer.start_as_current_span(f"caller {call_id}") as parent:
                parents[call_id] = parent.get_span_context().span_id
                await forms.observe_async_call(forms.ASYNC_FORMS[form], client, f"m-{call_id}")

        async def all_tasks() -> None:
            await asyncio.wait_for(asyncio.gather(*(one(*item) for item in plan)), THREAD_BOUND)

        asyncio.run(all_tasks())
        hung = 0
    problems = [f"{hung} threads still running after {THREAD_BOUND} s"] if hung else []
    problems += _span_problems(instrumented, parents, len(plan))
    started, ended, _ = instrumented.snapshot()
    return {"calls": len(plan), "problems": problems, "spans_started": started, "spans_ended": ended}
