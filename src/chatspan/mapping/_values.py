"""Field access and value checks shared by the mapping modules: the one boundary every value crosses.

Every value chatspan puts on a span or a metric passes one of the `as_*` checks here, so that it is
valid for OTLP: text is valid UTF-8 (lone surrogates, which `json.loads` happily returns from a
`"\\ud800"` escape, are replaced), ints fit int64 (counts are also non-negative), floats are finite.
A value that fails is dropped alone; it never reaches the exporter, where one bad value fails or
mangles the batch around it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Any

from opentelemetry.util.types import AttributeValue

# The openai SDK marks "not passed" with sentinel instances; they must read as absent without the
# mapping importing openai.
SENTINEL_TYPES = frozenset({"NotGiven", "Omit"})


def field(obj: Any, name: str) -> Any:
    """Return `obj[name]` for mappings, `obj.name` otherwise; None when absent or a sentinel."""
    if obj is None:
        return None
    value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    if value is None or type(value).__name__ in SENTINEL_TYPES:
        return None
    return value


def fields(obj: Any, names: tuple[str, ...]) -> Sequence[Any]:
    """Read several fields of a mapping or an object at once, None for each one absent.

    A name may be a dotted path into nested fields (`prompt_tokens_details.cached_tokens`), None
    when any step of it is absent. Unlike `field()`, sentinels are not filtered: for response
    objects, whose every value then passes an `as_*` check (which rejects them anyway).
    """
    if isinstance(obj, dict):
        return [obj.get(name) if "." not in name else _path(obj, name) for name in names]
    if obj is None:
        return [None] * len(names)
    getter = _getters.get(names)
    if getter is None:
        if len(_getters) >= 64:
            _getters.clear()
        getter = _getters[names] = attrgetter(*names)
    try:
        # One C call for all of them, where the SDK object has every field (its models do).
        values: Sequence[Any] = getter(obj)
    except AttributeError:
        return [_path(obj, name) for name in names]
    return values if len(names) > 1 else [values]


def _path(obj: Any, path: str) -> Any:
    """Follow a dotted path through mappings and objects; None where a step is absent."""
    for name in path.split("."):
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


_getters: dict[tuple[str, ...], attrgetter[Any]] = {}


def count_attributes(
    obj: Any, paths: tuple[str, ...], attributes: tuple[str, ...]
) -> dict[str, AttributeValue]:
    """Each attribute set to the count at the path beside it (see `fields`), where that is a count.

    The token usage of every API reads this way; a value that is no count (see `as_count`) is left out.
    """
    attrs: dict[str, AttributeValue] = {}
    for attribute, value in zip(attributes, fields(obj, paths), strict=True):
        count = as_count(value)
        if count is not None:
            attrs[attribute] = count
    return attrs


def given(value: Any) -> bool:
    """Say whether a create() argument was really passed (not None, not an SDK sentinel)."""
    return value is not None and type(value).__name__ not in SENTINEL_TYPES


_INT64_END = 2**63


def as_int(value: Any) -> int | None:
    """Return value as an int when it is one that OTLP can carry (int64; bools excluded), else None."""
    # `type() is int` first: a plain int is the usual case, and it is no bool.
    if (type(value) is int or (isinstance(value, int) and not isinstance(value, bool))) and (
        -_INT64_END <= value < _INT64_END
    ):
        return value
    return None


def as_count(value: Any) -> int | None:
    """Return value when it is a count OTLP can carry: an int in [0, 2**63) (bools excluded), else None.

    Token counts, rate-limit figures, retries and unix times are never negative; a server that says
    otherwise is wrong, and a negative value would also be rejected by the histograms.
    """
    if (type(value) is int or (isinstance(value, int) and not isinstance(value, bool))) and (
        0 <= value < _INT64_END
    ):
        return value
    return None


def as_float(value: Any) -> float | None:
    """Return value as a finite float when it is a real number (bools excluded), else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an int beyond the float range
            return None
        return number if math.isfinite(number) else None
    return None


def as_duration(value: Any) -> float | None:
    """Return value as seconds when it is a finite, non-negative real number, else None."""
    number = as_float(value)
    return number if number is not None and number >= 0.0 else None


def as_text(value: Any) -> str | None:
    """Return value as text OTLP can carry (valid UTF-8), repairing lone surrogates; None for non-str."""
    if not isinstance(value, str):
        return None
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # Pairs that arrived as two code units are joined, lone ones become U+FFFD.
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def as_texts(values: Iterable[Any]) -> list[str]:
    """The strings among `values`, each made valid by `as_text`; other items are dropped."""
    texts = []
    for value in values:
        text = as_text(value)
        if text is not None:
            texts.append(text)
    return texts


def dump_json(value: object) -> str:
    """Serialise content for a span attribute: readable JSON (non-ASCII kept), valid for OTLP."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return as_text(text) or text
