"""Plausible JSON values for a JSON Schema: tool call arguments and structured-output content.

The devserver has no model, so it fills a schema's required properties with values that pass the
schema (enums, consts, bounds, lengths, `$ref`s into `$defs`) and read like something a model would
write (a `city` property gets a city). Pydantic's schemas, as `client.chat.completions.parse()` sends
them, make every property required, so parsing the answer back into the model works.
"""

from __future__ import annotations

import re
from typing import Any

_MAX_DEPTH = 8

# Property-name hints, matched against the words of the property name (`user_email`, `homeCity`).
_NAME_WORD = re.compile(r"[a-z0-9]+")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_STRING_HINTS: tuple[tuple[str, str], ...] = (
    ("email", "ada@example.com"),
    ("url", "https://example.com"),
    ("uri", "https://example.com"),
    ("city", "Paris"),
    ("location", "Paris, France"),
    ("country", "France"),
    ("address", "1 Rue de Rivoli, Paris"),
    ("date", "2024-07-18"),
    ("time", "12:00:00"),
    ("unit", "celsius"),
    ("language", "en"),
    ("currency", "EUR"),
    ("name", "Ada Lovelace"),
    ("title", "Notes on the Analytical Engine"),
    ("id", "item_1"),
)
_FORMATS = {
    "date-time": "2024-07-18T12:00:00Z",
    "date": "2024-07-18",
    "time": "12:00:00",
    "email": "ada@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
    "ipv4": "127.0.0.1",
}


def sample_value(schema: Any, *, text: str, root: Any = None, name: str = "") -> Any:
    """A value valid for `schema`; `text` (the user's words) fills free-text strings.

    `root` is the document `$ref`s point into (the schema itself when omitted). Only required
    properties of objects are filled, as a model answering a strict schema would.
    """
    return _Sampler(root if root is not None else schema, text).value(schema, name, 0)


class _Sampler:
    def __init__(self, root: Any, text: str) -> None:
        self._root = root
        self._text = text

    def _resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            return {}
        node: Any = self._root
        for part in ref[1:].split("/"):
            if not part:
                continue
            key = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and key in node:
                node = node[key]
            else:
                return {}
        return node

    def value(self, schema: Any, name: str, depth: int) -> Any:
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return None if depth > _MAX_DEPTH else self._string({}, name)
        if "$ref" in schema:
            return self.value(self._resolve(schema["$ref"]), name, depth + 1)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for combinator in ("anyOf", "oneOf"):
            options = schema.get(combinator)
            if isinstance(options, list) and options:
                # A model fills in a real value rather than null when it may choose.
                chosen = next((option for option in options if not _is_null(option)), options[0])
                return self.value(chosen, name, depth + 1)
        if isinstance(schema.get("allOf"), list) and schema["allOf"]:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                resolved = self._resolve(part["$ref"]) if isinstance(part, dict) and "$ref" in part else part
                if isinstance(resolved, dict):
                    merged = _merge(merged, resolved)
            return self.value(merged, name, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((item for item in kind if item != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        return self._typed(kind, schema, name, depth)

    def _typed(self, kind: str, schema: dict[str, Any], name: str, depth: int) -> Any:
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            count = max(1, int(schema.get("minItems", 1)))
            if "maxItems" in schema:
                count = min(count, int(schema["maxItems"]))
            return [self.value(schema.get("items", {}), name, depth + 1) for _ in range(count)]
        if kind == "integer":
            return int(_number(schema, 1))
        if kind == "number":
            return float(_number(schema, 1.5))
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self._string(schema, name)

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        if not isinstance(properties, dict) or not isinstance(required, list):
            return {}
        return {
            key: self.value(properties.get(key, {}), key, depth + 1)
            for key in required
            if isinstance(key, str)
        }

    def _string(self, schema: dict[str, Any], name: str) -> str:
        value = _FORMATS.get(str(schema.get("format", "")))
        if value is None:
            words = set(_NAME_WORD.findall(_CAMEL_BOUNDARY.sub("_", name).lower()))
            value = next((sample for hint, sample in _STRING_HINTS if hint in words), None)
        if value is None:
            value = self._text or "example"
        minimum = int(schema.get("minLength", 0))
        maximum = schema.get("maxLength")
        if len(value) < minimum:
            value = value.ljust(minimum, ".")
        if isinstance(maximum, int) and len(value) > maximum:
            value = value[:maximum]
        return value


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


def _merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    merged = {**left, **right}
    merged["properties"] = {**left.get("properties", {}), **right.get("properties", {})}
    merged["required"] = list(dict.fromkeys([*left.get("required", []), *right.get("required", [])]))
    return merged


def _number(schema: dict[str, Any], default: float) -> float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value = default
    if isinstance(low, (int, float)) and value <= low:
        value = low + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
    if isinstance(high, (int, float)) and value >= high:
        value = high - (1 if "exclusiveMaximum" in schema and "maximum" not in schema else 0)
    multiple = schema.get("multipleOf")
    if isinstance(multiple, (int, float)) and multiple > 0:
        value = round(value / multiple) * multiple
    return value


_WORD = re.compile(r"\S+")


def leading_words(text: str, count: int) -> str:
    """The first `count` words of `text`, joined by single spaces."""
    return " ".join(_WORD.findall(text)[:count])
