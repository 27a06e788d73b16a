"""A batch's input file, checked as OpenAI's validating step checks it, and each line's body.

`plan_batch` reads an input file. Errors that fail the whole batch go to `errors.data` with their
line number (from 1): `empty_file`, `too_many_tasks` (more than 50,000 lines), `invalid_json_line`,
`missing_required_parameter` (`custom_id`, `method`, `url`, `body`), `invalid_type`, `invalid_value`
(a method other than POST), `url_mismatch` (a URL other than the batch's endpoint),
`duplicate_custom_id` and `model_mismatch` (one model per batch). At most `MAX_REPORTED_ERRORS` are
reported. A line that passes may still fail when it runs (`check_body`): a body the endpoint
refuses (a 400 in OpenAI's words), or a model the devserver does not know (a 404
`model_not_found`: chat and Responses models are `gpt-*`, `o<digit>*`, `chatgpt-*`, `codex-*` or
`ft:*`; embedding models `text-embedding-*`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chatspan.devserver.completions import is_reasoning_model
from chatspan.devserver.embeddings import embedding_inputs
from chatspan.devserver.errors import ApiError, invalid_request
from chatspan.devserver.files import FileContent
from chatspan.devserver.responses_request import read_responses_request
from chatspan.devserver.validation import read_chat_request

CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"
EMBEDDINGS = "/v1/embeddings"
ENDPOINTS = (CHAT, RESPONSES, EMBEDDINGS)
"""The batch endpoints the devserver runs."""
MAX_TASKS = 50_000
MAX_REPORTED_ERRORS = 100

_CHAT_MODEL = re.compile(r"^(gpt-|o\d|chatgpt-|codex-|ft:)")
_EMBEDDING_MODEL = re.compile(r"^text-embedding-")


def batch_error(code: str, message: str, line: int | None, param: str | None = None) -> dict[str, Any]:
    """One `BatchError` of `errors.data`."""
    return {"code": code, "message": message, "param": param, "line": line}


@dataclass(frozen=True)
class BatchPlan:
    """What validation found: the line count, whether each line will succeed, the model, the errors."""

    total: int
    succeeds: bytes
    """One byte per line: 1 when the line will answer 200, 0 when it will go to the error file."""
    model: str | None
    errors: tuple[dict[str, Any], ...] = ()

    def successes(self, ran: int) -> int:
        """How many of the first `ran` lines succeed."""
        return self.succeeds.count(1, 0, ran)


def known_model(endpoint: str, model: str) -> bool:
    """Whether the devserver serves `model` on a batch's `endpoint`."""
    pattern = _EMBEDDING_MODEL if endpoint == EMBEDDINGS else _CHAT_MODEL
    return bool(pattern.match(model))


def model_not_found(model: str) -> ApiError:
    """OpenAI's 404 for a model that does not exist."""
    return ApiError(
        404, f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found"
    )


def check_body(endpoint: str, body: dict[str, Any]) -> None:
    """Raise the `ApiError` the line's request would answer with, without running it."""
    if endpoint == EMBEDDINGS:
        embedding_inputs(body)
    elif endpoint == RESPONSES:
        request = read_responses_request(body)
        if request.stream:
            raise invalid_request("Streaming is not supported in the Batch API.", param="stream")
        if request.previous_response_id is not None:
            raise invalid_request(
                "previous_response_id is not supported in the devserver's batches.",
                param="previous_response_id",
            )
        if not is_reasoning_model(request.model) and (
            request.reasoning_effort is not None or request.reasoning_summary is not None
        ):
            raise invalid_request(
                "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
                param="reasoning.effort",
                code="unsupported_parameter",
            )
    else:
        if read_chat_request(body).stream:
            raise invalid_request("Streaming is not supported in the Batch API.", param="stream")
    model = body.get("model")
    if isinstance(model, str) and not known_model(endpoint, model):
        raise model_not_found(model)


def _line_fields(
    number: int, line: bytes, endpoint: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the parsed line, None) or (None, the BatchError that fails the batch)."""
    try:
        parsed = json.loads(line)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        return None, batch_error("invalid_json_line", "This line is not parseable as valid JSON.", number)
    for name in ("custom_id", "method", "url", "body"):
        if name not in parsed:
            return None, batch_error(
                "missing_required_parameter", f"Missing required parameter: '{name}'.", number, name
            )
    if not isinstance(parsed["custom_id"], str):
        return None, batch_error(
            "invalid_type", "Invalid type for 'custom_id': expected a string.", number, "custom_id"
        )
    if parsed["method"] != "POST":
        message = f"Invalid value: {json.dumps(parsed['method'])}. Supported values are: 'POST'."
        return None, batch_error("invalid_value", message, number, "method")
    if parsed["url"] != endpoint:
        message = (
            f"The URL provided for this request ({parsed['url']}) does not match the batch endpoint "
            f"({endpoint})."
        )
        return None, batch_error("url_mismatch", message, number, "url")
    if not isinstance(parsed["body"], dict):
        return None, batch_error(
            "invalid_type", "Invalid type for 'body': expected an object.", number, "body"
        )
    return parsed, None


def plan_batch(content: FileContent, endpoint: str) -> BatchPlan:
    """Validate an input file for a batch on `endpoint` (see the module docstring)."""
    errors: list[dict[str, Any]] = []
    succeeds = bytearray()
    seen: set[str] = set()
    model: str | None = None
    total = 0
    for number, line in enumerate(request_lines(content), start=1):
        total = number
        if number > MAX_TASKS:
            errors.append(
                batch_error(
                    "too_many_tasks", f"The batch input file has more than {MAX_TASKS} requests.", None
                )
            )
            break
        parsed, error = _line_fields(number, line, endpoint)
        if parsed is not None:
            error = _cross_line_error(number, parsed, seen, model)
            line_model = parsed["body"].get("model")
            if model is None and isinstance(line_model, str):
                model = line_model
        if error is not None:
            if len(errors) < MAX_REPORTED_ERRORS:
                errors.append(error)
            succeeds.append(0)
            continue
        assert parsed is not None
        try:
            check_body(endpoint, parsed["body"])
            succeeds.append(1)
        except ApiError:
            succeeds.append(0)
    if total == 0:
        errors.append(batch_error("empty_file", "The batch input file is empty.", None))
    return BatchPlan(total, bytes(succeeds), model, tuple(errors))


def _cross_line_error(
    number: int, parsed: dict[str, Any], seen: set[str], model: str | None
) -> dict[str, Any] | None:
    custom_id = parsed["custom_id"]
    if custom_id in seen:
        return batch_error(
            "duplicate_custom_id",
            "The custom_id for this request is a duplicate of another request. The custom_id parameter "
            "must be unique for each request in a batch.",
            number,
            "custom_id",
        )
    seen.add(custom_id)
    line_model = parsed["body"].get("model")
    if model is not None and isinstance(line_model, str) and line_model != model:
        return batch_error(
            "model_mismatch",
            f"The provided model '{line_model}' is different from the model of the other requests "
            f"in the file ('{model}'). A batch runs one model.",
            number,
            "body.model",
        )
    return None


def request_lines(content: FileContent) -> Iterator[bytes]:
    """The file's lines that are requests: blank lines (a trailing newline, say) are not."""
    return (line for line in content.lines() if line.strip())
