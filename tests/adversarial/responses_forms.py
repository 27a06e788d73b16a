"""The ways an application calls the Responses API, each recording what the application saw.

The same observation lists as `forms.py`. A create names its hostile case as the model; a
retrieve sends it in the `x-hostile-case` header (a GET has no body) and asks for `resp_{case}`.
Only SDKs with `client.responses` (openai >= 1.66) can run these; `has_responses_api()` says which.
"""

from __future__ import annotations

import gc
from typing import Any

import openai

from tests.adversarial.forms import AsyncForm, Observations, SyncForm, describe, raw_headers
from tests.adversarial.hostile_responses import FAILED_RESPONSES, FAILING_STREAMS

INPUT = "hi"


def has_responses_api() -> bool:
    """True when the installed openai has `client.responses` with `create`, `stream`, `parse`, `retrieve`."""
    client = openai.OpenAI(api_key="sk-probe", base_url="http://127.0.0.1:9/v1")
    try:
        resource = getattr(client, "responses", None)
        return resource is not None and all(
            callable(getattr(resource, name, None)) for name in ("create", "stream", "parse", "retrieve")
        )
    finally:
        client.close()


def _case_header(case: str) -> dict[str, str]:
    return {"x-hostile-case": case}


def _create(client: Any, case: str, seen: Observations) -> None:
    seen.append(["value", describe(client.responses.create(model=case, input=INPUT))])


def _stream_full(client: Any, case: str, seen: Observations) -> None:
    for item in client.responses.create(model=case, input=INPUT, stream=True):
        seen.append(["event", describe(item)])


def _stream_break(client: Any, case: str, seen: Observations) -> None:
    stream = client.responses.create(model=case, input=INPUT, stream=True)
    for item in stream:
        seen.append(["event", describe(item)])
        break
    stream.close()


def _stream_abandon(client: Any, case: str, seen: Observations) -> None:
    # Dropped unclosed after one event, then collected, as an application that loses interest does.
    # Freezing first keeps the collection to what came since: a full one costs half a second here.
    gc.freeze()
    stream = client.responses.create(model=case, input=INPUT, stream=True)
    seen.append(["event", describe(next(iter(stream), None))])
    del stream
    gc.collect()


def _stream_with(client: Any, case: str, seen: Observations) -> None:
    with client.responses.create(model=case, input=INPUT, stream=True) as stream:
        for item in stream:
            seen.append(["event", describe(item)])


def _raw(client: Any, case: str, seen: Observations) -> None:
    raw = client.responses.with_raw_response.create(model=case, input=INPUT)
    seen.append(["headers", raw.status_code, raw_headers(raw)])
    seen.append(["body", raw.text])
    seen.append(["value", describe(raw.parse())])


def _streaming_stream(client: Any, case: str, seen: Observations) -> None:
    streaming = client.responses.with_streaming_response
    with streaming.create(model=case, input=INPUT, stream=True) as response:
        seen.append(["headers", response.status_code, raw_headers(response)])
        for item in response.parse():
            seen.append(["event", describe(item)])


def _helper(client: Any, case: str, seen: Observations) -> None:
    with client.responses.stream(model=case, input=INPUT) as stream:
        for item in stream:
            seen.append(["event", item.type, describe(item)])
        seen.append(["final", describe(stream.get_final_response())])


def _helper_break(client: Any, case: str, seen: Observations) -> None:
    with client.responses.stream(model=case, input=INPUT) as stream:
        for item in stream:
            seen.append(["event", item.type, describe(item)])
            break


def _parse(client: Any, case: str, seen: Observations) -> None:
    seen.append(["value", describe(client.responses.parse(model=case, input=INPUT))])


def _retrieve(client: Any, case: str, seen: Observations) -> None:
    found = client.responses.retrieve(f"resp_{case}", extra_headers=_case_header(case))
    seen.append(["value", describe(found)])


def _retrieve_stream(client: Any, case: str, seen: Observations) -> None:
    for item in client.responses.retrieve(f"resp_{case}", stream=True, extra_headers=_case_header(case)):
        seen.append(["event", describe(item)])


SYNC_FORMS: dict[str, SyncForm] = {
    "create": _create,
    "stream-full": _stream_full,
    "stream-break": _stream_break,
    "stream-abandon": _stream_abandon,
    "stream-with": _stream_with,
    "raw": _raw,
    "streaming-stream": _streaming_stream,
    "stream-helper": _helper,
    "stream-helper-break": _helper_break,
    "parse": _parse,
    "retrieve": _retrieve,
    "retrieve-stream": _retrieve_stream,
}


async def _a_create(client: Any, case: str, seen: Observations) -> None:
    seen.append(["value", describe(await client.responses.create(model=case, input=INPUT))])


async def _a_stream_full(client: Any, case: str, seen: Observations) -> None:
    async for item in await client.responses.create(model=case, input=INPUT, stream=True):
        seen.append(["event", describe(item)])


async def _a_stream_break(client: Any, case: str, seen: Observations) -> None:
    stream = await client.responses.create(model=case, input=INPUT, stream=True)
    async for item in stream:
        seen.append(["event", describe(item)])
        break
    await stream.close()


async def _a_stream_abandon(client: Any, case: str, seen: Observations) -> None:
    gc.freeze()
    stream = await client.responses.create(model=case, input=INPUT, stream=True)
    seen.append(["event", describe(await anext(stream.__aiter__(), None))])
    del stream
    gc.collect()


async def _a_stream_with(client: Any, case: str, seen: Observations) -> None:
    async with await client.responses.create(model=case, input=INPUT, stream=True) as stream:
        async for item in stream:
            seen.append(["event", describe(item)])


async def _a_raw(client: Any, case: str, seen: Observations) -> None:
    raw = await client.responses.with_raw_response.create(model=case, input=INPUT)
    seen.append(["headers", raw.status_code, raw_headers(raw)])
    seen.append(["body", raw.text])
    seen.append(["value", describe(raw.parse())])


async def _a_streaming_stream(client: Any, case: str, seen: Observations) -> None:
    streaming = client.responses.with_streaming_response
    async with streaming.create(model=case, input=INPUT, stream=True) as response:
        seen.append(["headers", response.status_code, raw_headers(response)])
        async for item in await response.parse():
            seen.append(["event", describe(item)])


async def _a_helper(client: Any, case: str, seen: Observations) -> None:
    async with client.responses.stream(model=case, input=INPUT) as stream:
        async for item in stream:
            seen.append(["event", item.type, describe(item)])
        seen.append(["final", describe(await stream.get_final_response())])


async def _a_helper_break(client: Any, case: str, seen: Observations) -> None:
    async with client.responses.stream(model=case, input=INPUT) as stream:
        async for item in stream:
            seen.append(["event", item.type, describe(item)])
            break


async def _a_parse(client: Any, case: str, seen: Observations) -> None:
    seen.append(["value", describe(await client.responses.parse(model=case, input=INPUT))])


async def _a_retrieve(client: Any, case: str, seen: Observations) -> None:
    found = await client.responses.retrieve(f"resp_{case}", extra_headers=_case_header(case))
    seen.append(["value", describe(found)])


async def _a_retrieve_stream(client: Any, case: str, seen: Observations) -> None:
    stream = await client.responses.retrieve(f"resp_{case}", stream=True, extra_headers=_case_header(case))
    async for item in stream:
        seen.append(["event", describe(item)])


ASYNC_FORMS: dict[str, AsyncForm] = {
    "create": _a_create,
    "stream-full": _a_stream_full,
    "stream-break": _a_stream_break,
    "stream-abandon": _a_stream_abandon,
    "stream-with": _a_stream_with,
    "raw": _a_raw,
    "streaming-stream": _a_streaming_stream,
    "stream-helper": _a_helper,
    "stream-helper-break": _a_helper_break,
    "parse": _a_parse,
    "retrieve": _a_retrieve,
    "retrieve-stream": _a_retrieve_stream,
}

RETRY_FORMS = ("create", "stream-full", "raw", "retrieve")
"""The forms the retrying (429) cases run in: each of those calls sleeps the SDK's backoff."""

CONSUMING_FORMS = ("stream-full", "stream-with", "streaming-stream", "stream-helper", "retrieve-stream")
"""The forms that read an event stream to its end (and so meet an event that comes late)."""


def reported_failures() -> set[str]:
    """The calls where the server reported a failure that reaches the app as a value, not raised."""
    failed = {f"{form}/{case}" for form in SYNC_FORMS for case in FAILED_RESPONSES}
    return failed | {f"{form}/{case}" for form in CONSUMING_FORMS for case in FAILING_STREAMS}
