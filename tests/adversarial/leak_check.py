"""Tens of thousands of instrumented calls over an in-process transport: RSS must stay flat.

Spans are counted and dropped (the processor keeps none), so what is measured is what chatspan
and the SDK keep, not an exporter's buffer. RSS is read from /proc/self/statm after a warm-up
(imports, caches, allocator arenas) and again at the end, both after a full collection.
"""

from __future__ import annotations

import gc
import json
import os
from typing import Any

from tests.adversarial import sabotage
from tests.adversarial.forms import MESSAGES
from tests.adversarial.harness import instrument
from tests.support.transport import mock_client, response

_PAGE = os.sysconf("SC_PAGE_SIZE")
_HEADERS = {
    "content-type": "application/json",
    "x-request-id": "req-leak",
    "openai-processing-ms": "12",
    "x-ratelimit-remaining-requests": "99",
    "x-ratelimit-remaining-tokens": "9990",
    "x-ratelimit-reset-requests": "6m0s",
}
_COMPLETION = json.dumps(
    {
        "id": "chatcmpl-leak",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "leak-served",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }
).encode()
_CHUNK = {
    "id": "chatcmpl-leak",
    "object": "chat.completion.chunk",
    "created": 1700000000,
    "model": "leak-served",
}
_STREAM = (
    b"".join(
        b"data: "
        + json.dumps({**_CHUNK, "choices": [{"index": 0, "delta": {"content": c}}]}).encode()
        + b"\n\n"
        for c in ("a", "b", "c")
    )
    + b"data: [DONE]\n\n"
)


def rss_bytes() -> int:
    """Resident set size of this process now."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


def _answer(request: Any) -> Any:
    if b'"stream":true' in request.content.replace(b" ", b""):
        return response(200, {**_HEADERS, "content-type": "text/event-stream"}, _STREAM)
    return response(200, _HEADERS, _COMPLETION)


def _rounds(client: Any, calls: int, abandoned: int) -> None:
    create = client.chat.completions.create
    for _ in range(calls):
        create(model="leak", messages=MESSAGES)
    for _ in range(abandoned):
        stream = create(model="leak", messages=MESSAGES, stream=True)
        next(iter(stream))
        del stream


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Warm up, measure, run `calls` plain calls and `abandoned` abandoned streams, measure again."""
    instrumented = instrument(keep=False)
    sabotage.apply(spec.get("sabotage"))
    client = mock_client(_answer)
    _rounds(client, spec["warmup_calls"], spec["warmup_abandoned"])
    gc.collect()
    before = rss_bytes()
    _rounds(client, spec["calls"], spec["abandoned"])
    gc.collect()
    after = rss_bytes()
    started, ended, _ = instrumented.snapshot()
    return {
        "rss_before": before,
        "rss_growth": after - before,
        "spans_started": started,
        "spans_ended": ended,
        "calls": spec["warmup_calls"] + spec["calls"] + spec["warmup_abandoned"] + spec["abandoned"],
    }
