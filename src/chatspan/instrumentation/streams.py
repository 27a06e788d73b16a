"""Proxies for the streams a model call returns (chat chunks, Responses events), and what a chat
stream accumulates for its span.

Each proxy ends its call's span exactly once: on exhaustion, on an error, on `close()`, on leaving a
`with` block, or when the application drops it unfinished (garbage collection). Iteration methods are
spelt out because wrapt does not forward `__iter__`/`__next__` to the wrapped object.
"""

from __future__ import annotations

import logging
from typing import Any

import wrapt
from opentelemetry.util.types import AttributeValue

from chatspan.instrumentation.call import ChatCall, guarded
from chatspan.mapping.completion import response_attributes
from chatspan.mapping.messages import output_message_attributes

logger = logging.getLogger(__name__)

# What a proxy found after a held-back usage-only chunk: a chunk to deliver, or another usage-only
# chunk to hold in turn.
_CHUNK, _USAGE = object(), object()


class ChunkAccumulator:
    """What a chat stream's chunks say about the whole completion; content only when capture is on."""

    __slots__ = (
        "capture",
        "choices",
        "created",
        "finish_reasons",
        "first_chunk_after",
        "model",
        "response_id",
        "service_tier",
        "system_fingerprint",
        "usage",
    )

    def __init__(self, capture: bool) -> None:
        self.capture = capture
        self.response_id: object = None
        self.model: object = None
        self.created: object = None
        self.service_tier: object = None
        self.system_fingerprint: object = None
        self.usage: object = None
        self.first_chunk_after: float | None = None
        self.finish_reasons: dict[int, object] = {}
        self.choices: dict[int, dict[str, Any]] = {}

    def is_output(self, chunk: Any) -> bool:
        """Every chunk counts for the time to the first one."""
        return True

    def add(self, chunk: Any) -> None:
        """Take one `ChatCompletionChunk` into account (any field may be missing or null)."""
        if self.response_id is None:
            self.response_id = getattr(chunk, "id", None)
            self.model = getattr(chunk, "model", None)
            self.created = getattr(chunk, "created", None)
            self.service_tier = getattr(chunk, "service_tier", None)
            self.system_fingerprint = getattr(chunk, "system_fingerprint", None)
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        choices = getattr(chunk, "choices", None)
        for choice in choices if isinstance(choices, list) else ():
            if choice.finish_reason is not None:
                self.finish_reasons[choice.index] = choice.finish_reason
            if self.capture:
                self._add_delta(choice.index, choice.delta)

    def _add_delta(self, index: int, delta: Any) -> None:
        if delta is None:
            return
        message = self.choices.setdefault(
            index, {"role": "assistant", "text": [], "refusal": [], "calls": {}}
        )
        if delta.role:
            message["role"] = delta.role
        if delta.content:
            message["text"].append(delta.content)
        if getattr(delta, "refusal", None):
            message["refusal"].append(delta.refusal)
        for call in delta.tool_calls or ():
            slot = message["calls"].setdefault(call.index, {"id": None, "name": None, "arguments": []})
            if call.id:
                slot["id"] = call.id
            function = call.function
            if function is not None:
                if function.name:
                    slot["name"] = function.name
                if function.arguments:
                    slot["arguments"].append(function.arguments)

    def response_fields(self) -> dict[str, Any]:
        """The fields `response_attributes()` takes, as far as the chunks told them."""
        return {
            "response_id": self.response_id,
            "model": self.model,
            "created": self.created,
            "finish_reasons": [self.finish_reasons[i] for i in sorted(self.finish_reasons)],
            "usage": self.usage,
            "service_tier": self.service_tier,
            "system_fingerprint": self.system_fingerprint,
        }

    def attributes(self) -> dict[str, AttributeValue]:
        """The completion's response attributes (and output messages with capture on)."""
        attrs = response_attributes(**self.response_fields())
        if self.capture:
            attrs.update(output_message_attributes(self.output_choices()))
        return attrs

    def output_choices(self) -> list[dict[str, Any]]:
        """The accumulated messages in the shape of response choices (for content capture)."""
        choices = []
        for index in sorted(self.choices):
            message = self.choices[index]
            calls = [
                {"id": c["id"], "function": {"name": c["name"], "arguments": "".join(c["arguments"])}}
                for _, c in sorted(message["calls"].items())
            ]
            choices.append(
                {
                    "message": {
                        "role": message["role"],
                        "content": "".join(message["text"]) or None,
                        "refusal": "".join(message["refusal"]) or None,
                        "tool_calls": calls or None,
                    },
                    "finish_reason": self.finish_reasons.get(index),
                }
            )
        return choices


class _StreamState:
    """Shared by the sync and async stream proxies: per-chunk bookkeeping and the single end."""

    __slots__ = ("accumulator", "call")

    def __init__(self, call: ChatCall) -> None:
        self.call = call
        self.accumulator = call.kind.accumulator(call.telemetry.capture_content)

    def take(self, chunk: Any) -> bool:
        """Record a chunk; False for a usage-only chunk when chatspan asked for usage.

        Such a chunk is hidden from the app only when it turns out to be the stream's last (the
        one `include_usage` adds); the proxies hold it back until they know.
        """
        try:
            accumulator = self.accumulator
            if accumulator.first_chunk_after is None and accumulator.is_output(chunk):
                accumulator.first_chunk_after = self.call.elapsed()
                self.call.record_first_chunk(accumulator.first_chunk_after)
            accumulator.add(chunk)
            if not self.call.injected_usage or getattr(chunk, "usage", None) is None:
                return True
            # Usage-only: no choice in it. A server may send `[]`, null, no key, or garbage there.
            choices = getattr(chunk, "choices", None)
            return isinstance(choices, list) and len(choices) > 0
        except Exception:
            logger.debug("chatspan: reading a chunk failed; it is delivered untouched", exc_info=True)
            return True

    def finish(self) -> None:
        call = self.call
        if call.ended:
            return
        guarded("ending a stream span", lambda: call.complete_stream(self.accumulator), None)
        if not call.ended:
            guarded("ending a stream span", call.end, None)

    def fail(self, error: BaseException) -> None:
        guarded("recording a stream error", lambda: self.call.fail(error), None)


class _ClosingResponse(wrapt.ObjectProxy):
    """The HTTP response of a proxied stream: closing it ends the span, as closing the stream does.

    The SDK's stream helpers (`chat.completions.stream()`, `responses.stream()`) keep the stream's
    `.response` and close that, not the stream, when their `with` block ends or they are closed.
    """

    def __init__(self, response: Any, state: _StreamState) -> None:
        super().__init__(response)
        self._self_state = state

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_state.finish()

    async def aclose(self) -> None:
        try:
            await self.__wrapped__.aclose()
        finally:
            self._self_state.finish()


def _closing_response(stream: Any, state: _StreamState) -> Any:
    response = stream.response
    return guarded("wrapping a stream's response", lambda: _ClosingResponse(response, state), response)


class ChatStream(wrapt.ObjectProxy):
    """Proxy for `openai.Stream`: of `ChatCompletionChunk`s, or of Responses API events."""

    def __init__(self, stream: Any, call: ChatCall) -> None:
        super().__init__(stream)
        self._self_state = _StreamState(call)
        # Stream.__next__ is one Python frame around its `_iterator`; calling that directly saves
        # the frame on every chunk. Any other stream object is advanced through its own __next__.
        iterator: Any = getattr(stream, "_iterator", None)
        self._self_next = iterator.__next__ if hasattr(iterator, "__next__") else stream.__next__
        # What came after a held-back usage-only chunk (at most one item), delivered next.
        self._self_after_usage: list[tuple[object, Any]] = []

    @property
    def response(self) -> Any:
        return _closing_response(self.__wrapped__, self._self_state)

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> Any:
        if self._self_after_usage:
            return self._self_resume()
        state = self._self_state
        try:
            chunk = self._self_next()
        except StopIteration:
            state.finish()
            raise
        except BaseException as error:
            state.fail(error)
            raise
        if state.take(chunk):
            return chunk
        return self._self_hold(chunk)

    def _self_hold(self, usage_chunk: Any) -> Any:
        """Look past a usage-only chunk: hidden if the stream ends there, else delivered in order."""
        state = self._self_state
        try:
            chunk = self._self_next()
        except StopIteration:
            state.finish()
            raise
        except BaseException as error:
            # The stream ended there too: the held chunk was its last, the one chatspan asked for.
            state.fail(error)
            raise
        self._self_after_usage.append((_CHUNK if state.take(chunk) else _USAGE, chunk))
        return usage_chunk

    def _self_resume(self) -> Any:
        kind, item = self._self_after_usage.pop()
        return item if kind is _CHUNK else self._self_hold(item)

    def __enter__(self) -> ChatStream:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_state.finish()

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_state.finish()

    def __del__(self) -> None:
        self._self_state.finish()


class AsyncChatStream(wrapt.ObjectProxy):
    """Proxy for `openai.AsyncStream`: of `ChatCompletionChunk`s, or of Responses API events."""

    def __init__(self, stream: Any, call: ChatCall) -> None:
        super().__init__(stream)
        self._self_state = _StreamState(call)
        self._self_after_usage: list[tuple[object, Any]] = []

    @property
    def response(self) -> Any:
        return _closing_response(self.__wrapped__, self._self_state)

    def __aiter__(self) -> AsyncChatStream:
        return self

    async def __anext__(self) -> Any:
        if self._self_after_usage:
            return await self._self_resume()
        state = self._self_state
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            state.finish()
            raise
        except BaseException as error:
            state.fail(error)
            raise
        if state.take(chunk):
            return chunk
        return await self._self_hold(chunk)

    async def _self_hold(self, usage_chunk: Any) -> Any:
        """Look past a usage-only chunk: hidden if the stream ends there, else delivered in order."""
        state = self._self_state
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            state.finish()
            raise
        except BaseException as error:
            # The stream ended there too: the held chunk was its last, the one chatspan asked for.
            state.fail(error)
            raise
        self._self_after_usage.append((_CHUNK if state.take(chunk) else _USAGE, chunk))
        return usage_chunk

    async def _self_resume(self) -> Any:
        kind, item = self._self_after_usage.pop()
        return item if kind is _CHUNK else await self._self_hold(item)

    async def __aenter__(self) -> AsyncChatStream:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_state.finish()

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_state.finish()

    def __del__(self) -> None:
        self._self_state.finish()
