"""Validate JSON against a schema of OpenAI's OpenAPI document (`shared/openapi/openai-openapi.yaml`).

The document is OpenAPI 3.1, but some of its schemas still say `nullable: true`, an OpenAPI 3.0
keyword that JSON Schema 2020-12 ignores: left as is, `{"type": "string", "nullable": true}` would
reject null. The loader rewrites every `nullable: true` schema into `anyOf: [<schema>, {"type":
"null"}]`, which is what the spec means, and nothing else is loosened. The whole document is one
`referencing` resource, so every `$ref` resolves inside it.

`CHATSPAN_OPENAPI_SPEC` overrides the document's path.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_ENV = "CHATSPAN_OPENAPI_SPEC"
SPEC_URI = "urn:chatspan:openai-openapi"


def spec_path() -> Path:
    """Where the OpenAPI document is: `$CHATSPAN_OPENAPI_SPEC`, else `shared/openapi/` next to the repo."""
    override = os.environ.get(SPEC_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "shared/openapi/openai-openapi.yaml"


def _without_nullable(node: Any) -> Any:
    """A copy of `node` with every `nullable: true` schema turned into an `anyOf` with null."""
    if isinstance(node, list):
        return [_without_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _without_nullable(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI document, loaded once, with `nullable` rewritten (see the module docstring)."""
    with spec_path().open("rb") as stream:
        loaded = yaml.load(stream, Loader=yaml.CSafeLoader)
    if not isinstance(loaded, dict):
        raise ValueError(f"{spec_path()} is not an OpenAPI document")
    converted: dict[str, Any] = _without_nullable(loaded)
    return converted


@functools.cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(document(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


def schema(schema_name: str) -> dict[str, Any]:
    """The raw `#/components/schemas/<schema_name>` (after the `nullable` rewrite); KeyError if absent."""
    found: dict[str, Any] = document()["components"]["schemas"][schema_name]
    return found


@functools.cache
def validator(schema_name: str) -> jsonschema.Draft202012Validator:
    """A Draft 2020-12 validator for `#/components/schemas/<schema_name>`, formats checked."""
    schema(schema_name)  # a KeyError here names the missing schema; a dangling $ref would not
    return jsonschema.Draft202012Validator(
        {"$ref": f"{SPEC_URI}#/components/schemas/{schema_name}"},
        registry=_registry(),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def validate(schema_name: str, instance: object) -> None:
    """Raise `jsonschema.ValidationError` (the most relevant error) unless `instance` fits the schema."""
    error = jsonschema.exceptions.best_match(validator(schema_name).iter_errors(instance))
    if error is not None:
        raise error


def undeclared_properties(schema_name: str, instance: object) -> list[str]:
    """Paths of object keys in `instance` that the schema does not declare (typos like `prompt_token`).

    The spec leaves `additionalProperties` open, so `validate` cannot catch a misspelt optional
    field; this walks the instance alongside the schema instead. For `anyOf`/`oneOf` it follows the
    first branch the value is valid against.
    """
    found: list[str] = []
    _walk(schema(schema_name), instance, "$", found)
    return found


def _resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document()
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _walk(node: Any, value: object, path: str, found: list[str]) -> None:
    node = _resolve(node)
    if not isinstance(node, dict):
        return
    for combinator in ("anyOf", "oneOf"):
        branch = next((branch for branch in node.get(combinator, []) if _matches(branch, value)), None)
        if branch is not None:
            _walk(branch, value, path, found)
    parts = [node, *(_resolve(part) for part in node.get("allOf", []))]
    properties: dict[str, Any] = {}
    for part in parts:
        properties.update(part.get("properties", {}))
    if isinstance(value, dict) and properties:
        # An explicit additionalProperties schema means the object is a map: any key is declared.
        open_map = any(part.get("additionalProperties") not in (None, False) for part in parts)
        for key, item in value.items():
            if key in properties:
                _walk(properties[key], item, f"{path}.{key}", found)
            elif not open_map:
                found.append(f"{path}.{key}")
    if isinstance(value, list):
        for part in parts:
            if "items" in part:
                for index, item in enumerate(value):
                    _walk(part["items"], item, f"{path}[{index}]", found)


def _matches(branch: Any, value: object) -> bool:
    probe = jsonschema.Draft202012Validator(_absolute(branch), registry=_registry())
    return bool(probe.is_valid(value))


def _absolute(node: Any) -> Any:
    """`node` with its `#/...` refs made absolute, so it validates outside the document."""
    if isinstance(node, list):
        return [_absolute(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: (f"{SPEC_URI}{value}" if key == "$ref" and str(value).startswith("#") else _absolute(value))
        for key, value in node.items()
    }


def validate_with_nulls(schema_name: str, instance: dict[str, Any], nulls: tuple[str, ...]) -> None:
    """`validate`, allowing null in the named top-level, optional properties only.

    OpenAI sends null for a `Batch`'s unset times and file ids and a file's `expires_at` (the spec's
    own examples show them null) though the schemas type them as non-null optional fields: those
    keys, and only those, are checked absent instead. A name the schema lacks, or requires, is a
    mistake in the test and raises KeyError.
    """
    validate(schema_name, without_nulls(schema_name, instance, nulls))


def without_nulls(schema_name: str, instance: dict[str, Any], nulls: tuple[str, ...]) -> dict[str, Any]:
    """`instance` without the named keys whose value is null (see `validate_with_nulls`)."""
    declared = schema(schema_name)
    for name in nulls:
        if name not in declared.get("properties", {}) or name in declared.get("required", []):
            raise KeyError(f"{schema_name}.{name} is not an optional property of the schema")
    return {key: value for key, value in instance.items() if not (key in nulls and value is None)}
