"""instrument()/uninstrument() cycles with clients whose accessors are first used in different cycles.

The SDK caches `with_raw_response` / `with_streaming_response` (and the bound methods in them) on
first use, so a client created in cycle 1 whose raw accessor is first touched in cycle 3 holds
whatever `create` was in cycle 3. While instrumented every call form of every client must give
exactly one span, and after `uninstrument()` none.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from chatspan import ChatspanInstrumentor
from tests.adversarial import forms, sabotage
from tests.adversarial.accounting import CountingProcessor
from tests.adversarial.leak_check import _COMPLETION, _HEADERS, _STREAM
from tests.support.transport import http, response

# Form -> the cycle (counted from the client's creation) in which the client first uses it.
FIRST_USED = {"create": 0, "stream-full": 0, "raw": 1, "raw-stream": 2, "streaming": 3, "streaming-stream": 4}


def _answer(request: Any) -> Any:
    if json.loads(request.content).get("stream") is True:
        return response(200, {**_HEADERS, "content-type": "text/event-stream"}, _STREAM)
    return response(200, _HEADERS, _COMPLETION)


def _clients() -> tuple[Any, Any]:
    import openai

    sync = openai.OpenAI(
        api_key="sk-cycles", base_url="https://api.openai.com/v1", max_retries=0,
        http_client=http.Client(transport=http.MockTransport(_answer)),
    )  # fmt: skip
    asynchronous = openai.AsyncOpenAI(
        api_key="sk-cycles", base_url="https://api.openai.com/v1", max_retries=0,
        http_client=http.AsyncClient(transport=http.MockTransport(_answer)),
    )  # fmt: skip
    return sync, asynchronous


def _call_all(made: list[tuple[int, Any, Any]], cycle: int, processor: CountingProcessor) -> dict[str, int]:
    """Every unlocked form on every client; spans started per `client/form`."""
    counts: dict[str, int] = {}
    for born, sync, asynchronous in made:
        for form, offset in FIRST_USED.items():
            if cycle - born < offset:
                continue
            before = processor.started
            seen = forms.observe_call(forms.SYNC_FORMS[form], sync, "cycles")
            counts[f"sync client {born}/{form}"] = processor.started - before
            if seen and seen[-1][0] == "raised":
                counts[f"sync client {born}/{form} raised {seen[-1][1]}"] = -1
            before = processor.started
            seen = asyncio.run(forms.observe_async_call(forms.ASYNC_FORMS[form], asynchronous, "cycles"))
            counts[f"async client {born}/{form}"] = processor.started - before
            if seen and seen[-1][0] == "raised":
                counts[f"async client {born}/{form} raised {seen[-1][1]}"] = -1
    return counts


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """`cycles` instrument/uninstrument cycles, a new client pair in each, every form on every client."""
    processor = CountingProcessor(keep=False)
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(processor)
    meter_provider = MeterProvider()
    instrumentor = ChatspanInstrumentor()
    sabotage.apply(spec.get("sabotage"))
    made: list[tuple[int, Any, Any]] = []
    problems: list[str] = []
    calls = 0
    for cycle in range(spec["cycles"]):
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        made.append((cycle, *_clients()))
        for where, count in _call_all(made, cycle, processor).items():
            calls += 1
            if count != 1:
                problems.append(f"cycle {cycle} instrumented, {where}: {count} spans")
        instrumentor.uninstrument()
        for where, count in _call_all(made, cycle, processor).items():
            calls += 1
            if count != 0:
                problems.append(f"cycle {cycle} uninstrumented, {where}: {count} spans")
    if processor.started != processor.ended:
        problems.append(f"spans started {processor.started} != ended {processor.ended}")
    return {"calls": calls, "problems": problems, "spans_started": processor.started,
            "spans_ended": processor.ended}  # fmt: skip
