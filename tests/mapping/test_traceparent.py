from __future__ import annotations

from opentelemetry.trace import INVALID_SPAN_CONTEXT, SpanContext, TraceFlags

from chatspan.mapping.traceparent import format_traceparent, metadata_with_traceparent, parse_traceparent

CONTEXT = SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, False, TraceFlags(1))
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_format_and_parse_round_trip() -> None:
    assert format_traceparent(CONTEXT) == TRACEPARENT
    parsed = parse_traceparent(TRACEPARENT)
    assert parsed is not None
    assert (parsed.trace_id, parsed.span_id, parsed.trace_flags, parsed.is_remote) == (
        CONTEXT.trace_id,
        CONTEXT.span_id,
        1,
        True,
    )


def test_bad_traceparents() -> None:
    for value in (
        None,
        7,
        "",
        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-" + "0" * 32 + "-b7ad6b7169203331-01",
        TRACEPARENT.upper(),
    ):
        assert parse_traceparent(value) is None


def test_metadata_gets_a_copy_with_the_key() -> None:
    user = {"team": "a"}
    linked = metadata_with_traceparent(user, CONTEXT)
    assert linked == {"team": "a", "chatspan.traceparent": TRACEPARENT}
    assert user == {"team": "a"}, "the caller's dict is never changed"
    assert metadata_with_traceparent(None, CONTEXT) == {"chatspan.traceparent": TRACEPARENT}


def test_never_overwrites_never_exceeds_sixteen_never_without_tracing() -> None:
    assert metadata_with_traceparent({"chatspan.traceparent": "mine"}, CONTEXT) is None
    assert metadata_with_traceparent({f"k{i}": "v" for i in range(16)}, CONTEXT) is None
    assert metadata_with_traceparent({f"k{i}": "v" for i in range(15)}, CONTEXT) is not None
    assert metadata_with_traceparent({}, INVALID_SPAN_CONTEXT) is None
