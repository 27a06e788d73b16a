"""OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental: the GenAI conventions as they stand in
their own repository, for chat completions and responses alike; the earlier names by default."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from chatspan.devserver import DevServer
from tests.instrumentation.conftest import API_KEY
from tests.support.recording import Recording, attributes, instrumented

MODEL = "gpt-4o-mini"
MESSAGES: list[Any] = [{"role": "user", "content": "hello there"}]
HAS_RESPONSES = hasattr(openai.OpenAI(api_key="sk-probe"), "responses")


@pytest.fixture
def latest(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recording]:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "http, gen_ai_latest_experimental")
    with instrumented() as recording:
        yield recording


def sums(recording: Recording) -> dict[str, list[tuple[Any, dict[str, Any]]]]:
    return {
        name: [(getattr(p, "sum", getattr(p, "value", None)), dict(p.attributes)) for p in points]
        for name, points in recording.metrics().items()
    }


def test_chat_metrics_under_the_latest_names(client: openai.OpenAI, latest: Recording) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert completion.usage is not None
    metrics = sums(latest)
    assert "gen_ai.client.operation.duration" not in metrics, "not reported for inference"
    assert "gen_ai.client.token.usage" not in metrics
    assert len(metrics["gen_ai.client.inference.duration"]) == 1
    ((input_sum, input_attrs),) = metrics["gen_ai.client.inference.usage.input_tokens"]
    assert input_sum == completion.usage.prompt_tokens
    assert input_attrs["gen_ai.token.modality"] == "unknown"
    assert input_attrs["gen_ai.operation.name"] == "chat"
    assert "gen_ai.token.type" not in input_attrs
    ((output_sum, _),) = metrics["gen_ai.client.inference.usage.output_tokens"]
    assert output_sum == completion.usage.completion_tokens
    ((histogram_sum, histogram_attrs),) = metrics["gen_ai.client.inference.operation.input_tokens"]
    assert histogram_sum == completion.usage.prompt_tokens
    assert "gen_ai.token.modality" not in histogram_attrs, "histograms are not split by modality"


def test_latest_metrics_keep_exemplars_of_the_calls_own_span(
    client: openai.OpenAI, latest: Recording
) -> None:
    client.chat.completions.create(model=MODEL, messages=MESSAGES)
    latest.assert_exemplars_of(
        latest.only_span(),
        "gen_ai.client.inference.duration",
        "gen_ai.client.inference.usage.input_tokens",
        "gen_ai.client.inference.usage.output_tokens",
        "gen_ai.client.inference.operation.input_tokens",
        "gen_ai.client.inference.operation.output_tokens",
    )


def test_a_failed_call_counts_zero_tokens(client: openai.OpenAI, latest: Recording) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL, messages=MESSAGES, metadata={"k": "v"})
    metrics = sums(latest)
    ((input_sum, attrs),) = metrics["gen_ai.client.inference.usage.input_tokens"]
    assert input_sum == 0
    assert attrs["error.type"] == "400"
    assert "gen_ai.client.inference.operation.input_tokens" not in metrics


def test_stream_time_to_first_chunk_under_the_latest_name(client: openai.OpenAI, latest: Recording) -> None:
    list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    metrics = sums(latest)
    assert "gen_ai.client.operation.time_to_first_chunk" not in metrics
    assert len(metrics["gen_ai.client.inference.time_to_first_chunk"]) == 1


def test_default_names_without_the_opt_in(client: openai.OpenAI, recording: Recording) -> None:
    client.chat.completions.create(model=MODEL, messages=MESSAGES)
    metrics = sums(recording)
    assert set(metrics) >= {"gen_ai.client.operation.duration", "gen_ai.client.token.usage"}
    assert not any(name.startswith("gen_ai.client.inference.") for name in metrics)


@pytest.mark.skipif(not HAS_RESPONSES, reason="this openai predates client.responses")
def test_responses_cache_write_and_fetch_response_under_the_latest_names(
    server: DevServer, latest: Recording
) -> None:
    with openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client:
        created = client.responses.create(model="o4-mini", input="hello", reasoning={"effort": "low"})
        client.responses.retrieve(created.id)
    create_span, fetch_span = latest.spans()
    attrs = attributes(create_span)
    assert "gen_ai.usage.cache_creation.input_tokens" not in attrs
    assert attrs["gen_ai.usage.cache_write.input_tokens"] == 0
    assert fetch_span.name == "fetch_response"
    metrics = sums(latest)
    assert len(metrics["gen_ai.client.inference.duration"]) == 1, "the create call only"
    ((_, fetch_attrs),) = metrics["gen_ai.client.operation.duration"]
    assert fetch_attrs["gen_ai.operation.name"] == "fetch_response"
    assert created.usage is not None
    ((reasoning, _),) = metrics["gen_ai.client.inference.usage.reasoning.output_tokens"]
    assert reasoning == created.usage.output_tokens_details.reasoning_tokens
    ((input_sum, _),) = metrics["gen_ai.client.inference.usage.input_tokens"]
    assert input_sum == created.usage.input_tokens, "the fetch counted no tokens"
