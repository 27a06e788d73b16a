"""What instrumentation adds to an openai chat call: none vs the SDK floor vs chatspan vs the official one.

Run it in the bench venv, which also holds the official package (see bench/README.md):

    scripts/bench-venv.sh
    .venv-bench/bin/python bench/overhead.py [--quick] [--markdown] [--json]

Each mode lives in its own child process (`--mode X --json`), so patches never mix in one
interpreter. The parent starts one child per mode, all pinned to one CPU, and has them take turns:
a round is one batch of calls in every mode, back to back, in a rotating order. A batch takes tens
of milliseconds, so the batches of one round see nearly the same machine, and the median of the
per-round differences carries the instrumentation's cost rather than the neighbours'.

A child drives the real openai client over an in-process transport that returns canned OpenAI
responses, headers included: what it times is the SDK's own work plus the instrumentation's, with no
network. The results are ratios measured side by side in one run; the microseconds only mean
something next to each other.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from importlib import metadata
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any

import openai
from openai.types.chat import ChatCompletionMessageParam
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

MODES = ("none", "floor", "chatspan", "official")
STREAM_CHUNKS = 50
WORKLOADS = ("chat", "stream", "responses", "responses-stream")
STREAMS = ("stream", "responses-stream")
OFFICIAL_PACKAGE = "opentelemetry-instrumentation-genai-openai"
OFFICIAL_MODULE = "opentelemetry.instrumentation.genai.openai"
V2_PACKAGE = "opentelemetry-instrumentation-openai-v2"
V2_MODULE = "opentelemetry.instrumentation.openai_v2"
CHILD_MODES = (*MODES, "openai-v2")
"""`openai-v2` runs only as a child, in its own venv (scripts/bench-v2-venv.sh): it and the official
package register the same entry-point name, so they never share one."""
TARGET_VS_OFFICIAL = 1 / 3
TARGET_VS_SDK = 0.10

_MODEL = "gpt-4o-mini"
_RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
_MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Name three uses of OpenTelemetry."},
]


Rounds = list[dict[str, dict[str, float]]]
"""One entry per round: mode -> workload (one of WORKLOADS) -> seconds per call."""


class BenchError(Exception):
    """A run that cannot give a meaningful result; the CLI prints it as one line."""


# --- the child: one mode, timed batch by batch as the parent asks -------------------------------


class _DroppingExporter(SpanExporter):
    """Counts spans and drops them: exporting must cost the same, and next to nothing, in every mode."""

    def __init__(self) -> None:
        self.count = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.count += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def _http_module() -> ModuleType:
    # openai 3 moved to httpx2; older SDKs only accept httpx clients.
    major = int(openai.__version__.split(".")[0])
    return importlib.import_module("httpx2" if major >= 3 else "httpx")


def _headers(content_type: str, processing_ms: int) -> list[tuple[str, str]]:
    """The headers api.openai.com sends with a chat completion (values from a real response)."""
    return [
        ("date", "Tue, 26 Nov 2024 16:00:00 GMT"),
        ("content-type", content_type),
        ("access-control-expose-headers", "X-Request-ID"),
        ("openai-organization", "user-bench"),
        ("openai-processing-ms", str(processing_ms)),
        ("openai-project", "proj_bench"),
        ("openai-version", "2020-10-01"),
        ("x-envoy-upstream-service-time", str(processing_ms + 6)),
        ("x-ratelimit-limit-requests", "10000"),
        ("x-ratelimit-limit-tokens", "10000000"),
        ("x-ratelimit-remaining-requests", "9999"),
        ("x-ratelimit-remaining-tokens", "9999982"),
        ("x-ratelimit-reset-requests", "6ms"),
        ("x-ratelimit-reset-tokens", "0s"),
        ("x-request-id", "req_5f0c4a1e2b7d4c3a9e8f6d5c4b3a2910"),
        ("strict-transport-security", "max-age=31536000; includeSubDomains; preload"),
        ("cf-cache-status", "DYNAMIC"),
        ("x-content-type-options", "nosniff"),
        ("server", "cloudflare"),
        ("cf-ray", "8e8f1c2d3a4b5c6d-CDG"),
        ("alt-svc", 'h3=":443"; ma=86400'),
    ]


def _completion_body() -> bytes:
    completion = {
        "id": "chatcmpl-AXbench0000000000000000000001",
        "object": "chat.completion",
        "created": 1732636800,
        "model": _RESPONSE_MODEL,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Tracing requests, collecting metrics, and correlating logs.",
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 24,
            "completion_tokens": 11,
            "total_tokens": 35,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_0ba0d124f1",
    }
    return json.dumps(completion).encode()


def _stream_events() -> list[bytes]:
    """A 50-chunk SSE stream as OpenAI sends it: role first, content deltas, finish reason, [DONE]."""

    def chunk(delta: dict[str, Any], finish_reason: str | None) -> bytes:
        body = {
            "id": "chatcmpl-AXbench0000000000000000000002",
            "object": "chat.completion.chunk",
            "created": 1732636800,
            "model": _RESPONSE_MODEL,
            "service_tier": "default",
            "system_fingerprint": "fp_0ba0d124f1",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            "obfuscation": "k3Xq",
        }
        return b"data: " + json.dumps(body).encode() + b"\n\n"

    events = [chunk({"role": "assistant", "content": "", "refusal": None}, None)]
    events += [chunk({"content": f" word{i}"}, None) for i in range(STREAM_CHUNKS - 2)]
    events.append(chunk({}, "stop"))
    events.append(b"data: [DONE]\n\n")
    return events


_INSTRUCTIONS = "You are a terse assistant."
_INPUT = "Name three uses of OpenTelemetry."
# Fifty words: the devserver's event builder streams one `response.output_text.delta` per word.
_RESPONSE_TEXT = " ".join(f"word{i}" for i in range(STREAM_CHUNKS))


def _response_object() -> dict[str, Any]:
    """A completed `Response` as the spec has it, echoing the request `_responses_call` makes."""
    return {
        "id": "resp_68bench00000000000000000000000000000001",
        "object": "response",
        "created_at": 1732636800,
        "status": "completed",
        "background": False,
        "completed_at": 1732636801,
        "error": None,
        "incomplete_details": None,
        "instructions": _INSTRUCTIONS,
        "max_output_tokens": 256,
        "max_tool_calls": None,
        "model": _RESPONSE_MODEL,
        "output": [
            {
                "id": "msg_68bench00000000000000000000000000000001",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "text": _RESPONSE_TEXT, "annotations": [], "logprobs": []}
                ],
            }
        ],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "prompt_cache_key": None,
        "reasoning": {"effort": None, "summary": None},
        "safety_identifier": None,
        "service_tier": "default",
        "store": True,
        "temperature": 0.2,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": 24,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": STREAM_CHUNKS,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 24 + STREAM_CHUNKS,
        },
        "metadata": {},
        "conversation": None,
    }


def _response_stream_events() -> list[bytes]:
    """The documented event sequence for `_response_object()`, built by the devserver's own builder.

    response.created, response.in_progress, output_item.added, content_part.added, 50
    output_text.delta, output_text.done, content_part.done, output_item.done, response.completed.
    """
    from chatspan.devserver.response_events import response_events

    events = response_events(_response_object())
    deltas = sum(event["type"] == "response.output_text.delta" for event in events)
    if deltas != STREAM_CHUNKS:
        raise BenchError(f"the canned Responses stream has {deltas} deltas, not {STREAM_CHUNKS}")
    return [f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode() for event in events]


RESPONSE_STREAM_EVENTS = STREAM_CHUNKS + 8
"""Events in the Responses stream: the 50 deltas and the eight around them."""


def _client() -> openai.OpenAI:
    http = _http_module()
    completion_headers = _headers("application/json", 312)
    completion_body = _completion_body()
    stream_headers = _headers("text/event-stream; charset=utf-8", 96)
    stream_events = _stream_events()
    response_body = json.dumps(_response_object()).encode()
    response_events = _response_stream_events()

    def handle(request: Any) -> Any:
        # A substring test, not json.loads: the transport's cost lands in every mode's baseline,
        # so it must stay small or it would hide the instrumentation's share.
        streaming = b'"stream":true' in request.content
        if request.url.path.endswith("/responses"):
            if streaming:
                return http.Response(200, headers=stream_headers, content=iter(response_events))
            return http.Response(200, headers=completion_headers, content=response_body)
        if streaming:
            # One network read per event, as a real stream arrives.
            return http.Response(200, headers=stream_headers, content=iter(stream_events))
        return http.Response(200, headers=completion_headers, content=completion_body)

    return openai.OpenAI(
        api_key="sk-bench",
        base_url="https://api.openai.com/v1",
        http_client=http.Client(transport=http.MockTransport(handle)),
    )


def _chat_call(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model=_MODEL, messages=_MESSAGES, temperature=0.2, max_completion_tokens=256
    )
    if completion.choices[0].message.content is None:
        raise BenchError("the canned completion came back empty")


def _stream_call(client: openai.OpenAI) -> int:
    stream = client.chat.completions.create(
        model=_MODEL, messages=_MESSAGES, temperature=0.2, max_completion_tokens=256, stream=True
    )
    received = 0
    for _chunk in stream:
        received += 1
    return received


def _responses_call(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model=_MODEL, input=_INPUT, instructions=_INSTRUCTIONS, temperature=0.2, max_output_tokens=256
    )
    if response.output_text != _RESPONSE_TEXT:
        raise BenchError("the canned Response came back with other text")


def _responses_stream_call(client: openai.OpenAI) -> int:
    stream = client.responses.create(
        model=_MODEL,
        input=_INPUT,
        instructions=_INSTRUCTIONS,
        temperature=0.2,
        max_output_tokens=256,
        stream=True,
    )
    received = 0
    for _event in stream:
        received += 1
    return received


def _instrument(mode: str, tracer_provider: TracerProvider, meter_provider: MeterProvider) -> str:
    """Instrument the SDK as `mode` says; return what was used, for the report."""
    if mode == "none":
        return "-"
    if mode == "floor":
        _install_floor(tracer_provider, meter_provider)
        return "the SDK calls chatspan makes, on precomputed attributes (no mapping)"
    if mode == "chatspan":
        # Imported here so that the `none` child never even loads chatspan.
        from chatspan import ChatspanInstrumentor

        ChatspanInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        return f"chatspan {metadata.version('chatspan')} (ChatspanInstrumentor)"
    if mode == "openai-v2":
        v2 = importlib.import_module(V2_MODULE)
        v2.OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        return f"{V2_PACKAGE} {metadata.version(V2_PACKAGE)} ({V2_MODULE}.OpenAIInstrumentor)"
    # By name: the official package is only in the bench venv, not where mypy runs.
    module = importlib.import_module(OFFICIAL_MODULE)
    module.OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    return f"{OFFICIAL_PACKAGE} {metadata.version(OFFICIAL_PACKAGE)} ({OFFICIAL_MODULE}.OpenAIInstrumentor)"


def _install_floor(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> None:
    """Wrap `create` with only the OpenTelemetry SDK calls chatspan makes, on precomputed values.

    The same span (name, kind, chatspan's exact request and response attribute sets, one
    `set_attributes` at the end) and the same four histogram records with the same attributes, in
    the span's context (so with the same exemplars), but
    no argument, header or body is read: what any instrumentation emitting this telemetry through
    the SDK must pay. Streams get the span and records when they are created, the chunks untouched.
    """
    from opentelemetry import context, trace
    from opentelemetry.trace import SpanKind
    from wrapt import wrap_function_wrapper

    from chatspan import semconv
    from chatspan.instrumentation.call import _METRIC_KEYS
    from chatspan.instrumentation.metrics import create_instruments
    from chatspan.instrumentation.wrappers import SOURCE_LIVE
    from chatspan.mapping.completion import completion_attributes
    from chatspan.mapping.headers import header_attributes
    from chatspan.mapping.request import request_attributes, server_attributes
    from chatspan.mapping.responses import response_object_attributes, responses_request_attributes

    # Built by chatspan's own mapping and keys, so the floor follows what chatspan sets.
    http = _http_module()
    kwargs = {"model": _MODEL, "messages": _MESSAGES, "temperature": 0.2, "max_completion_tokens": 256}
    start_attributes = {
        **request_attributes(kwargs),
        semconv.CHATSPAN_SOURCE: SOURCE_LIVE,
        **server_attributes("api.openai.com", None, "https"),
    }
    headers = http.Headers(_headers("application/json", 312))
    end_attributes = {
        **header_attributes(headers),
        semconv.OPENAI_RETRIES: 0,
        **completion_attributes(json.loads(_completion_body())),
    }
    metric_attributes = {key: start_attributes[key] for key in _METRIC_KEYS}
    metric_attributes["gen_ai.response.model"] = end_attributes["gen_ai.response.model"]
    input_attributes = {**metric_attributes, "gen_ai.token.type": "input"}
    output_attributes = {**metric_attributes, "gen_ai.token.type": "output"}
    tracer = trace.get_tracer("bench.floor", tracer_provider=tracer_provider)
    instruments = create_instruments(meter_provider.get_meter("bench.floor"))
    token_usage = instruments.token_usage
    assert token_usage is not None, "the default conventions record gen_ai.client.token.usage"

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        started = time.perf_counter()
        span = tracer.start_span(f"chat {_MODEL}", kind=SpanKind.CLIENT, attributes=start_attributes)
        span_context = trace.set_span_in_context(span)
        token = context.attach(span_context)
        try:
            result = wrapped(*args, **kwargs)
        finally:
            context.detach(token)
        span.set_attributes(end_attributes)
        # In the span's context, as chatspan records: the SDK keeps exemplars that point at it.
        instruments.processing_duration.record(0.312, metric_attributes, context=span_context)
        instruments.operation_duration.record(
            time.perf_counter() - started, metric_attributes, context=span_context
        )
        token_usage.record(24, input_attributes, context=span_context)
        token_usage.record(11, output_attributes, context=span_context)
        span.end()
        return result

    wrap_function_wrapper("openai.resources.chat.completions", "Completions.create", wrapper)

    # The Responses floor: chatspan's Responses shapes (mapping/responses.py), the same records.
    responses_kwargs = {
        "model": _MODEL,
        "input": _INPUT,
        "instructions": _INSTRUCTIONS,
        "temperature": 0.2,
        "max_output_tokens": 256,
    }
    responses_start = {
        **responses_request_attributes(responses_kwargs),
        semconv.CHATSPAN_SOURCE: SOURCE_LIVE,
        **server_attributes("api.openai.com", None, "https"),
    }
    responses_end = {
        **header_attributes(headers),
        semconv.OPENAI_RETRIES: 0,
        **response_object_attributes(_response_object()),
    }
    responses_metric = {key: responses_start[key] for key in _METRIC_KEYS}
    responses_metric["gen_ai.response.model"] = responses_end["gen_ai.response.model"]
    responses_input = {**responses_metric, "gen_ai.token.type": "input"}
    responses_output = {**responses_metric, "gen_ai.token.type": "output"}

    def responses_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        started = time.perf_counter()
        span = tracer.start_span(f"chat {_MODEL}", kind=SpanKind.CLIENT, attributes=responses_start)
        span_context = trace.set_span_in_context(span)
        token = context.attach(span_context)
        try:
            result = wrapped(*args, **kwargs)
        finally:
            context.detach(token)
        span.set_attributes(responses_end)
        instruments.processing_duration.record(0.312, responses_metric, context=span_context)
        instruments.operation_duration.record(
            time.perf_counter() - started, responses_metric, context=span_context
        )
        token_usage.record(24, responses_input, context=span_context)
        token_usage.record(STREAM_CHUNKS, responses_output, context=span_context)
        span.end()
        return result

    wrap_function_wrapper("openai.resources.responses.responses", "Responses.create", responses_wrapper)


def _patched() -> bool:
    """Whether anything has replaced `Completions.create` (both instrumentations wrap it with wrapt)."""
    from openai.resources.chat.completions import Completions

    # type(), not isinstance(): a wrapt proxy passes isinstance checks for what it wraps.
    return type(vars(Completions)["create"]) is not FunctionType


def _responses_patched() -> bool:
    """Whether anything has replaced `Responses.create`."""
    from openai.resources.responses.responses import Responses

    return type(vars(Responses)["create"]) is not FunctionType


# CPU time of the whole process (the span processor's thread included) is the default clock: the
# work timed never waits on I/O, and on a shared 2-core machine wall time mostly measures how long
# other processes held the CPU. `--clock wall` is there to check that the two agree on a quiet machine.
CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}


def _per_call(action: Callable[[], object], count: int, clock: Callable[[], float]) -> float:
    """Seconds per call over a batch of `count` back-to-back calls."""
    started = clock()
    for _ in range(count):
        action()
    return (clock() - started) / count


def _metric_names(reader: InMemoryMetricReader) -> list[str]:
    data = reader.get_metrics_data()
    resource_metrics = data.resource_metrics if data is not None else ()
    return sorted({m.name for rm in resource_metrics for sm in rm.scope_metrics for m in sm.metrics})


def _send(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


def serve_child(mode: str, *, warmup: int, clock: Callable[[], float], cpu: int | None) -> None:
    """Be one mode's child: set up, warm up, say ready, then time the batches the parent asks for.

    The protocol is one line each way: `chat N` / `stream N` answer `{"per_call_s": ...}`, and
    `done` answers the span count and metric names, then the child exits. Raises BenchError when
    the instrumentation did not do what the mode says: a benchmark of unpatched code would look
    like a fine result.
    """
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    exporter = _DroppingExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    instrumentation = _instrument(mode, tracer_provider, meter_provider)
    if _patched() != (mode != "none"):
        raise BenchError(f"mode {mode}: Completions.create is {'' if _patched() else 'not '}patched")
    # openai-v2 2.4b0 does not instrument the Responses API: its Responses calls make no span.
    traces_responses = mode not in ("none", "openai-v2")
    if _responses_patched() != traces_responses:
        raise BenchError(f"mode {mode}: Responses.create is {'' if _responses_patched() else 'not '}patched")

    client = _client()
    workloads: dict[str, Callable[[], object]] = {
        "chat": partial(_chat_call, client),
        "stream": partial(_stream_call, client),
        "responses": partial(_responses_call, client),
        "responses-stream": partial(_responses_stream_call, client),
    }
    if _stream_call(client) != STREAM_CHUNKS:
        raise BenchError(f"mode {mode}: the stream did not deliver {STREAM_CHUNKS} chunks")
    if _responses_stream_call(client) != RESPONSE_STREAM_EVENTS:
        raise BenchError(f"mode {mode}: the Responses stream did not deliver {RESPONSE_STREAM_EVENTS} events")
    traced = {"chat", "stream", *(("responses", "responses-stream") if traces_responses else ())}
    made = 1 + traces_responses
    for workload in WORKLOADS:
        warm = max(1, warmup // 5) if workload in STREAMS else warmup
        _per_call(workloads[workload], warm, clock)
        made += warm if workload in traced else 0
    gc.collect()
    _send({"mode": mode, "instrumentation": instrumentation})

    for line in sys.stdin:
        command, _, count = line.strip().partition(" ")
        if command == "done":
            break
        _send({"per_call_s": _per_call(workloads[command], int(count), clock)})
        made += int(count) if command in traced else 0

    tracer_provider.force_flush()
    if exporter.count != (0 if mode == "none" else made):
        raise BenchError(f"mode {mode}: {exporter.count} spans exported for {made} calls")
    _send({"spans": exporter.count, "metrics": _metric_names(reader)})
    tracer_provider.shutdown()
    meter_provider.shutdown()


# --- the parent: children in turn, statistics, report --------------------------------------------


def _child_env() -> dict[str, str]:
    """The environment minus anything that configures OpenTelemetry or chatspan.

    Content capture is off because its variable is gone, and every mode sees the same settings.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CHATSPAN_"))}
    if "PYTHONPATH" in env:
        # opentelemetry-instrument works through a sitecustomize on PYTHONPATH.
        kept = [p for p in env["PYTHONPATH"].split(os.pathsep) if "auto_instrumentation" not in p]
        env["PYTHONPATH"] = os.pathsep.join(kept)
    return env


class _Child:
    """One mode's child process, driven one command line at a time."""

    def __init__(self, mode: str, args: argparse.Namespace, env: dict[str, str]) -> None:
        self.mode = mode
        command = [sys.executable, str(Path(__file__).resolve()), "--mode", mode, "--json"]
        command += [f"--warmup={args.warmup}", f"--clock={args.clock}"]
        if args.cpu is not None:
            command.append(f"--cpu={args.cpu}")
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def read(self) -> dict[str, Any]:
        """The child's next answer; BenchError when it reported an error or died."""
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise BenchError(f"the {self.mode} child exited (exit code {self._process.wait()}); see above")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise BenchError(f"the {self.mode} child failed: {answer['error']}")
        return answer

    def ask(self, command: str) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()


def run_session(args: argparse.Namespace, modes: Sequence[str], env: dict[str, str]) -> dict[str, Any]:
    """Start one child per mode and time `args.rounds` rounds in turn; the children then exit."""
    children = [_Child(mode, args, env) for mode in modes]
    try:
        # All warm up at once (untimed); the first round waits for the slowest.
        ready = {child.mode: child.read() for child in children}
        rounds: Rounds = []
        for number in range(args.rounds):
            shift = number % len(children)
            order = [*children[shift:], *children[:shift]]
            result: dict[str, dict[str, float]] = {child.mode: {} for child in children}
            for workload in WORKLOADS:
                count = args.streams if workload in STREAMS else args.calls
                for child in order:
                    result[child.mode][workload] = child.ask(f"{workload} {count}")["per_call_s"]
            rounds.append(result)
        checks = {child.mode: child.ask("done") for child in children}
    finally:
        for child in children:
            child.close()
    return {"ready": ready, "checks": checks, "rounds": rounds}


def _added(rounds: Rounds, mode: str, workload: str) -> list[float]:
    """(mode - none) per round in µs: the two batches ran milliseconds apart, on the same machine."""
    return [(r[mode][workload] - r["none"][workload]) * 1e6 for r in rounds]


def _ratios(rounds: Rounds, workload: str) -> dict[str, float | None]:
    def added(mode: str) -> float | None:
        return statistics.median(_added(rounds, mode, workload)) if mode in rounds[0] else None

    def ratio(part: float | None, whole: float | None) -> float | None:
        # Undefined when the official's added cost is lost in noise: a ratio to ~0 says nothing.
        return part / whole if part is not None and whole is not None and whole > 0 else None

    ours, floor, theirs = added("chatspan"), added("floor"), added("official")
    sdk = statistics.median(r["none"][workload] for r in rounds) * 1e6
    return {
        "chatspan_vs_official": ratio(ours, theirs),
        "chatspan_vs_sdk": ratio(ours, sdk),
        "floor_vs_official": ratio(floor, theirs),
        "floor_vs_sdk": ratio(floor, sdk),
    }


def _bootstrap(rounds: Rounds, workload: str, resamples: int = 1000) -> dict[str, list[float] | None]:
    """95 % intervals of the ratios, from resampling whole rounds (seeded: reruns print the same)."""
    rng = random.Random(0)
    samples: dict[str, list[float]] = {}
    for _ in range(resamples):
        for key, value in _ratios(rng.choices(rounds, k=len(rounds)), workload).items():
            if value is not None:
                samples.setdefault(key, []).append(value)
    intervals: dict[str, list[float] | None] = {}
    for key in ("chatspan_vs_official", "chatspan_vs_sdk", "floor_vs_official", "floor_vs_sdk"):
        values = samples.get(key, [])
        if len(values) < resamples * 0.95:
            intervals[key] = None
            continue
        cuts = statistics.quantiles(values, n=40)
        intervals[key] = [cuts[0], cuts[-1]]
    return intervals


def summarize(rounds: Rounds, modes: Sequence[str]) -> dict[str, Any]:
    """Per-call medians, added costs (median of per-round differences) and ratios with intervals."""
    summary: dict[str, Any] = {
        "per_call_us": {},
        "added_us": {},
        "added_iqr_us": {},
        "ratios": {},
        "ratio_intervals": {},
    }
    for workload in WORKLOADS:
        summary["per_call_us"][workload] = {
            mode: statistics.median(r[mode][workload] for r in rounds) * 1e6 for mode in modes
        }
        added: dict[str, float] = {}
        quartiles: dict[str, list[float]] = {}
        for mode in modes:
            if mode == "none":
                continue
            diffs = _added(rounds, mode, workload)
            added[mode] = statistics.median(diffs)
            low, _, high = statistics.quantiles(diffs, n=4) if len(diffs) > 1 else diffs * 3
            quartiles[mode] = [low, high]
        summary["added_us"][workload] = added
        summary["added_iqr_us"][workload] = quartiles
        if "chatspan" in modes:
            summary["ratios"][workload] = _ratios(rounds, workload)
            summary["ratio_intervals"][workload] = _bootstrap(rounds, workload)
    return summary


def _table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]
    )


_WORKLOADS = (
    ("chat", "non-streaming call"),
    ("stream", f"{STREAM_CHUNKS}-chunk stream"),
    ("responses", "Responses call"),
    ("responses-stream", f"Responses stream ({STREAM_CHUNKS} deltas)"),
)


def _results_table(summary: dict[str, Any], modes: Sequence[str], markdown: bool) -> str:
    rows: list[list[str]] = []
    for workload, label in _WORKLOADS:
        for mode in modes:
            time_us = summary["per_call_us"][workload][mode]
            if mode == "none":
                rows.append([label, mode, f"{time_us:.1f}", "—", "—", "—"])
                continue
            added = summary["added_us"][workload][mode]
            low, high = summary["added_iqr_us"][workload][mode]
            per_chunk = f"{added / STREAM_CHUNKS:.2f}" if workload in STREAMS else "—"
            rows.append([label, mode, f"{time_us:.1f}", f"{added:.1f}", per_chunk, f"{low:.1f} … {high:.1f}"])
    header = ["workload", "mode", "per call (µs)", "added per call (µs)", "added per chunk (µs)"]
    return _table([*header, "added, middle half of rounds (µs)"], rows, markdown)


def _ratio_cell(value: float | None, interval: list[float] | None, target: float, percent: bool) -> str:
    if value is None:
        return "n/a (official's added cost within noise)"

    def shown(number: float) -> str:
        return f"{number * 100:.1f} %" if percent else f"{number:.2f}"

    spread = f" [{shown(interval[0])} – {shown(interval[1])}]" if interval is not None else ""
    if value <= 0:
        verdict = "meets: chatspan's added cost within noise"
    elif interval is not None and interval[0] <= target < interval[1]:
        verdict = f"{'meets' if value <= target else 'misses'}, but the interval straddles the target"
    else:
        verdict = "meets" if value <= target else "misses"
    return f"{shown(value)}{spread} ({verdict})"


def _ratio_table(summary: dict[str, Any], modes: Sequence[str], markdown: bool) -> str:
    lines = []
    if "official" in modes:
        lines.append(
            ("chatspan added / official added", "chatspan_vs_official", TARGET_VS_OFFICIAL, "≤ 0.33")
        )
    lines.append(("chatspan added / SDK's own per-call cost", "chatspan_vs_sdk", TARGET_VS_SDK, "≤ 10 %"))
    if "floor" in modes:
        if "official" in modes:
            lines.append(("floor added / official added", "floor_vs_official", TARGET_VS_OFFICIAL, "≤ 0.33"))
        lines.append(("floor added / SDK's own per-call cost", "floor_vs_sdk", TARGET_VS_SDK, "≤ 10 %"))
    rows = [
        [
            label,
            *(
                _ratio_cell(
                    summary["ratios"][workload][key],
                    summary["ratio_intervals"][workload][key],
                    target,
                    percent=key.endswith("_vs_sdk"),
                )
                for workload, _ in _WORKLOADS
            ),
            shown_target,
        ]
        for label, key, target, shown_target in lines
    ]
    return _table(["ratio (95 % interval)", *(label for _, label in _WORKLOADS), "target"], rows, markdown)


def render(summary: dict[str, Any], info: dict[str, Any], modes: Sequence[str], markdown: bool) -> str:
    """The setup, the results table and the ratio table, as aligned text or Markdown."""
    clock = "process CPU time" if info["clock"] == "cpu" else "wall time"
    pinned = f", children pinned to CPU {info['cpu']}" if info["cpu"] is not None else ""
    setup = [
        f"Python {info['python']}, openai {info['openai']} over {info['http']}, "
        f"opentelemetry-sdk {info['sdk']}.",
        f"{info['sessions']} sessions × {info['rounds']} rounds, each round one batch of {info['calls']} "
        f"calls and one of {info['streams']} streams per mode, {clock}{pinned}; "
        "BatchSpanProcessor → dropping exporter, InMemoryMetricReader, content capture off.",
        *(f"{mode}: {name}" for mode, name in info["instrumentations"].items() if mode != "none"),
    ]
    if markdown:
        setup = [f"- {line}" for line in setup]
    parts = ["\n".join(setup), _results_table(summary, modes, markdown)]
    if "chatspan" in modes:
        parts.append(_ratio_table(summary, modes, markdown))
    return "\n\n".join(parts)


def _versions(args: argparse.Namespace, ready: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "openai": openai.__version__,
        "http": _http_module().__name__,
        "sdk": metadata.version("opentelemetry-sdk"),
        "sessions": args.sessions,
        "rounds": args.rounds,
        "calls": args.calls,
        "streams": args.streams,
        "clock": args.clock,
        "cpu": args.cpu,
        "instrumentations": {mode: answer["instrumentation"] for mode, answer in ready.items()},
    }


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mode", choices=CHILD_MODES, help="be one mode's child (the parent spawns these)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated modes to compare")
    parser.add_argument(
        "--sessions", type=_positive, default=3, help="fresh children per mode, one after another"
    )
    parser.add_argument("--rounds", type=_positive, default=80, help="rounds per session")
    parser.add_argument("--calls", type=_positive, default=40, help="non-streaming calls per batch")
    parser.add_argument("--streams", type=_positive, default=8, help="50-chunk streams per batch")
    parser.add_argument(
        "--warmup", type=_positive, default=200, help="untimed calls in each child before timing"
    )
    parser.add_argument("--clock", choices=tuple(CLOCKS), default="cpu", help="process CPU time or wall time")
    parser.add_argument("--no-pin", action="store_true", help="let children run on any CPU")
    parser.add_argument("--cpu", type=int, help=argparse.SUPPRESS)  # the parent's choice, for children
    parser.add_argument("--quick", action="store_true", help="smoke run: one short session")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--json", action="store_true", help="print the results (every round too) as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.sessions, args.rounds, args.calls, args.streams, args.warmup = 1, 5, 10, 2, 20
    if args.mode is None and not args.no_pin and hasattr(os, "sched_getaffinity"):
        # All children on one CPU: a neighbour busy there slows every mode alike. Left free, the
        # scheduler may keep one child next to a busy neighbour for a whole session and bias it.
        args.cpu = max(os.sched_getaffinity(0))
    return args


def _check_modes(text: str) -> list[str]:
    modes = [mode.strip() for mode in text.split(",") if mode.strip()]
    if "none" not in modes or any(mode not in MODES for mode in modes):
        raise BenchError(f"--modes must include none and name only {', '.join(MODES)}")
    if "official" in modes:
        try:
            metadata.version(OFFICIAL_PACKAGE)
        except metadata.PackageNotFoundError:
            raise BenchError(
                f"{OFFICIAL_PACKAGE} is not installed here: run scripts/bench-venv.sh and use "
                ".venv-bench/bin/python (or pass --modes none,chatspan)"
            ) from None
    return modes


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or, with --mode, one child of it); errors become one line and exit 1."""
    args = _arguments(argv)
    try:
        if args.mode is not None:
            try:
                serve_child(args.mode, warmup=args.warmup, clock=CLOCKS[args.clock], cpu=args.cpu)
            except Exception as error:
                # The parent turns this into its one-line error; a traceback would only say "child".
                _send({"error": str(error) if isinstance(error, BenchError) else repr(error)})
                return 1
            return 0
        modes = _check_modes(args.modes)
        env = _child_env()
        sessions = []
        for number in range(args.sessions):
            print(f"overhead: session {number + 1}/{args.sessions}", file=sys.stderr, flush=True)
            sessions.append(run_session(args, modes, env))
        rounds = [result for session in sessions for result in session["rounds"]]
        summary = summarize(rounds, modes)
        info = _versions(args, sessions[0]["ready"])
        if args.json:
            print(json.dumps({"info": info, **summary, "sessions": sessions}, indent=2))
        else:
            print(render(summary, info, modes, args.markdown))
        return 0
    except BenchError as error:
        print(f"overhead: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
