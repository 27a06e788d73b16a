"""A local OpenAI-compatible chat completions server for tests and demos, standard library only.

Run it with ``python -m chatspan.devserver --port 0`` (it prints one line,
``chatspan devserver listening on http://127.0.0.1:PORT/v1``), or in-process::

    from chatspan.devserver import DevServer

    with DevServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test")

`POST /v1/chat/completions` answers like OpenAI's API, as its OpenAPI spec describes: validation
errors in OpenAI's words, deterministic content derived from the request (see
`chatspan.devserver.completions`), `n`, `max_tokens`, `stop`, tool calls, refusals, JSON output,
streaming with `include_usage`, `store: true`, and the headers OpenAI sends, with rate limits that
really count down in a 60 s sliding window.

Fault knobs (full syntax in `chatspan.devserver.faults`): a request header
``x-chatspan-fault: 429;times=1, latency=0.2``, or ``POST /_chatspan/faults`` with a JSON list such
as ``["500"]`` (until ``[]``), or ``DevServer.set_faults([...])``. Faults: a 4xx/5xx status,
``latency=S``, ``first-token=S``, ``chunk-delay=S``, ``drop-after=N``, ``malformed``; options
``;times=N`` (fail only while the SDK's ``x-stainless-retry-count`` < N) and ``;retry-after=S``.
"""

from __future__ import annotations

from chatspan.devserver.faults import FaultSyntaxError
from chatspan.devserver.server import DevServer
from chatspan.devserver.store import StoredCompletion

__all__ = ["DevServer", "FaultSyntaxError", "StoredCompletion"]
