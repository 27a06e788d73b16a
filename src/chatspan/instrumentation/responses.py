"""Proxies for `with_raw_response` / `with_streaming_response` results.

The SDK hands these back before (streaming) or instead of (raw) the parsed completion. The proxy
maps whatever the application parses out of them, wraps a parsed stream so its chunks are seen, and
ends the span when the response is closed or dropped.
"""

from __future__ import annotations

from typing import Any

import wrapt

from chatspan.instrumentation.call import ChatCall, guarded
from chatspan.instrumentation.streams import AsyncChatStream, ChatStream


def _observe_parsed(call: ChatCall, parsed: Any, cache: list[Any]) -> Any:
    """Return what the application gets for `parsed`: a stream proxy (made once) or `parsed` itself."""
    if hasattr(parsed, "__anext__"):
        return _cached_proxy(cache, parsed, lambda: AsyncChatStream(parsed, call))
    if hasattr(parsed, "__next__") and hasattr(parsed, "response"):
        return _cached_proxy(cache, parsed, lambda: ChatStream(parsed, call))
    guarded("mapping a parsed completion", lambda: call.complete(parsed), None)
    return parsed


def _cached_proxy(cache: list[Any], stream: Any, make: Any) -> Any:
    # parse() caches its result, so the same stream comes back each time: so must the same proxy.
    for proxy in cache:
        if proxy.__wrapped__ is stream:
            return proxy
    proxy = guarded("wrapping a parsed stream", make, stream)
    if proxy is not stream:
        cache.append(proxy)
    return proxy


def _fail(call: ChatCall, error: BaseException) -> None:
    guarded("recording a failed parse", lambda: call.fail(error), None)


def _end(call: ChatCall, streams: list[Any]) -> None:
    """End the call: through its stream proxy when one was parsed, so chunks seen so far count."""
    for proxy in streams:
        proxy._self_state.finish()
    guarded("ending a response's span", call.end, None)


class RawResponse(wrapt.ObjectProxy):
    """Proxy for a `LegacyAPIResponse` of a streaming call (`with_raw_response.create(stream=True)`)."""

    def __init__(self, response: Any, call: ChatCall) -> None:
        super().__init__(response)
        self._self_call = call
        self._self_streams: list[Any] = []

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        try:
            parsed = self.__wrapped__.parse(*args, **kwargs)
        except BaseException as error:
            # The body could not be read or parsed: the application sees the call fail.
            _fail(self._self_call, error)
            raise
        return _observe_parsed(self._self_call, parsed, self._self_streams)

    def __del__(self) -> None:
        if not self._self_streams:
            guarded("ending an unread response's span", self._self_call.end, None)


class StreamedResponse(RawResponse):
    """Proxy for the `APIResponse` of `with_streaming_response.create(...)` (body not read yet).

    Parsed like a raw response; its `close()` (the `with` block's end) also ends the span.
    """

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            _end(self._self_call, self._self_streams)


class AsyncStreamedResponse(wrapt.ObjectProxy):
    """Proxy for the `AsyncAPIResponse` of `with_streaming_response.create(...)`."""

    def __init__(self, response: Any, call: ChatCall) -> None:
        super().__init__(response)
        self._self_call = call
        self._self_streams: list[Any] = []

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        try:
            parsed = await self.__wrapped__.parse(*args, **kwargs)
        except BaseException as error:
            _fail(self._self_call, error)
            raise
        return _observe_parsed(self._self_call, parsed, self._self_streams)

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            _end(self._self_call, self._self_streams)

    def __del__(self) -> None:
        if not self._self_streams:
            guarded("ending an unread response's span", self._self_call.end, None)
