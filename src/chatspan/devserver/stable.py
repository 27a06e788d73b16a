"""Deterministic ids: batch output lines read the same bytes every time they are produced."""

from __future__ import annotations

import hashlib
import string
from collections.abc import Iterator
from typing import Any

_ALNUM = string.ascii_letters + string.digits
_HEX = frozenset("0123456789abcdef")
_ID_KEYS = ("id", "call_id")


def stable_hex(seed: str, length: int) -> str:
    """`length` hex digits derived from `seed`: the same every time."""
    digits = ""
    counter = 0
    while len(digits) < length:
        digits += hashlib.sha256(f"{seed}/{counter}".encode()).hexdigest()
        counter += 1
    return digits[:length]


def _stable_id(value: str, seed: str) -> str:
    """`value` with the part after its prefix (`chatcmpl-`, `resp_`, ...) derived from `seed`."""
    cut = max(value.rfind("-"), value.rfind("_")) + 1
    tail = value[cut:]
    if set(tail) <= _HEX:
        return value[:cut] + stable_hex(f"{seed}:{value[:cut]}", len(tail))
    digits = stable_hex(f"{seed}:{value[:cut]}", 2 * len(tail))
    return value[:cut] + "".join(
        _ALNUM[int(digits[i : i + 2], 16) % len(_ALNUM)] for i in range(0, 2 * len(tail), 2)
    )


def stable_ids(node: Any, seed: str) -> Any:
    """`node` with every `id` and `call_id` made deterministic (by `seed` and the id's prefix and place)."""
    counter = iter(range(1_000_000))
    return _restamp(node, seed, counter)


def _restamp(node: Any, seed: str, counter: Iterator[int]) -> Any:
    if isinstance(node, list):
        return [_restamp(item, seed, counter) for item in node]
    if not isinstance(node, dict):
        return node
    stamped: dict[str, Any] = {}
    for key, value in node.items():
        if key in _ID_KEYS and isinstance(value, str):
            stamped[key] = _stable_id(value, f"{seed}#{next(counter)}")
        else:
            stamped[key] = _restamp(value, seed, counter)
    return stamped
