from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatspan.mapping.headers import (
    header_attributes,
    parse_count,
    parse_go_duration,
    parse_milliseconds,
    raw_header_attributes,
)

OPENAI_HEADERS = {
    "x-request-id": "req_0123456789abcdef0123456789abcdef",
    "openai-processing-ms": "123",
    "x-envoy-upstream-service-time": "130",
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-reset-requests": "6ms",
    "x-ratelimit-limit-tokens": "30000000",
    "x-ratelimit-remaining-tokens": "29999978",
    "x-ratelimit-reset-tokens": "6m0s",
}


def test_every_openai_header_maps_with_exact_names_and_types() -> None:
    attrs = header_attributes(OPENAI_HEADERS)
    assert attrs == {
        "openai.request.id": "req_0123456789abcdef0123456789abcdef",
        "openai.processing.duration": 0.123,
        "openai.upstream.duration": 0.13,
        "openai.ratelimit.requests.limit": 10000,
        "openai.ratelimit.requests.remaining": 9999,
        "openai.ratelimit.requests.reset": 0.006,
        "openai.ratelimit.tokens.limit": 30000000,
        "openai.ratelimit.tokens.remaining": 29999978,
        "openai.ratelimit.tokens.reset": 360.0,
    }
    for key in ("openai.ratelimit.requests.limit", "openai.ratelimit.tokens.remaining"):
        assert type(attrs[key]) is int
    for key in ("openai.processing.duration", "openai.ratelimit.tokens.reset"):
        assert type(attrs[key]) is float


def test_absent_headers_set_nothing() -> None:
    # Azure, vLLM and most compatible servers send none of these.
    assert header_attributes({"content-type": "application/json"}) == {}


def test_malformed_values_are_skipped_not_raised() -> None:
    attrs = header_attributes(
        {
            "openai-processing-ms": "fast",
            "x-ratelimit-remaining-requests": "-1",
            "x-ratelimit-limit-tokens": "1e3",
            "x-ratelimit-reset-tokens": "soon",
            "x-ratelimit-reset-requests": "1x",
            "x-envoy-upstream-service-time": "nan",
            "x-request-id": "",
        }
    )
    assert attrs == {}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6m0s", 360.0),
        ("1s", 1.0),
        ("12ms", 0.012),
        ("0s", 0.0),
        ("0", 0.0),
        ("1h2m3.5s", 3723.5),
        ("1m30.5s", 90.5),
        ("250µs", 0.00025),
        ("250us", 0.00025),
        ("7ns", 7e-9),
        (".5s", 0.5),
        ("2", 2.0),
        (" 17ms ", 0.017),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "ms", "1d", "1m-3s", "abc", "1s2", "-1s", "inf", "1 s", None])
def test_bad_go_durations(text: str | None) -> None:
    assert parse_go_duration(text) is None


def test_counts_and_milliseconds() -> None:
    assert parse_count("42") == 42
    assert parse_count("٤٢") is None  # non-ASCII digits are not a count on the wire
    assert parse_count(None) is None
    assert parse_milliseconds("1500") == 1.5
    assert parse_milliseconds("12.5") == 0.0125
    assert parse_milliseconds("-3") is None


@given(st.dictionaries(st.sampled_from(sorted(OPENAI_HEADERS)), st.text(max_size=30)))
def test_any_header_values_never_raise(headers: dict[str, str]) -> None:
    attrs = header_attributes(headers)
    assert set(attrs) <= {
        "openai.request.id",
        "openai.processing.duration",
        "openai.upstream.duration",
        "openai.ratelimit.requests.limit",
        "openai.ratelimit.requests.remaining",
        "openai.ratelimit.requests.reset",
        "openai.ratelimit.tokens.limit",
        "openai.ratelimit.tokens.remaining",
        "openai.ratelimit.tokens.reset",
    }


@given(st.integers(min_value=0, max_value=99), st.integers(min_value=0, max_value=59), st.integers(0, 59999))
def test_go_duration_round_trip(hours: int, minutes: int, millis: int) -> None:
    seconds = millis / 1000
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + f"{seconds:g}s"
    assert parse_go_duration(text) == pytest.approx(hours * 3600 + minutes * 60 + seconds)


def test_raw_pairs_in_any_case_map_like_the_mapping() -> None:
    raw = [(name.upper().encode(), value.encode()) for name, value in OPENAI_HEADERS.items()]
    raw.append((b"content-type", b"application/json"))
    assert raw_header_attributes(raw) == header_attributes(OPENAI_HEADERS)


def test_client_headers_objects_are_read_in_one_pass() -> None:
    from tests.support.transport import http

    headers = http.Headers(
        {"X-Request-Id": "req_1", "OpenAI-Processing-Ms": "5", "x-ratelimit-reset-tokens": "7s"}
    )
    assert header_attributes(headers) == {
        "openai.request.id": "req_1",
        "openai.processing.duration": 0.005,
        "openai.ratelimit.tokens.reset": 7.0,
    }


def test_raw_pairs_mixing_cases_and_repeating_a_name() -> None:
    raw = [
        (b"x-request-id", b"req_old"),
        (b"X-Ratelimit-Reset-Requests", b"6m0s"),
        (b"x-request-id", b"req_new"),
        (b"openai-processing-ms", b"12"),
    ]
    assert raw_header_attributes(raw) == {
        "openai.request.id": "req_new",
        "openai.ratelimit.requests.reset": 360.0,
        "openai.processing.duration": 0.012,
    }


def test_raw_pairs_from_a_server_without_openai_headers() -> None:
    raw = [(b"content-type", b"application/json"), (b"x-ratelimit-reset-tokens", b"soon")]
    assert raw_header_attributes(raw) == {}
    assert raw_header_attributes(iter(raw)) == {}


def test_repeated_go_durations_parse_the_same_every_time() -> None:
    raw = [(b"x-ratelimit-reset-tokens", b"1m30.5s"), (b"x-ratelimit-reset-requests", b"bad")]
    first = raw_header_attributes(raw)
    assert first == raw_header_attributes(raw) == {"openai.ratelimit.tokens.reset": 90.5}


def test_counts_beyond_int64_are_skipped() -> None:
    huge = str(2**63)
    assert parse_count(huge) is None
    assert parse_count(str(2**63 - 1)) == 2**63 - 1
    raw = [(b"x-ratelimit-remaining-tokens", huge.encode()), (b"x-ratelimit-limit-tokens", b" 42 ")]
    assert raw_header_attributes(raw) == {"openai.ratelimit.tokens.limit": 42}


def test_the_last_of_repeated_headers_counts_even_when_unreadable() -> None:
    from tests.support.transport import http

    headers = http.Headers(
        [
            ("x-ratelimit-remaining-tokens", "100"),
            ("X-RateLimit-Remaining-Tokens", "lots"),
            ("x-request-id", "req_first"),
            ("X-Request-ID", " req_last "),
            ("openai-processing-ms", "5"),
            ("openai-processing-ms", "7"),
        ]
    )
    expected = {"openai.request.id": "req_last", "openai.processing.duration": 0.007}
    assert header_attributes(headers) == expected
    assert raw_header_attributes(headers.raw) == expected


@pytest.mark.parametrize(
    ("name", "readable", "unreadable"),
    [
        ("x-request-id", "req_1", "   "),
        ("openai-processing-ms", "5", "soon"),
        ("x-ratelimit-limit-requests", "100", "-1"),
        ("x-ratelimit-reset-tokens", "6ms", "later"),
    ],
)
def test_an_unreadable_repeat_removes_what_the_readable_one_set(
    name: str, readable: str, unreadable: str
) -> None:
    from tests.support.transport import http

    headers = http.Headers([(name, readable), (name, unreadable), ("x-envoy-upstream-service-time", "3")])
    expected = {"openai.upstream.duration": 0.003}
    assert header_attributes(headers) == expected
    assert raw_header_attributes(headers.raw) == expected
    # And the other way round, the readable one last: it counts.
    again = http.Headers([(name, unreadable), (name, readable)])
    assert len(header_attributes(again)) == 1


def test_header_values_beside_the_fast_path_read_as_before() -> None:
    from tests.support.transport import http

    headers = http.Headers(
        {
            "x-ratelimit-limit-requests": " 10000 ",
            "openai-processing-ms": "312.5",
            "x-ratelimit-reset-tokens": "1m30.5s",
            "x-request-id": "req_caf\u00e9".encode("latin-1"),  # HTTP header values are Latin-1
            "x-ratelimit-remaining-requests": "9" * 19,  # beyond int64
        }
    )
    assert header_attributes(headers) == {
        "openai.ratelimit.requests.limit": 10000,
        "openai.processing.duration": 0.3125,
        "openai.ratelimit.tokens.reset": 90.5,
        "openai.request.id": "req_caf\u00e9",
    }
