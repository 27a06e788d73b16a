"""A local OpenAI-compatible server (chat completions, stored completions, the Responses API, the
Files and Batch APIs) for tests and demos, standard library only.

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

Stored completions (`store: true`) are served as OpenAI serves them (`chatspan.devserver.stored`):
``GET /v1/chat/completions`` (``model``, ``metadata[k]=v``, ``after``, ``limit`` 1..100, ``order``),
``GET``/``POST``/``DELETE /v1/chat/completions/{id}`` and ``GET .../{id}/messages``; a page costs
O(log N + limit). ``DevServer(seed_stored=100_000, seed=1)`` (CLI ``--seed-stored N --seed S``)
fills the store with a month of realistic made-up completions in about a second
(`chatspan.devserver.seeding`); ``ignore_limit=True`` (``--ignore-limit``) makes the list answer
pages of 20 whatever ``limit`` says. Azure OpenAI's paths work too:
``openai.AzureOpenAI(azure_endpoint=server.azure_endpoint, api_version=..., api_key=...)`` posts to
``/openai/deployments/{deployment}/chat/completions?api-version=...``, answered with the deployment
as the model (`chatspan.devserver.routes`).

The Responses API (`chatspan.devserver.response_endpoints`): ``POST /v1/responses`` answers a
``Response`` built from the same content generator (`chatspan.devserver.responses`): ``message``
items with ``output_text`` or ``refusal``, ``function_call`` items for function ``tools``, a
``reasoning`` item for o-series and gpt-5 models (with a summary when ``reasoning.summary`` asks),
``incomplete`` with ``max_output_tokens``, JSON for ``text.format``, ``instructions``,
``previous_response_id`` (the conversation carries over), ``metadata``, ``store`` (default true)
and the other fields echoed as OpenAI does. ``stream: true`` sends the documented SSE sequence
(`chatspan.devserver.response_events`), every event numbered. ``GET /v1/responses/{id}`` (with
``stream=true&starting_after=N`` it replays the stored events), ``GET .../{id}/input_items``,
``DELETE .../{id}`` and ``POST .../{id}/cancel`` serve stored responses; ``store: false`` ones
are a 404, as at OpenAI. ``background: true`` answers ``queued``; later retrieves see
``in_progress`` then the finished response as the server's clock passes
(``DevServer(clock=..., background_seconds=...)``, CLI ``--background-seconds``). Azure's
``/openai/responses?api-version=...`` (what ``openai.AzureOpenAI`` calls) and
``/openai/v1/responses`` work too. A responses call spends the rate limits as a chat call does.

The Files and Batch APIs (`chatspan.devserver.files`, `chatspan.devserver.batch_endpoints`): ``POST
/v1/files`` (multipart ``file`` and ``purpose``; ``purpose=batch`` takes ``.jsonl`` up to 200 MB),
``GET /v1/files`` (``purpose``, ``limit``, ``after``, ``order``), ``GET``/``DELETE .../{id}`` and
``GET .../{id}/content``, streamed chunked as its lines are produced. ``POST /v1/batches``
(``/v1/chat/completions``, ``/v1/responses`` or ``/v1/embeddings``, ``completion_window: "24h"``,
``metadata`` kept as given, ``output_expires_after``), ``GET /v1/batches`` (newest first, ``after``,
``limit``), ``GET .../{id}`` and ``POST .../{id}/cancel``. A batch moves with the server's clock,
each stage lasting ``DevServer(batch_seconds=...)`` (CLI ``--batch-seconds``): ``validating``,
then ``failed`` (``errors.data`` names the bad lines: invalid JSON, a missing field, an URL that
is not the batch's endpoint, a duplicate ``custom_id``, a second model) or ``in_progress``,
``finalizing``, ``completed``; ``cancelling`` then ``cancelled`` after a cancel; ``expired`` when
its metadata says ``"chatspan.expire_after": "N"`` (N lines ran). Its lines run through the same
engines as the live endpoints (`chatspan.devserver.batch_runner`; the input checks are
`chatspan.devserver.batch_input`): the output file holds OpenAI's
``{"id": "batch_req_...", "custom_id", "response": {"status_code": 200, "request_id", "body"},
"error": null}`` lines, the error file the lines a body check or an unknown model refused, and
those the expiry stopped. Outputs are produced again on every read, the same bytes each time, and
never held whole. ``DevServer(seed_batches=N, seed=S)`` (CLI ``--seed-batches N``) adds N finished
batches of the last month in milliseconds (`chatspan.devserver.batch_seeding`): one of 50,000
lines, then completed, expired, cancelled, failed, Responses, an expired output file and
embeddings batches. Azure's ``/openai/files`` and ``/openai/batches`` work too.

Fault knobs (full syntax in `chatspan.devserver.faults`): a request header
``x-chatspan-fault: 429;times=1, latency=0.2``, or ``POST /_chatspan/faults`` with a JSON list such
as ``["500"]`` (until ``[]``), or ``DevServer.set_faults([...])``. Faults: a 4xx/5xx status,
``latency=S``, ``hang=S``, ``first-token=S``, ``chunk-delay=S``, ``drop-after=N``, ``drop``,
``malformed``; options ``;times=N`` (fail only while the SDK's ``x-stainless-retry-count`` < N) and
``;retry-after=S``. Set through the control endpoint or `set_faults`, a fault can name the endpoint
it hits and count that endpoint's requests, for clients that send no custom headers:
``list:500;times=2`` (the next two list requests), ``list:429;times=6``, ``list:malformed;nth=3``
(the third), ``list:hang=30;nth=2``, ``list:drop;nth=2``, ``messages:500;times=1``. Targets:
``chat``, ``list``, ``retrieve``, ``update``, ``delete``, ``messages``, ``responses``,
``responses.retrieve``, ``responses.input_items``, ``responses.delete``, ``responses.cancel``,
``files.create``, ``files.list``, ``files.retrieve``, ``files.content``, ``files.delete``,
``batches.create``, ``batches.list``, ``batches.retrieve``, ``batches.cancel``; a file's content
also takes ``truncated`` (cut mid-line, the response ending cleanly) and ``drop-after=N`` lines.
Untargeted persistent faults hit every model call (chat completions and ``POST /v1/responses``).
``fail-after=N`` makes a response fail after N stream events (an ``error`` event, then
``response.failed``), or a JSON create answer ``status: "failed"``.

Tests control time instead of waiting for it: ``DevServer(clock=...)`` drives ``created_at``,
background progress, batches and file expiry, and the rate-limit window, and
``DevServer(fault_wait=...)`` is called for every fault delay (``latency``, ``hang``,
``first-token``, ``chunk-delay``), so a test can record or hold it rather than time it.
"""

from __future__ import annotations

from chatspan.devserver.faults import FaultSyntaxError
from chatspan.devserver.server import DevServer
from chatspan.devserver.store import StoredCompletion

__all__ = ["DevServer", "FaultSyntaxError", "StoredCompletion"]
