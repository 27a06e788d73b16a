"""The ways an application calls chat completions, each recording what the application saw.

A form calls the client and appends observations to a list: `["chunk", ...]`, `["value", ...]`,
`["headers", ...]`, and, from `observe_call()`, `["raised", type, message]`. Two runs of one form
against one case must produce equal lists, with and without chatspan.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Awaitable, Callable
from typing import Any

from tests.support.compat import chat_resource

Observations = list[list[Any]]
SyncForm = Callable[[Any, str, Observations], None]
AsyncForm = Callable[[Any, str, Observations], Awaitable[None]]

MESSAGES = [{"role": "user", "content": "hi"}]


def describe(value: object) -> str:
    """A deterministic text of what the application got: its `model_dump()` where it has one."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return repr(dump())
        except Exception as error:
            return f"model_dump raised {type(error).__name__}: {error}"
    return repr(value)


def raw_headers(response: Any) -> list[tuple[str, str]]:
    """The response headers as the application can read them (raw pairs, Latin-1)."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers.raw]


def failure(error: BaseException) -> list[Any]:
    """The observation of an exception reaching the application: `["raised", type, message, side]`.

    `side` is "helper" when the innermost frame is the SDK's own stream helper (`openai/lib/`)
    choking on a chunk it accumulates: consumer code, like the application's, not the call failing.
    """
    kind = type(error)
    trace = error.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    where = trace.tb_frame.f_code.co_filename if trace is not None else ""
    side = "helper" if f"openai{os.sep}lib{os.sep}" in where else "call"
    return ["raised", f"{kind.__module__}.{kind.__qualname__}", str(error), side]


def is_call_error(seen: Observations) -> bool:
    """True when the last observation is an error of the call itself (see `failure()`)."""
    return bool(seen) and seen[-1][0] == "raised" and seen[-1][3] == "call"


def observe_call(form: SyncForm, client: Any, case: str) -> Observations:
    """Run a sync form; an exception becomes the last observation."""
    seen: Observations = []
    try:
        form(client, case, seen)
    except Exception as error:
        seen.append(failure(error))
    return seen


async def observe_async_call(form: AsyncForm, client: Any, case: str) -> Observations:
    """Run an async form; an exception becomes the last observation."""
    seen: Observations = []
    try:
        await form(client, case, seen)
    except Exception as error:
        seen.append(failure(error))
    return seen


def _create(client: Any, case: str, seen: Observations) -> None:
    seen.append(["value", describe(client.chat.completions.create(model=case, messages=MESSAGES))])


def _stream_full(client: Any, case: str, seen: Observations) -> None:
    for chunk in client.chat.completions.create(model=case, messages=MESSAGES, stream=True):
        seen.append(["chunk", describe(chunk)])


def _stream_break(client: Any, case: str, seen: Observations) -> None:
    stream = client.chat.completions.create(model=case, messages=MESSAGES, stream=True)
    for chunk in stream:
        seen.append(["chunk", describe(chunk)])
        break
    stream.close()


def _stream_abandon(client: Any, case: str, seen: Observations) -> None:
    # Dropped unclosed after one chunk, then collected, as an application that loses interest does.
    stream = client.chat.completions.create(model=case, messages=MESSAGES, stream=True)
    seen.append(["chunk", describe(next(iter(stream), None))])
    del stream
    gc.collect()


def _stream_with(client: Any, case: str, seen: Observations) -> None:
    with client.chat.completions.create(model=case, messages=MESSAGES, stream=True) as stream:
        for chunk in stream:
            seen.append(["chunk", describe(chunk)])


def _raw(client: Any, case: str, seen: Observations) -> None:
    raw = client.chat.completions.with_raw_response.create(model=case, messages=MESSAGES)
    seen.append(["headers", raw.status_code, raw_headers(raw)])
    seen.append(["body", raw.text])
    seen.append(["value", describe(raw.parse())])


def _raw_stream(client: Any, case: str, seen: Observations) -> None:
    raw = client.chat.completions.with_raw_response.create(model=case, messages=MESSAGES, stream=True)
    seen.append(["headers", raw.status_code, raw_headers(raw)])
    for chunk in raw.parse():
        seen.append(["chunk", describe(chunk)])


def _streaming(client: Any, case: str, seen: Observations) -> None:
    with client.chat.completions.with_streaming_response.create(model=case, messages=MESSAGES) as response:
        seen.append(["headers", response.status_code, raw_headers(response)])
        seen.append(["value", describe(response.parse())])


def _streaming_stream(client: Any, case: str, seen: Observations) -> None:
    streaming = client.chat.completions.with_streaming_response
    with streaming.create(model=case, messages=MESSAGES, stream=True) as response:
        seen.append(["headers", response.status_code, raw_headers(response)])
        for chunk in response.parse():
            seen.append(["chunk", describe(chunk)])


def _parse(client: Any, case: str, seen: Observations) -> None:
    seen.append(["value", describe(chat_resource(client, "parse")(model=case, messages=MESSAGES))])


def _stream_helper(client: Any, case: str, seen: Observations) -> None:
    with chat_resource(client, "stream")(model=case, messages=MESSAGES) as stream:
        for item in stream:
            seen.append(["event", item.type, describe(item)])


SYNC_FORMS: dict[str, SyncForm] = {
    "create": _create,
    "stream-full": _stream_full,
    "stream-break": _stream_break,
    "stream-abandon": _stream_abandon,
    "stream-with": _stream_with,
    "raw": _raw,
    "raw-stream": _raw_stream,
    "streaming": _streaming,
    "streaming-stream": _streaming_stream,
    "parse": _parse,
    "stream-helper": _stream_helper,
}


async def _a_create(client: Any, case: str, seen: Observations) -> None:
    seen.append(["value", describe(await client.chat.completions.create(model=case, messages=MESSAGES))])


async def _a_stream_full(client: Any, case: str, seen: Observations) -> None:
    async for chunk in await client.chat.completions.create(model=case, messages=MESSAGES, stream=True):
        seen.append(["chunk", describe(chunk)])


async def _a_stream_break(client: Any, case: str, seen: Observations) -> None:
    stream = await client.chat.completions.create(model=case, messages=MESSAGES, stream=True)
    async for chunk in stream:
        seen.append(["chunk", describe(chunk)])
        break
    await stream.close()


async def _a_stream_abandon(client: Any, case: str, seen: Observations) -> None:
    stream = await client.chat.completions.create(model=case, messages=MESSAGES, stream=True)
    seen.append(["chunk", describe(await anext(stream.__aiter__(), None))])
    del stream
    gc.collect()


async def _a_stream_with(client: Any, case: str, seen: Observations) -> None:
    async with await client.chat.completions.create(model=case, messages=MESSAGES, stream=True) as stream:
        async for chunk in stream:
            seen.append(["chunk", describe(chunk)])


async def _a_raw(client: Any, case: str, seen: Observations) -> None:
    raw = await client.chat.completions.with_raw_response.create(model=case, messages=MESSAGES)
    seen.append(["headers", raw.status_code, raw_headers(raw)])
    seen.append(["body", raw.text])
    seen.append(["value", describe(raw.parse())])


async def _a_raw_stream(client: Any, case: str, seen: Observations) -> None:
    raw = await client.chat.completions.with_raw_response.create(model=case, messages=MESSAGES, stream=True)
    seen.append(["headers", raw.status_code, raw_headers(raw)])
    async for chunk in raw.parse():
        seen.append(["chunk", describe(chunk)])


async def _a_streaming(client: Any, case: str, seen: Observations) -> None:
    streaming = client.chat.completions.with_streaming_response
    async with streaming.create(model=case, messages=MESSAGES) as response:
        seen.append(["headers", response.status_code, raw_headers(response)])
        seen.append(["value", describe(await response.parse())])


async def _a_streaming_stream(client: Any, case: str, seen: Observations) -> None:
    streaming = client.chat.completions.with_streaming_response
    async with streaming.create(model=case, messages=MESSAGES, stream=True) as response:
        seen.append(["headers", response.status_code, raw_headers(response)])
        async for chunk in await response.parse():
            seen.append(["chunk", describe(chunk)])


async def _a_parse(client: Any, case: str, seen: Observations) -> None:
    parsed = await chat_resource(client, "parse")(model=case, messages=MESSAGES)
    seen.append(["value", describe(parsed)])


async def _a_stream_helper(client: Any, case: str, seen: Observations) -> None:
    async with chat_resource(client, "stream")(model=case, messages=MESSAGES) as stream:
        async for item in stream:
            seen.append(["event", item.type, describe(item)])


ASYNC_FORMS: dict[str, AsyncForm] = {
    "create": _a_create,
    "stream-full": _a_stream_full,
    "stream-break": _a_stream_break,
    "stream-abandon": _a_stream_abandon,
    "stream-with": _a_stream_with,
    "raw": _a_raw,
    "raw-stream": _a_raw_stream,
    "streaming": _a_streaming,
    "streaming-stream": _a_streaming_stream,
    "parse": _a_parse,
    "stream-helper": _a_stream_helper,
}

RETRY_FORMS = ("create", "stream-full", "raw")
"""The forms the retrying (429) cases run in: each of those calls sleeps the SDK's backoff."""
