"""Deliberate chatspan misbehaviour, to prove that each adversarial check can fail.

`apply(name)` monkeypatches chatspan at a few stable points after it is instrumented and returns a
function that undoes it. A point that has moved raises `SabotageTargetMissing`, so a renamed
method makes the sabotage test fail loudly instead of passing against an unpatched product.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry.context import Context

from chatspan import ChatspanInstrumentor
from chatspan.instrumentation import call as call_module
from chatspan.instrumentation import instrumentor as instrumentor_module
from chatspan.instrumentation import metrics as metrics_module
from chatspan.instrumentation import streams as streams_module
from chatspan.instrumentation import wrappers as wrappers_module

SABOTAGE_ATTRIBUTE = "chatspan.sabotage"
KEPT_CALLS: list[Any] = []
"""The calls the `leak` sabotage keeps alive."""


class SabotageTargetMissing(RuntimeError):
    """A point this module patches no longer exists in chatspan."""


def _require(owner: object, name: str) -> Any:
    found = getattr(owner, name, None)
    if not callable(found):
        raise SabotageTargetMissing(
            f"{owner!r} has no callable {name!r}: update tests/adversarial/sabotage.py"
        )
    return found


def _patch(owner: object, name: str, make: Callable[[Any], Any]) -> Callable[[], None]:
    original = _require(owner, name)
    setattr(owner, name, make(original))
    return lambda: setattr(owner, name, original)


def _drop_chunk(take: Any) -> Any:
    counter = itertools.count()

    def patched(self: Any, chunk: Any) -> bool:
        kept: bool = take(self, chunk)
        return kept and next(counter) % 2 == 0

    return patched


def _drop_event(advance: Any) -> Any:
    # Every fifth item of any stream never reaches the app: the proxy takes the next one instead.
    counter = itertools.count(1)

    def patched(self: Any) -> Any:
        item = advance(self)
        return advance(self) if next(counter) % 5 == 0 else item

    return patched


def _drop_async_event(advance: Any) -> Any:
    counter = itertools.count(1)

    async def patched(self: Any) -> Any:
        item = await advance(self)
        return await advance(self) if next(counter) % 5 == 0 else item

    return patched


def _drop_events() -> Callable[[], None]:
    undo_sync = _patch(streams_module.ChatStream, "__next__", _drop_event)
    undo_async = _patch(streams_module.AsyncChatStream, "__anext__", _drop_async_event)

    def undo() -> None:
        undo_async()
        undo_sync()

    return undo


def _raise_in_wrapper(observe: Any) -> Any:
    def patched(*args: Any) -> Any:
        observe(*args)
        raise RuntimeError("chatspan sabotage: raised from inside the wrapper")

    return patched


def _end_with(extra: Callable[[Any], dict[str, Any] | None]) -> Callable[[Any], Any]:
    def make(end: Any) -> Any:
        def patched(self: Any, attrs: dict[str, Any] | None = None) -> None:
            added = extra(self)
            if added is None:
                return
            end(self, {**(attrs or {}), **added})

        return patched

    return make


def _every_second_unended() -> Callable[[Any], dict[str, Any] | None]:
    counter = itertools.count()

    def extra(call: Any) -> dict[str, Any] | None:
        if call.ended or next(counter) % 2 == 0:
            return {}
        # Marked ended (so chatspan believes it) but the span is never ended.
        call._ended = True
        return None

    return extra


def _cross_call() -> Callable[[Any], dict[str, Any] | None]:
    previous: list[Any] = []
    lock = threading.Lock()

    def extra(call: Any) -> dict[str, Any] | None:
        attributes = getattr(call.span, "attributes", None) or {}
        with lock:
            stolen = previous[-1] if previous else None
            previous.append(attributes.get("gen_ai.request.model"))
        return {"gen_ai.request.model": stolen} if stolen is not None else {}

    return extra


def _without_error_type(end: Any) -> Any:
    # A result or stream that reported its own failure ends like a success (fail() is untouched).
    def patched(self: Any, attrs: dict[str, Any] | None = None) -> None:
        end(self, {k: v for k, v in (attrs or {}).items() if k != "error.type"} if attrs else attrs)

    return patched


def _change_message(fail: Any) -> Any:
    def patched(self: Any, error: BaseException) -> None:
        fail(self, error)
        error.args = (f"sabotaged: {error}", *error.args[1:])

    return patched


def _fail_without_status(fail: Any) -> Any:
    def patched(self: Any, error: BaseException) -> None:
        self.end()

    return patched


def _keep_calls(init: Any) -> Any:
    def patched(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        KEPT_CALLS.append(self)

    return patched


class _OrphanTracer:
    """A tracer whose spans ignore the current context: every span becomes a root."""

    def __init__(self, tracer: Any) -> None:
        self._tracer = tracer

    def start_span(self, name: str, context: Any = None, **kwargs: Any) -> Any:
        return self._tracer.start_span(name, Context(), **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tracer, name)


def _orphan_spans() -> Callable[[], None]:
    telemetry = getattr(ChatspanInstrumentor(), "_telemetry", None)
    if telemetry is None or not hasattr(telemetry, "tracer"):
        raise SabotageTargetMissing("ChatspanInstrumentor()._telemetry.tracer is gone")
    original = telemetry.tracer
    telemetry.tracer = _OrphanTracer(original)
    return lambda: setattr(telemetry, "tracer", original)


def _hang_after_fork(update: Any) -> Any:
    parent = os.getpid()

    def patched(self: Any, *args: Any) -> None:
        if os.getpid() != parent:
            threading.Event().wait()
        update(self, *args)

    return patched


ChatCall = call_module.ChatCall
SABOTAGES: dict[str, Callable[[], Callable[[], None]]] = {
    "drop-chunk": lambda: _patch(streams_module._StreamState, "take", _drop_chunk),
    "drop-event": _drop_events,
    "raise-in-wrapper": lambda: _patch(wrappers_module, "_observe", _raise_in_wrapper),
    "unended-span": lambda: _patch(ChatCall, "end", _end_with(_every_second_unended())),
    "invalid-string": lambda: _patch(
        ChatCall, "end", _end_with(lambda _: {SABOTAGE_ATTRIBUTE: "bad \ud800"})
    ),
    "invalid-int": lambda: _patch(ChatCall, "end", _end_with(lambda _: {SABOTAGE_ATTRIBUTE: 2**64})),
    "exception-message": lambda: _patch(ChatCall, "fail", _change_message),
    "error-status-unset": lambda: _patch(ChatCall, "fail", _fail_without_status),
    "failure-unreported": lambda: _patch(ChatCall, "end", _without_error_type),
    "cross-call": lambda: _patch(ChatCall, "end", _end_with(_cross_call())),
    "orphan-span": _orphan_spans,
    "leak": lambda: _patch(ChatCall, "__init__", _keep_calls),
    "noop-uninstrument": lambda: _patch(
        instrumentor_module.ChatspanInstrumentor, "_uninstrument", lambda _: lambda self, **kwargs: None
    ),
    "fork-hang": lambda: _patch(metrics_module.Headroom, "update", _hang_after_fork),
}


def apply(name: str | None) -> Callable[[], None]:
    """Apply the named sabotage (None or "" for none); return the function that undoes it."""
    if not name:
        return lambda: None
    if name not in SABOTAGES:
        raise SabotageTargetMissing(f"unknown sabotage {name!r}")
    return SABOTAGES[name]()
