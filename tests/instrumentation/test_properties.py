"""Property-based: whatever the server answers, the app gets what it would get uninstrumented,
and no exception ever comes from chatspan."""

from __future__ import annotations

import json
from typing import Any

import openai
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.recording import instrumented
from tests.support.transport import mock_client, response

HEADER_NAMES = [
    "x-request-id",
    "openai-processing-ms",
    "x-envoy-upstream-service-time",
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
]
header_values = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=12),
    st.integers(min_value=-5, max_value=10**12).map(str),
    st.sampled_from(["6m0s", "1s", "12ms", "0s", "1h2m3.5s", "nan", "inf", "-1", "1e9"]),
)
headers_strategy = st.dictionaries(st.sampled_from(HEADER_NAMES), header_values)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
)
anything = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategy, anything)


usage = st.fixed_dictionaries(
    {},
    optional={
        "prompt_tokens": maybe(st.integers(0, 10**6)),
        "completion_tokens": maybe(st.integers(0, 10**6)),
        "total_tokens": maybe(st.integers(0, 10**6)),
        "prompt_tokens_details": maybe(st.fixed_dictionaries({"cached_tokens": maybe(st.integers(0, 99))})),
        "completion_tokens_details": maybe(
            st.fixed_dictionaries({"reasoning_tokens": maybe(st.integers(0, 99))})
        ),
    },
)
choice = st.fixed_dictionaries(
    {"index": maybe(st.integers(0, 3))},
    optional={
        "message": maybe(
            st.fixed_dictionaries({"role": st.just("assistant"), "content": maybe(st.text(max_size=20))})
        ),
        "finish_reason": maybe(st.sampled_from(["stop", "length", "tool_calls", "content_filter"])),
    },
)
completion_body = st.fixed_dictionaries(
    {},
    optional={
        "id": maybe(st.text(max_size=12)),
        "object": st.just("chat.completion"),
        "created": maybe(st.integers(0, 2**40)),
        "model": maybe(st.text(max_size=12)),
        "choices": maybe(st.lists(choice, max_size=3)),
        "usage": maybe(usage),
        "service_tier": maybe(st.sampled_from(["default", "flex"])),
        "system_fingerprint": maybe(st.text(max_size=8)),
    },
)
chunk_body = st.fixed_dictionaries(
    {
        "id": st.just("chatcmpl-x"),
        "object": st.just("chat.completion.chunk"),
        "created": st.just(1),
        "model": st.just("m"),
    },
    optional={
        "choices": maybe(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "index": maybe(st.integers(0, 2)),
                        "delta": maybe(st.fixed_dictionaries({"content": maybe(st.text(max_size=5))})),
                    },
                    optional={"finish_reason": maybe(st.sampled_from(["stop", "length"]))},
                ),
                max_size=2,
            )
        ),
        "usage": maybe(usage),
    },
)


def outcome(call: Any) -> Any:
    """What the application observes: the result's data, or the type and text of the error."""
    try:
        result = call()
        if isinstance(result, openai.Stream):
            return [chunk.model_dump(warnings=False) for chunk in result]
        return result.model_dump(warnings=False)
    except Exception as error:  # the comparison is of what the app would see, whatever it is
        return ("raised", type(error).__name__, str(error))


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ORIGINAL_CREATE = openai.resources.chat.completions.Completions.create


def test_any_completion_body_and_headers() -> None:
    state: dict[str, Any] = {}
    client = mock_client(lambda request: response(200, state["headers"], state["body"]))
    with instrumented() as recording:

        @SETTINGS
        @given(body=completion_body, headers=headers_strategy)
        def check(body: dict[str, Any], headers: dict[str, str]) -> None:
            state["body"] = json.dumps(body).encode()
            state["headers"] = {"content-type": "application/json", **headers}
            kwargs: Any = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
            expected = outcome(lambda: ORIGINAL_CREATE(client.chat.completions, **kwargs))
            seen = outcome(lambda: client.chat.completions.create(**kwargs))
            assert seen == expected

        check()
    assert recording.spans(), "the instrumented calls made spans"
    assert all(span.end_time is not None for span in recording.spans())


def test_any_stream_chunks_and_headers() -> None:
    state: dict[str, Any] = {}
    client = mock_client(
        lambda request: response(
            200, {"content-type": "text/event-stream", **state["headers"]}, state["body"]
        )
    )
    with instrumented() as recording:

        @SETTINGS
        @given(chunks=st.lists(chunk_body, max_size=5), headers=headers_strategy)
        def check(chunks: list[dict[str, Any]], headers: dict[str, str]) -> None:
            state["body"] = (
                "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
            ).encode()
            state["headers"] = headers
            kwargs: Any = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
            expected = outcome(lambda: ORIGINAL_CREATE(client.chat.completions, **kwargs))
            seen = outcome(lambda: client.chat.completions.create(**kwargs))
            assert seen == expected

        check()
    assert recording.spans()
