"""The Batch API endpoints: create, retrieve, list, cancel.

    POST /v1/batches               input_file_id, endpoint, completion_window ("24h"), metadata,
                                   output_expires_after {"anchor": "created_at", "seconds"}
    GET  /v1/batches               after, limit (1..100, default 20); newest first
    GET  /v1/batches/{id}          the `Batch`
    POST /v1/batches/{id}/cancel   a validating or in-progress batch becomes `cancelling`

What a batch does over time is `chatspan.devserver.batches`.
"""

from __future__ import annotations

from typing import Any

from chatspan.devserver.batch_input import ENDPOINTS, plan_batch
from chatspan.devserver.batches import EXPIRE_AFTER_KEY, BatchRecord, BatchStore, batch_view
from chatspan.devserver.errors import ApiError, invalid_request
from chatspan.devserver.files import FileStore, file_not_found
from chatspan.devserver.stable import stable_hex
from chatspan.devserver.stored import Query, limit_parameter
from chatspan.devserver.validation import invalid_type, missing_parameter, parse_body, read_metadata

MIN_OUTPUT_TTL = 3_600
MAX_OUTPUT_TTL = 2_592_000


def batch_not_found(batch_id: str) -> ApiError:
    """The 404 for an unknown batch id."""
    return ApiError(404, f"No batch found with id '{batch_id}'.", param="batch_id")


def _string(body: dict[str, Any], name: str) -> str:
    if name not in body:
        raise missing_parameter(name)
    value = body[name]
    if not isinstance(value, str):
        raise invalid_type(name, "a string", value)
    return value


def _output_ttl(body: dict[str, Any]) -> int | None:
    policy = body.get("output_expires_after")
    if policy is None:
        return None
    if not isinstance(policy, dict):
        raise invalid_type("output_expires_after", "an object", policy)
    if policy.get("anchor") != "created_at":
        raise invalid_request(
            "Invalid value for 'output_expires_after.anchor': supported values are: 'created_at'.",
            param="output_expires_after.anchor",
            code="invalid_value",
        )
    seconds = policy.get("seconds")
    # A bool is an int here, but True and False are out of range anyway.
    if not isinstance(seconds, int) or not MIN_OUTPUT_TTL <= seconds <= MAX_OUTPUT_TTL:
        raise invalid_request(
            f"Invalid 'output_expires_after.seconds': expected an integer between {MIN_OUTPUT_TTL} and "
            f"{MAX_OUTPUT_TTL}.",
            param="output_expires_after.seconds",
        )
    return seconds


def _expire_after(metadata: dict[str, str] | None) -> int | None:
    if metadata is None or EXPIRE_AFTER_KEY not in metadata:
        return None
    text = metadata[EXPIRE_AFTER_KEY]
    if not text.isdigit():
        raise invalid_request(
            f"metadata['{EXPIRE_AFTER_KEY}'] must be a whole number of lines, got {text!r}.",
            param=f"metadata.{EXPIRE_AFTER_KEY}",
        )
    return int(text)


def create_batch(
    batches: BatchStore, files: FileStore, raw: bytes, now: float, seconds: float
) -> dict[str, Any]:
    """`POST /v1/batches`: validate the input file now, answer the batch `validating`."""
    body = parse_body(raw)
    input_file_id = _string(body, "input_file_id")
    endpoint = _string(body, "endpoint")
    window = _string(body, "completion_window")
    if endpoint not in ENDPOINTS:
        supported = ", ".join(f"'{name}'" for name in ENDPOINTS[:-1]) + f", and '{ENDPOINTS[-1]}'"
        raise invalid_request(
            f"Invalid value: '{endpoint}'. Supported values are: {supported}.",
            param="endpoint",
            code="invalid_value",
        )
    if window != "24h":
        raise invalid_request(
            f"Invalid value: '{window}'. Supported values are: '24h'.",
            param="completion_window",
            code="invalid_value",
        )
    metadata = read_metadata(body["metadata"]) if body.get("metadata") is not None else None
    expire_after = _expire_after(metadata)
    output_ttl = _output_ttl(body)
    stored = files.get(input_file_id, now)
    if stored is None:
        raise file_not_found(input_file_id)
    if stored.purpose != "batch":
        raise invalid_request(
            f"The file {input_file_id} was uploaded with purpose '{stored.purpose}'; a batch needs 'batch'.",
            param="input_file_id",
        )
    record = BatchRecord(
        id="batch_" + stable_hex(f"{input_file_id}:{now}:{len(batches.all())}", 32),
        endpoint=endpoint,
        input_file_id=input_file_id,
        content=stored.content,
        created_at=now,
        plan=plan_batch(stored.content, endpoint),
        seconds=seconds,
        metadata=metadata,
        expire_after=expire_after,
        output_ttl=output_ttl,
    )
    batches.put(record)
    return batch_view(record, now)


def retrieve_batch(batches: BatchStore, batch_id: str, now: float) -> dict[str, Any]:
    """`GET /v1/batches/{id}`."""
    record = batches.get(batch_id)
    if record is None:
        raise batch_not_found(batch_id)
    return batch_view(record, now)


def cancel_batch(batches: BatchStore, batch_id: str, now: float) -> dict[str, Any]:
    """`POST /v1/batches/{id}/cancel`."""
    record = batches.cancel(batch_id, now)
    if record is None:
        raise batch_not_found(batch_id)
    return batch_view(record, now)


def list_batches(batches: BatchStore, query: Query, now: float) -> dict[str, Any]:
    """`GET /v1/batches`: newest first; `after` is a batch id (404 if unknown), `limit` 1..100."""
    values = dict(query)
    limit = limit_parameter(values.get("limit"))
    records = sorted(enumerate(batches.all()), key=lambda pair: (pair[1].created_at, pair[0]), reverse=True)
    listed = [record for _, record in records]
    after = values.get("after")
    if after:
        ids = [record.id for record in listed]
        if after not in ids:
            raise batch_not_found(after)
        listed = listed[ids.index(after) + 1 :]
    page = [batch_view(record, now) for record in listed[:limit]]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(listed) > limit,
    }
