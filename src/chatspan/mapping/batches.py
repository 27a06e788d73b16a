"""A Batch (its `create()` arguments, or the object the API returns) -> span attributes.

The live `batch create` span and the root span of a backfilled batch trace read the same fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.util.types import AttributeValue

from chatspan import semconv
from chatspan.mapping._values import as_count, as_text, field
from chatspan.mapping.request import PROVIDER_OPENAI, metadata_attributes

_TEXT_FIELDS = (
    ("id", semconv.OPENAI_BATCH_ID),
    ("endpoint", semconv.OPENAI_BATCH_ENDPOINT),
    ("status", semconv.OPENAI_BATCH_STATUS),
    ("completion_window", semconv.OPENAI_BATCH_COMPLETION_WINDOW),
    ("input_file_id", semconv.OPENAI_BATCH_INPUT_FILE_ID),
    ("output_file_id", semconv.OPENAI_BATCH_OUTPUT_FILE_ID),
    ("error_file_id", semconv.OPENAI_BATCH_ERROR_FILE_ID),
)
_COUNTS = (
    ("total", semconv.OPENAI_BATCH_REQUEST_COUNTS_TOTAL),
    ("completed", semconv.OPENAI_BATCH_REQUEST_COUNTS_COMPLETED),
    ("failed", semconv.OPENAI_BATCH_REQUEST_COUNTS_FAILED),
)


def batch_request_attributes(kwargs: Mapping[str, Any]) -> dict[str, AttributeValue]:
    """Map the arguments of `batches.create()` (or its request body)."""
    attrs: dict[str, AttributeValue] = {gen_ai.GEN_AI_PROVIDER_NAME: PROVIDER_OPENAI}
    attrs.update(batch_object_attributes(kwargs))
    return attrs


def batch_object_attributes(batch: Any) -> dict[str, AttributeValue]:
    """Map a `Batch` (SDK object or JSON dict): ids, endpoint, status, counts, metadata pairs."""
    attrs: dict[str, AttributeValue] = {}
    for name, attribute in _TEXT_FIELDS:
        text = as_text(field(batch, name))
        if text:
            attrs[attribute] = text
    counts = field(batch, "request_counts")
    for name, attribute in _COUNTS:
        count = as_count(field(counts, name))
        if count is not None:
            attrs[attribute] = count
    attrs.update(metadata_attributes(field(batch, "metadata"), semconv.OPENAI_BATCH_METADATA_PREFIX))
    return attrs
