"""The value checks every mapped value crosses, and reading several fields at once."""

from __future__ import annotations

import enum
from types import SimpleNamespace
from typing import Any

import openai
import pytest
from openai.types import CompletionUsage
from openai.types.completion_usage import CompletionTokensDetails, PromptTokensDetails

from chatspan.mapping._values import as_count, as_int, fields


class _Flag(enum.IntEnum):
    ONE = 1


class _Huge(int):
    """An int subclass: not the plain-int fast path, still an int the checks must bound."""


@pytest.mark.parametrize(
    ("value", "count", "integer"),
    [
        (0, 0, 0),
        (24, 24, 24),
        (2**63 - 1, 2**63 - 1, 2**63 - 1),
        (2**63, None, None),
        (10**4000, None, None),
        (-1, None, -1),
        (-(2**63), None, -(2**63)),
        (-(2**63) - 1, None, None),
        (True, None, None),
        (False, None, None),
        (1.0, None, None),
        ("5", None, None),
        (None, None, None),
        (_Flag.ONE, 1, 1),
        (_Huge(2**63), None, None),
        (_Huge(7), 7, 7),
    ],
)
def test_counts_and_ints_are_bounded_to_int64_and_exclude_bools(value: Any, count: Any, integer: Any) -> None:
    assert as_count(value) == count and (count is None or as_count(value) is value)
    assert as_int(value) == integer and (integer is None or as_int(value) is value)


def test_fields_of_a_dict_an_sdk_object_and_an_object_missing_some() -> None:
    names = ("prompt_tokens", "completion_tokens", "total_tokens")
    usage = CompletionUsage(prompt_tokens=3, completion_tokens=4, total_tokens=7)
    assert list(fields(usage, names)) == [3, 4, 7]
    assert list(fields(usage.model_dump(), names)) == [3, 4, 7]
    assert list(fields({"prompt_tokens": 3}, names)) == [3, None, None]
    # An object without every field: each missing one reads as None, the others as they are.
    assert list(fields(SimpleNamespace(completion_tokens=4), names)) == [None, 4, None]
    assert list(fields(None, names)) == [None, None, None]
    # One name: still a sequence of one.
    assert list(fields(usage, ("prompt_tokens",))) == [3]
    assert list(fields(SimpleNamespace(), ("prompt_tokens",))) == [None]


def test_fields_keeps_sdk_sentinels_for_the_checks_to_reject() -> None:
    sentinel = openai.NOT_GIVEN
    (value,) = fields(SimpleNamespace(model=sentinel), ("model",))
    assert value is sentinel


def test_fields_follow_dotted_paths_and_read_none_where_a_step_is_absent() -> None:
    names = (
        "prompt_tokens",
        "prompt_tokens_details.cached_tokens",
        "completion_tokens_details.reasoning_tokens",
    )
    usage = CompletionUsage(
        prompt_tokens=3,
        completion_tokens=4,
        total_tokens=7,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=2),
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=1),
    )
    assert list(fields(usage, names)) == [3, 2, 1]
    assert list(fields(usage.model_dump(), names)) == [3, 2, 1]
    # A step that is None or missing: that path alone reads as None, on objects and dicts alike.
    bare = CompletionUsage(prompt_tokens=3, completion_tokens=4, total_tokens=7)
    assert list(fields(bare, names)) == [3, None, None]
    assert list(fields(bare.model_dump(), names)) == [3, None, None]
    assert list(fields({"prompt_tokens_details": "not an object"}, names)) == [None, None, None]
    assert list(fields(SimpleNamespace(prompt_tokens_details=SimpleNamespace(cached_tokens=5)), names)) == [
        None,
        5,
        None,
    ]
