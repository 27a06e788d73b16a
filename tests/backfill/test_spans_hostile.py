"""A stored completion with hostile values still becomes one valid span (its OTLP encoding checked)."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.resources import Resource

from chatspan.backfill.spans import span_ids, stored_span
from tests.support.otlp_encoding import assert_otlp_encodable

SURROGATE = "\udc80"


def hostile(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": f"chatcmpl-{SURROGATE}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": f"gpt-4o{SURROGATE}",
        "request_id": f"req_{SURROGATE}",
        "metadata": {f"k{SURROGATE}": f"v{SURROGATE}", "team": "search"},
        "service_tier": f"default{SURROGATE}",
        "system_fingerprint": f"fp{SURROGATE}",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": f"hi{SURROGATE}"}}],
        "usage": {"prompt_tokens": -1, "completion_tokens": 2**70, "total_tokens": 3},
    }
    base.update(fields)
    return base


def test_lone_surrogates_and_bad_counts_give_a_valid_span() -> None:
    span = stored_span(hostile(), resource=Resource({}), capture_content=True, messages=[])
    assert_otlp_encodable([span])
    attrs = dict(span.attributes or {})
    assert span.name == "chat gpt-4o\ufffd"
    assert attrs["openai.request.id"] == "req_\ufffd"
    assert attrs["openai.request.metadata.k\ufffd"] == "v\ufffd"
    assert attrs["openai.request.metadata.team"] == "search"
    assert "gen_ai.usage.input_tokens" not in attrs
    assert "gen_ai.usage.output_tokens" not in attrs
    assert span.context is not None and span.context.span_id == span_ids(f"chatcmpl-{SURROGATE}")[1]


def test_a_created_beyond_the_otlp_time_range_does_not_fail_the_batch() -> None:
    for created, attribute in ((2**63, None), (-5, None), (10**30, None), (2**62, 2**62)):
        span = stored_span(hostile(created=created), resource=Resource({}), capture_content=False)
        assert_otlp_encodable([span])
        assert (span.attributes or {}).get("openai.response.created") == attribute
        assert span.start_time == span.end_time == 0, "no valid time: the epoch, not a failed export"
