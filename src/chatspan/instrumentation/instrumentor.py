"""ChatspanInstrumentor: the table of what is wrapped in the openai SDK, and nothing else."""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.metrics import get_meter
from opentelemetry.trace import get_tracer
from wrapt import wrap_function_wrapper

from chatspan import environment_variables as env
from chatspan.instrumentation.call import CallKind, Telemetry
from chatspan.instrumentation.kinds import BATCH_CREATE, CHAT, RESPONSES, RETRIEVE_RESPONSE
from chatspan.instrumentation.metrics import create_instruments
from chatspan.instrumentation.wrappers import (
    ResultTypes,
    async_call_wrapper,
    call_wrapper,
    process_response_hook,
)
from chatspan.package import _instruments
from chatspan.version import __version__

logger = logging.getLogger(__name__)

_CHAT = "openai.resources.chat.completions"
_BETA_CHAT = "openai.resources.beta.chat.completions"
_RESPONSES = "openai.resources.responses"
_BATCHES = "openai.resources.batches"
_CLIENT = "openai._base_client"

# (module, class, method, mode, kind). Modules and methods missing from the installed SDK are
# skipped: `parse` lived under `beta` until 1.9x, the Responses API arrived after 1.63 and grew
# through 1.x (`responses.stream()` calls `create`/`retrieve`, so it needs no entry of its own).
# `request` entries have no kind: they find it from the request's method and path.
_TABLE: tuple[tuple[str, str, str, str, CallKind | None], ...] = (
    (_CHAT, "Completions", "create", "sync", CHAT),
    (_CHAT, "AsyncCompletions", "create", "async", CHAT),
    (_CHAT, "Completions", "parse", "sync", CHAT),
    (_CHAT, "AsyncCompletions", "parse", "async", CHAT),
    (_BETA_CHAT, "Completions", "parse", "sync", CHAT),
    (_BETA_CHAT, "AsyncCompletions", "parse", "async", CHAT),
    (_RESPONSES, "Responses", "create", "sync", RESPONSES),
    (_RESPONSES, "AsyncResponses", "create", "async", RESPONSES),
    (_RESPONSES, "Responses", "parse", "sync", RESPONSES),
    (_RESPONSES, "AsyncResponses", "parse", "async", RESPONSES),
    (_RESPONSES, "Responses", "retrieve", "sync", RETRIEVE_RESPONSE),
    (_RESPONSES, "AsyncResponses", "retrieve", "async", RETRIEVE_RESPONSE),
    # Only with CHATSPAN_LINK_STORED=true: the batch's metadata then names the span that made it.
    (_BATCHES, "Batches", "create", "sync", BATCH_CREATE),
    (_BATCHES, "AsyncBatches", "create", "async", BATCH_CREATE),
    (_CLIENT, "SyncAPIClient", "_process_response", "hook", None),
    (_CLIENT, "AsyncAPIClient", "_process_response", "hook", None),
    # A model request that reaches request() unseen came through an accessor cached earlier.
    (_CLIENT, "SyncAPIClient", "request", "sync", None),
    (_CLIENT, "AsyncAPIClient", "request", "async", None),
)


class ChatspanInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Make every openai chat completion a span with GenAI attributes, response headers and metrics.

    `instrument(tracer_provider=..., meter_provider=...)` patches the SDK classes, so clients created
    before and after it are covered; `uninstrument()` restores them.
    """

    # BaseInstrumentor is a singleton whose __init__ runs on every ChatspanInstrumentor() call, so
    # state lives in class-level defaults that only _instrument/_uninstrument replace.
    _telemetry: Telemetry | None = None
    _wrapped: tuple[tuple[type, str], ...] = ()

    def instrumentation_dependencies(self) -> Collection[str]:
        """The openai versions this instrumentation supports."""
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        # Under opentelemetry-instrument an exception here would crash the user's app.
        try:
            wrapped: list[tuple[type, str]] = []
            self._telemetry = _telemetry(kwargs)
            types = _result_types()
            telemetry = self._telemetry
            for module_name, class_name, method, mode, kind in _TABLE:
                if kind is BATCH_CREATE and not telemetry.link_stored:
                    continue
                owner = _find_class(module_name, class_name)
                if owner is None or not callable(getattr(owner, method, None)):
                    continue
                if mode == "hook":
                    wrapper: Callable[..., Any] = process_response_hook
                elif mode == "async":
                    wrapper = async_call_wrapper(telemetry, types, kind)
                else:
                    wrapper = call_wrapper(telemetry, types, kind)
                wrap_function_wrapper(owner, method, wrapper)
                wrapped.append((owner, method))
                self._wrapped = tuple(wrapped)
        except Exception:
            logger.warning("chatspan: instrumentation could not be installed", exc_info=True)

    def _uninstrument(self, **kwargs: Any) -> None:
        if self._telemetry is not None:
            # Bound methods captured while instrumented (with_raw_response caches them) keep
            # calling the wrappers: this makes them pass straight through.
            self._telemetry.active = False
        for owner, method in reversed(self._wrapped):
            unwrap(owner, method)
        self._wrapped = ()


def _telemetry(kwargs: dict[str, Any]) -> Telemetry:
    tracer = get_tracer(
        __name__,
        __version__,
        kwargs.get("tracer_provider"),
        schema_url="https://opentelemetry.io/schemas/1.37.0",
    )
    meter = get_meter(
        __name__,
        __version__,
        kwargs.get("meter_provider"),
        schema_url="https://opentelemetry.io/schemas/1.37.0",
    )
    latest = env.opts_in_to_latest_gen_ai(os.environ.get(env.OTEL_SEMCONV_STABILITY_OPT_IN))
    return Telemetry(
        tracer=tracer,
        instruments=create_instruments(meter, latest_conventions=latest),
        capture_content=env.env_flag(os.environ.get(env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)),
        include_usage=env.env_flag(os.environ.get(env.CHATSPAN_STREAM_INCLUDE_USAGE)),
        link_stored=env.env_flag(os.environ.get(env.CHATSPAN_LINK_STORED)),
    )


def _find_class(module_name: str, class_name: str) -> type | None:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    owner = getattr(module, class_name, None)
    return owner if isinstance(owner, type) else None


def _result_types() -> ResultTypes:
    def classes(module_name: str, *names: str) -> tuple[type, ...]:
        found = tuple(_find_class(module_name, name) for name in names)
        return tuple(cls for cls in found if cls is not None)

    return ResultTypes(
        stream=classes("openai._streaming", "Stream"),
        async_stream=classes("openai._streaming", "AsyncStream"),
        raw_response=classes("openai._legacy_response", "LegacyAPIResponse"),
        streamed_response=classes("openai._response", "APIResponse"),
        async_streamed_response=classes("openai._response", "AsyncAPIResponse"),
    )
