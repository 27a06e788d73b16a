"""A short tour of openai chat completions and the Responses API, traced with zero code changes.

    opentelemetry-instrument python examples/app.py

This file never imports chatspan's instrumentation: `opentelemetry-instrument` finds it through its
`opentelemetry_instrumentor` entry point and patches the openai SDK before this code runs. The app
reads `OPENAI_BASE_URL` and `OPENAI_API_KEY` like any openai app. With neither set it starts
chatspan's local devserver in-process, so it runs on a fresh machine without an account.

Calls, one output line each (ids and token counts, never content): sync, async, stream, tool call,
stored with metadata, a call the SDK retries after a 429, and an error that is caught; then one
Responses API call and one Responses stream. The 429 and the 500 are injected with the devserver's
`x-chatspan-fault` header, so they are only asked of the devserver: set `CHATSPAN_DEVSERVER=1` (or
`0`) when the loopback guess is wrong. An openai older than 1.66 has no `client.responses`: the
app then prints one `skip` line in place of the two Responses lines and exits 0 all the same.

Environment: `CHATSPAN_MODEL` (default `gpt-4o-mini`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import openai

if TYPE_CHECKING:
    # Names for the type checker only: the app runs on every openai from 1.63, and
    # `ChatCompletionFunctionToolParam` (the newest SDK's name for a function tool) came later.
    from openai.types.chat import (
        ChatCompletion,
        ChatCompletionFunctionToolParam,
        ChatCompletionMessageParam,
    )
    from openai.types.completion_usage import CompletionUsage
    from openai.types.responses import Response, ResponseUsage

DEFAULT_MODEL = "gpt-4o-mini"
FAULT_HEADER = "x-chatspan-fault"
# The SDK retries a 429 by itself; `times=1` makes the devserver fail only the first attempt.
RETRIED_FAULT = "429;times=1"
ERROR_FAULT = "500"
# Outside the devserver the error call asks for a model no server has, which fails with a 404.
MISSING_MODEL = "chatspan-example-no-such-model"
RESPONSES_SINCE = "1.66"
"""The first openai release with `client.responses`, named in the line the app prints without it."""

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

WEATHER_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


@dataclass(frozen=True)
class Target:
    """Where the tour sends its calls, and whether fault headers may be sent there."""

    base_url: str | None
    api_key: str | None
    devserver: bool


def main() -> int:
    """Run the tour; returns the process exit code."""
    model = os.environ.get("CHATSPAN_MODEL") or DEFAULT_MODEL
    with openai_target() as target:
        if target is None:
            return 2
        try:
            client = openai.OpenAI(base_url=target.base_url, api_key=target.api_key)
            async_client = openai.AsyncOpenAI(base_url=target.base_url, api_key=target.api_key)
        except openai.OpenAIError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        with client:
            sync_call(client, model)
            asyncio.run(async_call(async_client, model))
            stream_call(client, model)
            tool_call(client, model)
            stored_call(client, model)
            retried_call(client, model, target.devserver)
            error_call(client, model, target.devserver)
            if hasattr(client, "responses"):
                response_call(client, model)
                response_stream_call(client, model)
            else:
                print(
                    f"{'skip':<8} responses: openai {openai.__version__} has no client.responses "
                    f"(the Responses API came in openai {RESPONSES_SINCE})"
                )
    return 0


@contextlib.contextmanager
def openai_target() -> Iterator[Target | None]:
    """The server from the environment, or an in-process devserver when nothing is configured.

    Yields None (having said why on stderr) when neither is possible. The other examples use it too.
    """
    base_url = os.environ.get("OPENAI_BASE_URL") or None
    api_key = os.environ.get("OPENAI_API_KEY") or None
    if base_url is not None or api_key is not None:
        yield Target(base_url, api_key, _is_devserver(base_url))
        return
    try:
        # Only this fallback needs chatspan; the tour itself uses the openai SDK alone.
        from chatspan.devserver import DevServer
    except ImportError:
        print(
            "error: set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server), "
            "or install chatspan to use its local devserver",
            file=sys.stderr,
        )
        yield None
        return
    with DevServer() as server:
        print(f"no OPENAI_BASE_URL or OPENAI_API_KEY: using a local devserver at {server.base_url}")
        yield Target(server.base_url, "sk-chatspan-example", devserver=True)


def _is_devserver(base_url: str | None) -> bool:
    flag = os.environ.get("CHATSPAN_DEVSERVER")
    if flag is not None and flag.strip():
        return flag.strip().lower() in ("1", "true", "yes")
    if base_url is None:
        return False
    return urlsplit(base_url).hostname in _LOOPBACK_HOSTS


def _messages(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


def _tokens(usage: CompletionUsage | None) -> str:
    return "usage n/a" if usage is None else f"{usage.prompt_tokens}+{usage.completion_tokens} tokens"


def _report(label: str, completion: ChatCompletion, extra: str = "") -> None:
    line = f"{label:<8} {completion.id}  {completion.model}  {_tokens(completion.usage)}"
    print(f"{line}  {extra}" if extra else line)


def sync_call(client: openai.OpenAI, model: str) -> None:
    """A plain blocking call."""
    completion = client.chat.completions.create(model=model, messages=_messages("Say hello in one word."))
    _report("sync", completion)


async def async_call(client: openai.AsyncOpenAI, model: str) -> None:
    """The same through the async client (closed here, inside the loop that used it)."""
    async with client:
        completion = await client.chat.completions.create(
            model=model, messages=_messages("Name one prime number.")
        )
    _report("async", completion)


def stream_call(client: openai.OpenAI, model: str) -> None:
    """A stream read to the end; `include_usage` adds a last chunk with the token counts."""
    stream = client.chat.completions.create(
        model=model,
        messages=_messages("Count from one to five."),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = 0
    response_id = ""
    usage: CompletionUsage | None = None
    with stream:
        for chunk in stream:
            chunks += 1
            response_id = chunk.id
            usage = chunk.usage or usage
    print(f"{'stream':<8} {response_id}  {chunks} chunks  {_tokens(usage)}")


def tool_call(client: openai.OpenAI, model: str) -> None:
    """A call that must answer with a tool call."""
    completion = client.chat.completions.create(
        model=model,
        messages=_messages("What is the weather in Paris?"),
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    calls = completion.choices[0].message.tool_calls or []
    names = ",".join(call.function.name for call in calls if call.type == "function")
    _report("tool", completion, f"tool_calls={names or 'none'}")


def stored_call(client: openai.OpenAI, model: str) -> None:
    """A completion OpenAI keeps (`store=True`), tagged with metadata to find it later."""
    completion = client.chat.completions.create(
        model=model,
        messages=_messages("Suggest a name for a cat."),
        store=True,
        metadata={"example": "chatspan-tour", "step": "stored"},
    )
    _report("stored", completion)


def retried_call(client: openai.OpenAI, model: str, devserver: bool) -> None:
    """A call whose first attempt gets a 429: the SDK retries it, and it is still one call."""
    headers = {FAULT_HEADER: RETRIED_FAULT} if devserver else {}
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=_messages("Say OK."), extra_headers=headers
    )
    _report("retried", raw.parse(), f"retries={raw.retries_taken}")


def error_call(client: openai.OpenAI, model: str, devserver: bool) -> None:
    """A call that fails without retries; the app catches the error as any app would."""
    failing = client.with_options(max_retries=0)
    try:
        if devserver:
            failing.chat.completions.create(
                model=model, messages=_messages("This one fails."), extra_headers={FAULT_HEADER: ERROR_FAULT}
            )
        else:
            failing.chat.completions.create(model=MISSING_MODEL, messages=_messages("This one fails."))
    except openai.APIStatusError as error:
        print(f"{'error':<8} caught {type(error).__name__} ({error.status_code}), request {error.request_id}")
    else:
        print(f"{'error':<8} expected an error, but the call succeeded")


def _response_tokens(usage: ResponseUsage | None) -> str:
    return "usage n/a" if usage is None else f"{usage.input_tokens}+{usage.output_tokens} tokens"


def _report_response(label: str, response: Response, extra: str = "") -> None:
    line = f"{label:<8} {response.id}  {response.model}  {_response_tokens(response.usage)}"
    print(f"{line}  status={response.status}{'  ' + extra if extra else ''}")


def response_call(client: openai.OpenAI, model: str) -> None:
    """One Responses API call, with instructions; stored by default, as this API does."""
    response = client.responses.create(
        model=model, input="Name one colour of the rainbow.", instructions="Answer in one word."
    )
    _report_response("response", response)


def response_stream_call(client: openai.OpenAI, model: str) -> None:
    """A Responses stream through the SDK's `stream()` helper, read to the end, then its final Response."""
    events = 0
    with client.responses.stream(
        model=model, input="Count from one to three.", instructions="Answer with digits only."
    ) as stream:
        for _event in stream:
            events += 1
        final = stream.get_final_response()
    _report_response("rstream", final, f"{events} events")


if __name__ == "__main__":
    sys.exit(main())
