"""Field access shared by the mapping modules: objects (SDK models) and plain dicts alike."""

from __future__ import annotations

from typing import Any

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


def given(value: Any) -> bool:
    """Say whether a create() argument was really passed (not None, not an SDK sentinel)."""
    return value is not None and type(value).__name__ not in SENTINEL_TYPES


_INT64 = range(-(2**63), 2**63)


def as_int(value: Any) -> int | None:
    """Return value as an int when it is one that OTLP can carry (int64; bools excluded), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value in _INT64:
        return value
    return None


def as_float(value: Any) -> float | None:
    """Return value as a float when it is a real number (bools excluded), else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None
