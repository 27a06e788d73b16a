"""The kinds of call chatspan records, each a table of how its request and result map.

Chat completions, Responses `create`/`parse`/`stream`, and `responses.retrieve` share one span
lifecycle (`ChatCall`) and one header mapping; only these functions differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.util.types import AttributeValue

from chatspan import semconv
from chatspan.instrumentation.call import CallKind
from chatspan.instrumentation.response_stream import ResponseEventAccumulator
from chatspan.instrumentation.streams import ChunkAccumulator
from chatspan.mapping.batches import batch_object_attributes, batch_request_attributes
from chatspan.mapping.completion import completion_attributes
from chatspan.mapping.messages import input_message_attributes, output_message_attributes
from chatspan.mapping.request import opt_in_request_attributes, request_attributes, span_name
from chatspan.mapping.response_messages import response_input_attributes, response_output_attributes
from chatspan.mapping.responses import (
    response_object_attributes,
    responses_request_attributes,
    retrieve_request_attributes,
)


def _chat_name(request: Mapping[str, Any]) -> str:
    return span_name(request.get("model"))


def _chat_content(request: Mapping[str, Any]) -> dict[str, AttributeValue]:
    attrs = input_message_attributes(request.get("messages"))
    attrs.update(opt_in_request_attributes(request.get("tools"), request.get("user")))
    return attrs


def _completion(result: Any, capture: bool) -> dict[str, AttributeValue]:
    attrs = completion_attributes(result)
    if capture:
        attrs.update(output_message_attributes(getattr(result, "choices", None) or ()))
    return attrs


def _responses_content(request: Mapping[str, Any]) -> dict[str, AttributeValue]:
    attrs = response_input_attributes(request)
    attrs.update(opt_in_request_attributes(request.get("tools"), request.get("user")))
    return attrs


def _response(result: Any, capture: bool) -> dict[str, AttributeValue]:
    attrs = response_object_attributes(result)
    if capture:
        attrs.update(response_output_attributes(result))
    return attrs


def _retrieved(result: Any, capture: bool) -> dict[str, AttributeValue]:
    # The call that created the response counted its tokens; a retrieve must not count them again.
    attrs = response_object_attributes(result, with_usage=False)
    if capture:
        attrs.update(response_output_attributes(result))
    return attrs


def _no_content(request: Mapping[str, Any]) -> dict[str, AttributeValue]:
    return {}


CHAT = CallKind(
    name="chat_completions",
    request_attributes=request_attributes,
    span_name=_chat_name,
    input_content=_chat_content,
    result_attributes=_completion,
    accumulator=ChunkAccumulator,
    usage_option=True,
)
RESPONSES = CallKind(
    name="responses",
    request_attributes=responses_request_attributes,
    span_name=_chat_name,
    input_content=_responses_content,
    result_attributes=_response,
    accumulator=ResponseEventAccumulator,
    stores_by_default=True,
)
RETRIEVE_RESPONSE = CallKind(
    name="responses.retrieve",
    request_attributes=retrieve_request_attributes,
    span_name=lambda request: semconv.OPERATION_FETCH_RESPONSE,
    input_content=_no_content,
    result_attributes=_retrieved,
    accumulator=lambda capture: ResponseEventAccumulator(capture, with_usage=False),
    inference=False,
)


def _batch(result: Any, capture: bool) -> dict[str, AttributeValue]:
    return batch_object_attributes(result)


BATCH_CREATE = CallKind(
    name="batches.create",
    request_attributes=batch_request_attributes,
    span_name=lambda request: semconv.OPERATION_BATCH_CREATE,
    input_content=_no_content,
    result_attributes=_batch,
    accumulator=ChunkAccumulator,
    # A batch is always kept: with CHATSPAN_LINK_STORED its metadata carries the traceparent.
    stores_by_default=True,
    inference=False,
    metrics=False,
)
"""Wrapped only with CHATSPAN_LINK_STORED=true: the span a backfilled batch trace links back to."""
