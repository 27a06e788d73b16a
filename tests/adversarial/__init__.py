"""An adversarial suite for chatspan's live instrumentation: a hostile server, and proofs.

What it checks, against chatspan's three promises (the application behaves exactly as without it;
every logical call ends exactly one span, errors with status ERROR; every value is valid OTLP):

- `hostile_server.py` + `hostile_cases.py`: a raw-socket HTTP/1.1 server on 127.0.0.1 whose answer
  is chosen per request (`x-hostile-case` header, else `model`): invalid JSON, wrong JSON types,
  numbers beyond int64 / 1e400 / 5,000 digits, lone surrogates and invalid UTF-8 in fields and
  headers, absurd rate-limit and timing headers, bogus retry-after on 429s, HTML 5xx pages, SSE
  streams that are truncated, endless, reset, ended early, choice-less, non-JSON or `event: error`,
  short bodies and broken chunked encoding. Every connection is bounded in time.
- `test_differential.py`: every case in every call form (`forms.py`: create, streams consumed,
  broken off, abandoned, in `with`, raw and streaming responses, parse, the stream helper; sync
  and async) in fresh child processes (`child.py`, started by `runner.py`), plain, instrumented,
  and instrumented with CHATSPAN_STREAM_INCLUDE_USAGE=true. What the application saw must be
  identical; the instrumented children account for every span (`accounting.py`: started == ended,
  one per call, ERROR on errors) and encode every span and metric with the OTLP protobuf encoder.
- `test_responses_differential.py`: the same for the Responses API (`hostile_responses.py`: wrong
  types, 1e400 / 5,000-digit / beyond-int64 numbers, surrogates and invalid UTF-8 in `Response`
  fields, failed responses with malformed `error`; event streams without `type`, of unknown types,
  without or with two `response.completed`, with `response.failed` or `error` events, non-JSON,
  truncated, reset, endless, out of order, with a terminal `response` that is no object; HTML
  pages, bogus retry-after) in every form of `responses_forms.py` (create, streams consumed, broken
  off, abandoned, in `with`, raw and streaming responses, `stream()` with `get_final_response()`,
  `parse()`, `retrieve` plain and streamed; sync and async), plain, instrumented, and with content
  capture. A failure the server reports as a value (a failed `Response`, a `response.failed` or
  `error` event) must make an ERROR span too. openai before 1.66 has no `client.responses`: there
  the module asserts that the SDK lacks it and runs no Responses call.
- `test_concurrency.py`: threads and asyncio tasks under their own parent spans.
- `test_leak.py`: tens of thousands of calls over an in-process transport, RSS bounded.
- `test_lifecycle.py`: instrument/uninstrument cycles with SDK-cached accessors, and fork.
- `sabotage.py`: chatspan patched to misbehave in a named way; every check has a test showing
  that it reports its sabotage (`test_sabotage_differential.py`, `test_responses_sabotage.py` and
  the sabotage tests beside each check).

The figures (variants, calls compared, spans accounted, RSS growth) are printed at the end of the
run and written to test-output/adversarial-summary.json.
"""
