"""The span lifecycle around one model call (chat, responses, a fetch), for sync and async clients.

A resource method (`create()`, `parse()`, `retrieve()`) opens a span of its `CallKind` and makes it
known through a context variable; the client's `request()` does the same for a call no resource
wrapper saw (a cached accessor); the SDK's `_process_response` hook, called once with the final HTTP
response of that call, adds what only the headers tell; the result (a completion or Response, a
stream, a raw response) ends the span or hands it to a proxy.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from opentelemetry import context
from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from chatspan import semconv
from chatspan.instrumentation.call import CallKind, ChatCall, Telemetry, guarded
from chatspan.instrumentation.kinds import BATCH_CREATE, CHAT, RESPONSES, RETRIEVE_RESPONSE
from chatspan.instrumentation.responses import AsyncStreamedResponse, RawResponse, StreamedResponse
from chatspan.instrumentation.streams import AsyncChatStream, ChatStream
from chatspan.mapping._values import field, given
from chatspan.mapping.request import server_attributes
from chatspan.mapping.traceparent import metadata_with_traceparent

logger = logging.getLogger(__name__)

_RAW_RESPONSE_HEADER = "x-stainless-raw-response"
SOURCE_LIVE = "live"

_current_call: ContextVar[ChatCall | None] = ContextVar("chatspan_current_call", default=None)

Wrapped = Callable[..., Any]


@dataclass(frozen=True)
class ResultTypes:
    """The SDK classes a call can return instead of a parsed completion (empty when absent)."""

    stream: tuple[type, ...] = ()
    async_stream: tuple[type, ...] = ()
    raw_response: tuple[type, ...] = ()
    streamed_response: tuple[type, ...] = ()
    async_streamed_response: tuple[type, ...] = ()

    @cached_property
    def deferred(self) -> tuple[type, ...]:
        """Every type above: what the span cannot be ended on at once."""
        return (
            *self.stream,
            *self.async_stream,
            *self.raw_response,
            *self.streamed_response,
            *self.async_streamed_response,
        )


def call_wrapper(
    telemetry: Telemetry, types: ResultTypes, kind: CallKind | None
) -> Callable[[Wrapped, Any, Any, Any], Any]:
    """Build the wrapt wrapper for a sync resource method of `kind`, or (None) for `request()`.

    At the client's `request()` it only acts on a model call that no resource wrapper saw: one made
    through a `with_raw_response`/`with_streaming_response` accessor that the SDK cached (with the
    bound method inside it) before `instrument()` or in an earlier instrumentation.
    """

    def wrapper(wrapped: Wrapped, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not telemetry.active or _current_call.get() is not None:
            return wrapped(*args, **kwargs)
        started = _start(telemetry, kind, instance, args, kwargs)
        if started is None:
            return wrapped(*args, **kwargs)
        call_args, call_kwargs, call = started
        call_token = _current_call.set(call)
        context_token = context.attach(call.context)
        try:
            result = wrapped(*call_args, **call_kwargs)
        except BaseException as error:
            _fail(call, error)
            raise
        finally:
            context.detach(context_token)
            _current_call.reset(call_token)
        return _observe(call, result, types)

    return wrapper


def async_call_wrapper(
    telemetry: Telemetry, types: ResultTypes, kind: CallKind | None
) -> Callable[[Wrapped, Any, Any, Any], Awaitable[Any]]:
    """Build the wrapt wrapper for an async resource method of `kind`, or (None) for `request()`."""

    async def wrapper(wrapped: Wrapped, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not telemetry.active or _current_call.get() is not None:
            return await wrapped(*args, **kwargs)
        started = _start(telemetry, kind, instance, args, kwargs)
        if started is None:
            return await wrapped(*args, **kwargs)
        call_args, call_kwargs, call = started
        call_token = _current_call.set(call)
        context_token = context.attach(call.context)
        try:
            result = await wrapped(*call_args, **call_kwargs)
        except BaseException as error:
            _fail(call, error)
            raise
        finally:
            context.detach(context_token)
            _current_call.reset(call_token)
        return _observe(call, result, types)

    return wrapper


def process_response_hook(
    wrapped: Wrapped, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Wrap the SDK client's `_process_response`: its `response` is the call's final HTTP response.

    The SDK has passed (cast_to, options, response, stream, stream_cls, retries_taken) as keywords
    since before 1.63; the method stays sync or async as it was, since we only read the arguments.
    """
    call = _current_call.get()
    if call is not None and not call.ended:
        try:
            headers = getattr(kwargs.get("response"), "headers", None)
            if headers is not None:
                call.record_http_response(headers, kwargs.get("retries_taken"))
        except Exception:
            logger.debug(
                "chatspan: reading response headers failed; the call goes on untouched", exc_info=True
            )
    return wrapped(*args, **kwargs)


def _fail(call: ChatCall, error: BaseException) -> None:
    try:
        call.fail(error)
    except Exception:
        logger.debug("chatspan: recording an error failed; the error is raised untouched", exc_info=True)


Started = tuple[tuple[Any, ...], dict[str, Any], ChatCall]
"""What a started call is made with: the (possibly changed) arguments, and the call itself."""


def _start(
    telemetry: Telemetry, kind: CallKind | None, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Started | None:
    """Start the call of a resource method (its keywords are the request), or of `request()`."""
    if kind is None:
        return _start_at_request(telemetry, instance, args, kwargs)
    client = getattr(instance, "_client", None)
    started = _start_call(telemetry, kind, client, kwargs, kwargs.get("extra_headers"))
    if started is None:
        return None
    call, sent = started
    return args, sent, call


def _request_kind(method: object, path: object) -> CallKind | None:
    """The kind of call an SDK request is (by method and path), or None for other endpoints."""
    if not isinstance(path, str) or not isinstance(method, str):
        return None
    method = method.lower()
    if method == "post":
        return {"/chat/completions": CHAT, "/responses": RESPONSES, "/batches": BATCH_CREATE}.get(path)
    if method == "get" and path.startswith("/responses/") and path.count("/") == 2:
        return RETRIEVE_RESPONSE
    return None


def _start_at_request(
    telemetry: Telemetry, client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Started | None:
    """Start the call of a model request that reached `client.request()` unseen; None for others.

    `request(cast_to, options, ...)` is looked up on the client class at every call (the resources
    cache `client.post` itself), and its `options` carry the method, path, JSON body and headers.
    """
    options = args[1] if len(args) > 1 else kwargs.get("options")
    kind = _request_kind(getattr(options, "method", None), getattr(options, "url", None))
    if kind is None or (kind is BATCH_CREATE and not telemetry.link_stored):
        return None
    # A retrieve's arguments (stream, starting_after) are query parameters; the others' the body.
    body = getattr(options, "params" if kind is RETRIEVE_RESPONSE else "json_data", None)
    if not isinstance(body, dict):
        return None
    started = _start_call(telemetry, kind, client, body, getattr(options, "headers", None))
    if started is None:
        return None
    call, sent = started
    if sent is body:
        return args, kwargs, call
    # Opted-in request changes go into a copy: the SDK's options object is its own.
    changed: Any = copy.copy(options)
    changed.json_data = sent
    if len(args) > 1:
        return (args[0], changed, *args[2:]), kwargs, call
    return args, {**kwargs, "options": changed}, call


def _start_call(
    telemetry: Telemetry, kind: CallKind, client: Any, request: dict[str, Any], extra_headers: object
) -> tuple[ChatCall, dict[str, Any]] | None:
    """Open the span of one call; return it with the request to send (changed only when opted in)."""

    try:
        attributes = kind.request_attributes(request)
        attributes[semconv.CHATSPAN_SOURCE] = SOURCE_LIVE
        attributes.update(_server(client))
        if telemetry.capture_content:
            attributes.update(kind.input_content(request))
        span = telemetry.tracer.start_span(
            kind.span_name(request), kind=SpanKind.CLIENT, attributes=attributes
        )
    except Exception:
        logger.debug("chatspan: starting a span failed; the call goes on untouched", exc_info=True)
        return None
    sent, injected_usage = request, False
    if telemetry.include_usage or telemetry.link_stored:
        sent, injected_usage = guarded(
            "preparing the request",
            lambda: _request_changes(telemetry, kind, span, request, _raw_mode(extra_headers)),
            (request, False),
        )
    call = ChatCall(telemetry, span, attributes, kind=kind, injected_usage=injected_usage, client=client)
    return call, sent


_server_cache: dict[int, tuple[object, dict[str, AttributeValue]]] = {}


def _server(client: Any) -> dict[str, AttributeValue]:
    """`server.*` of the client's base URL, computed once per URL object (the client keeps one).

    Read from the instance attribute that the SDK's own `base_url` property returns (openai 3's
    property imports a module and calls a function on every read); through the property otherwise
    (the module-level client, a subclass that overrides it, an SDK that keeps the URL elsewhere).
    """
    base_url = _stored_base_url(client) if _plain_base_url(type(client)) else None
    if base_url is None:
        base_url = getattr(client, "base_url", None)
    cached = _server_cache.get(id(base_url))
    if cached is not None and cached[0] is base_url:
        return cached[1]
    attributes = server_attributes(
        field(base_url, "host"), field(base_url, "port"), field(base_url, "scheme")
    )
    if len(_server_cache) >= 64:
        _server_cache.clear()
    # The URL is kept in the entry so its id cannot be reused by another object while cached.
    _server_cache[id(base_url)] = (base_url, attributes)
    return attributes


# Where the SDK's own clients keep the URL their `base_url` property returns: `_configured_base_url`
# since openai 3.6x (where `_base_url` became a property that reads `base_url`), `_base_url` before.
_BASE_URL_ATTRIBUTES = ("_configured_base_url", "_base_url")


def _stored_base_url(client: Any) -> object:
    """The base URL as the SDK client stores it, read from the instance; None where it is not there."""
    stored = getattr(client, "__dict__", None)
    if not isinstance(stored, dict):
        return None
    for name in _BASE_URL_ATTRIBUTES:
        url = stored.get(name)
        if url is not None:
            return url
    return None


# The SDK's own `base_url` properties, which return the stored URL and nothing else.
_PLAIN_BASE_URL_PROPERTIES = frozenset({"BaseClient.base_url", "OpenAI.base_url", "AsyncOpenAI.base_url"})
_plain_base_url_classes: dict[type, bool] = {}


def _plain_base_url(client_class: type) -> bool:
    """Whether `client_class.base_url` is one of the SDK's properties that return `_base_url`."""
    plain = _plain_base_url_classes.get(client_class)
    if plain is None:
        prop = getattr(client_class, "base_url", None)
        getter = getattr(prop, "fget", None)
        plain = getattr(getter, "__qualname__", None) in _PLAIN_BASE_URL_PROPERTIES
        if len(_plain_base_url_classes) >= 64:
            _plain_base_url_classes.clear()
        _plain_base_url_classes[client_class] = plain
    return plain


def _request_changes(
    telemetry: Telemetry, kind: CallKind, span: Span, kwargs: dict[str, Any], raw_mode: str | None
) -> tuple[dict[str, Any], bool]:
    """The opt-in request changes: usage on streams, traceparent in stored metadata."""
    changed: dict[str, Any] | None = None
    injected_usage = False
    streams = kwargs.get("stream") is True
    if telemetry.include_usage and kind.usage_option and streams and raw_mode is None:
        options = kwargs.get("stream_options")
        if not given(options):
            changed = {**kwargs, "stream_options": {"include_usage": True}}
            injected_usage = True
        elif isinstance(options, Mapping) and "include_usage" not in options:
            changed = {**kwargs, "stream_options": {**options, "include_usage": True}}
            injected_usage = True
    store = kwargs.get("store")
    stored = store is True or (kind.stores_by_default and not given(store))
    if telemetry.link_stored and stored and kind is not RETRIEVE_RESPONSE:
        metadata = kwargs.get("metadata")
        linked = metadata_with_traceparent(metadata if given(metadata) else None, span.get_span_context())
        if linked is None:
            logger.debug("chatspan: traceparent not added to metadata (key taken, full, or tracing off)")
        else:
            changed = {**(changed or kwargs), "metadata": linked}
    return changed or kwargs, injected_usage


def _raw_mode(headers: object) -> str | None:
    """The SDK's raw-response marker among a request's headers (`raw`, `stream`), if any."""
    if isinstance(headers, Mapping):
        for key, value in headers.items():
            if isinstance(key, str) and key.lower() == _RAW_RESPONSE_HEADER:
                return str(value)
    return None


def _observe(call: ChatCall, result: Any, types: ResultTypes) -> Any:
    """Return what the application gets: `result` itself, or a proxy that ends the span later."""
    try:
        if not isinstance(result, types.deferred):
            call.complete(result)
            return result
        if isinstance(result, types.stream):
            return ChatStream(result, call)
        if isinstance(result, types.async_stream):
            return AsyncChatStream(result, call)
        if isinstance(result, types.raw_response):
            if getattr(result, "_stream", False):
                return RawResponse(result, call)
            # The body is already in memory and parse() caches: the application's own parse()
            # returns this very object, so nothing is read or parsed twice.
            raw: Any = result
            try:
                parsed = raw.parse()
            except Exception as error:
                # The application's own parse() raises this too: to it, the call failed.
                call.fail(error)
                return result
            call.complete(parsed)
            return result
        if isinstance(result, types.streamed_response):
            return StreamedResponse(result, call)
        if isinstance(result, types.async_streamed_response):
            return AsyncStreamedResponse(result, call)
        call.complete(result)
    except Exception:
        logger.debug("chatspan: observing a result failed; it is returned untouched", exc_info=True)
        guarded("ending a span", call.end, None)
    return result
