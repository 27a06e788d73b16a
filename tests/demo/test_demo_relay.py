"""`make demo` with OTEL_EXPORTER_OTLP_ENDPOINT already set: no Phoenix, the spans go to that endpoint.

The endpoint here is a bare OTLP/HTTP receiver (tests/support/otlp_receiver.py), a stand-in for
the collector of examples/jaeger: the demo must deliver every span to it, show them from the copy
its relay kept, and leave nothing running.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.demo.harness import (
    BATCH_SPANS,
    HAS_RESPONSES,
    SEEDED_AND_STORED,
    TOUR_SPANS,
    demo_environment,
    processes_of,
    run_demo,
)
from tests.support.otlp_receiver import otlp_receiver

pytestmark = pytest.mark.slow


def test_demo_sends_to_the_configured_endpoint_and_starts_no_viewer(tmp_path: Path) -> None:
    """Every span reaches the endpoint: the tour's (its 2 Responses calls too, from openai 1.66 on)
    and the backfill's."""
    state = tmp_path / "state"
    with otlp_receiver() as receiver:
        base = receiver.endpoint.removesuffix("/v1/traces")
        env = demo_environment(state, OTEL_EXPORTER_OTLP_ENDPOINT=base)
        demo = run_demo(env, state)
        assert demo.code == 0, demo.output()
        spans = receiver.spans()

    live = [span for span in spans if span.attributes.get("chatspan.source") == "live"]
    batch_traces = {span.trace_id for span in spans if span.name.startswith("batch batch_")}
    in_batches = [span for span in spans if span.trace_id in batch_traces]
    backfilled = [
        span
        for span in spans
        if span.attributes.get("chatspan.source") == "backfill" and span.trace_id not in batch_traces
    ]
    assert (len(live), len(backfilled), len(in_batches)) == (
        TOUR_SPANS,
        SEEDED_AND_STORED,
        BATCH_SPANS,
    ), demo.output()
    assert {span.resource["service.name"] for span in in_batches} == {"chatspan-backfill"}
    responses = sorted(
        (span for span in live if span.attributes["openai.api.type"] == "responses"),
        key=lambda span: span.start_unix_nano,
    )
    assert [span.attributes["gen_ai.request.stream"] for span in responses] == (
        [False, True] if HAS_RESPONSES else []
    ), demo.output()
    assert {span.resource["service.name"] for span in live} == {"chatspan-demo"}
    assert {span.resource["service.name"] for span in backfilled} == {"chatspan-backfill"}
    assert receiver.duplicates() == {}
    (linked,) = [span for span in backfilled if span.parent_span_id]
    assert linked.parent_span_id in {span.span_id for span in live}

    assert "Arize Phoenix" not in demo.stdout and not (state / "phoenix").exists()
    assert f"What {receiver.endpoint} accepted" in demo.stdout, demo.output()
    kinds = f" ({TOUR_SPANS - 2} chat completions, 2 Responses API calls)" if HAS_RESPONSES else ""
    total = TOUR_SPANS + SEEDED_AND_STORED + BATCH_SPANS
    summary = f"{total} spans: {TOUR_SPANS} live from examples/app.py{kinds}, "
    # The demo wraps its notes at 100 columns: compare the words.
    words = " ".join(demo.stdout.split())
    assert f"{summary}{SEEDED_AND_STORED + BATCH_SPANS} backfilled" in words, demo.output()
    printed = set(re.findall(r"req_[0-9a-f]{32}", demo.stdout))
    assert {span.attributes["openai.request.id"] for span in live} <= printed
    assert list(state.glob("*.pid")) == [] and processes_of(state) == {}


def test_a_grpc_endpoint_is_refused_with_the_way_out(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = demo_environment(
        state, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4317", OTEL_EXPORTER_OTLP_PROTOCOL="grpc"
    )
    demo = run_demo(env, state)
    assert demo.code == 1, demo.output()
    assert "OTEL_EXPORTER_OTLP_ENDPOINT at the receiver's HTTP port (4318" in demo.stderr, demo.output()
    assert processes_of(state) == {}
