"""A batch's input lines: checked when the batch is created, run through the devserver's engines.

`plan_batch` reads an input file as OpenAI's validating step does. Errors that fail the whole
batch go to `errors.data` with their line number (from 1): `empty_file`, `too_many_tasks` (more
than 50,000 lines), `invalid_json_line`, `missing_required_parameter` (`custom_id`, `method`,
`url`, `body`), `invalid_value` (a method other than POST), `url_mismatch` (a URL other than the
batch's endpoint), `duplicate_custom_id` and `model_mismatch` (one model per batch). At most
`MAX_REPORTED_ERRORS` are reported. A line that passes these checks may still fail when it runs:
a body the endpoint refuses (a 400 in OpenAI's words) or a model the devserver does not know (a
404 `model_not_found`: chat and Responses models are `gpt-*`, `o<digit>*`, `chatgpt-*`,
`codex-*` or `ft:*`; embedding models `text-embedding-*`).

`BatchRun.lines` runs the lines that ran (all of them, or those done before a cancel or the
expiry) through the chat completion engine (`chatspan.devserver.completions`), the Responses
engine (`chatspan.devserver.responses`) or a small embeddings answer, and yields each output
line in OpenAI's format, `{"id": "batch_req_...", "custom_id", "response": {"status_code",
"request_id", "body"}, "error": null}`; a request that failed answers its error body with its
status, and a request the expiry stopped `"response": null, "error": {"code": "batch_expired",
...}`. Ids and times are derived from the batch id and the line number, so every read of an
output file gives the same bytes: nothing is kept, each read runs the lines again.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chatspan.devserver.completions import build_completion, count_tokens, is_reasoning_model, prompt_tokens
from chatspan.devserver.errors import ApiError, invalid_request
from chatspan.devserver.files import FileContent
from chatspan.devserver.promptcache import PromptCache
from chatspan.devserver.responses import build_response
from chatspan.devserver.responses_request import read_responses_request
from chatspan.devserver.validation import invalid_type, missing_parameter, read_chat_request

CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"
EMBEDDINGS = "/v1/embeddings"
ENDPOINTS = (CHAT, RESPONSES, EMBEDDINGS)
"""The batch endpoints the devserver runs."""
MAX_TASKS = 50_000
MAX_REPORTED_ERRORS = 100
EMBEDDING_DIMENSIONS = 16
"""Length of an embedding unless the request's `dimensions` asks for another."""
EXPIRED_MESSAGE = "This request could not be executed before the completion window expired."

_CHAT_MODEL = re.compile(r"^(gpt-|o\d|chatgpt-|codex-|ft:)")
_EMBEDDING_MODEL = re.compile(r"^text-embedding-")
_ALNUM = string.ascii_letters + string.digits
_HEX = frozenset("0123456789abcdef")
_ID_KEYS = ("id", "call_id")


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
        _embedding_inputs(body)
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
    for number, line in enumerate(_request_lines(content), start=1):
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


def _request_lines(content: FileContent) -> Iterator[bytes]:
    # Blank lines (a trailing newline, say) are no requests.
    return (line for line in content.lines() if line.strip())


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


def _embedding_inputs(body: dict[str, Any]) -> list[str]:
    if "model" not in body:
        raise invalid_request("you must provide a model parameter")
    if not isinstance(body["model"], str):
        raise invalid_type("model", "a string", body["model"])
    if "input" not in body:
        raise missing_parameter("input")
    value = body["input"]
    inputs = [value] if isinstance(value, str) else value
    if (
        not isinstance(inputs, list)
        or not inputs
        or not all(isinstance(text, str) and text for text in inputs)
    ):
        raise invalid_request(
            "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
            param="input",
        )
    dimensions = body.get("dimensions")
    if dimensions is not None and (
        isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1
    ):
        raise invalid_type("dimensions", "a positive integer", dimensions)
    return inputs


def embedding_response(body: dict[str, Any]) -> dict[str, Any]:
    """A `CreateEmbeddingResponse`: a unit vector per input, derived from its text."""
    inputs = _embedding_inputs(body)
    dimensions = body.get("dimensions") or EMBEDDING_DIMENSIONS
    data = []
    for index, text in enumerate(inputs):
        digits = stable_hex(text, dimensions * 4)
        raw = [int(digits[i : i + 4], 16) / 65_535 - 0.5 for i in range(0, dimensions * 4, 4)]
        norm = sum(value * value for value in raw) ** 0.5 or 1.0
        data.append(
            {"object": "embedding", "index": index, "embedding": [round(value / norm, 6) for value in raw]}
        )
    tokens = sum(count_tokens(text) for text in inputs)
    return {
        "object": "list",
        "data": data,
        "model": body["model"],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def run_body(endpoint: str, body: dict[str, Any], *, now: float, cache: PromptCache) -> dict[str, Any]:
    """The response body of one line's request, answered at clock time `now`; raises `ApiError`."""
    check_body(endpoint, body)
    if endpoint == EMBEDDINGS:
        return embedding_response(body)
    if endpoint == RESPONSES:
        return build_response(read_responses_request(body), [], now=now, prompt_cache=cache).response
    request = read_chat_request(body)
    cached = cache.cached_tokens(request.messages, prompt_tokens(request.messages))
    return build_completion(request, cached_tokens=cached, now=now).response()


def line_usage(endpoint: str, body: dict[str, Any]) -> tuple[int, int, int, int]:
    """(input, cached input, output, reasoning) tokens of a successful response body."""
    usage = body.get("usage") or {}
    if endpoint == CHAT:
        details = usage.get("prompt_tokens_details") or {}
        output = usage.get("completion_tokens_details") or {}
        return (
            usage.get("prompt_tokens", 0),
            details.get("cached_tokens", 0),
            usage.get("completion_tokens", 0),
            output.get("reasoning_tokens", 0),
        )
    if endpoint == RESPONSES:
        details = usage.get("input_tokens_details") or {}
        output = usage.get("output_tokens_details") or {}
        return (
            usage.get("input_tokens", 0),
            details.get("cached_tokens", 0),
            usage.get("output_tokens", 0),
            output.get("reasoning_tokens", 0),
        )
    return usage.get("prompt_tokens", 0), 0, 0, 0


@dataclass(frozen=True)
class OutputLine:
    """One line of a batch's output or error file, and the tokens it used."""

    failed: bool
    data: bytes
    tokens: tuple[int, int, int, int] = (0, 0, 0, 0)


@dataclass(frozen=True)
class BatchRun:
    """A batch that has run: its first `ran` lines were carried out between `started` and
    `started + seconds`; when `expired`, the others were stopped by the completion window."""

    batch_id: str
    endpoint: str
    content: FileContent
    started: float
    seconds: float
    total: int
    ran: int
    expired: bool

    def answered_at(self, index: int) -> int:
        """Clock second the line at `index` (from 0) was answered: spread over the run."""
        return int(self.started + self.seconds * (index + 1) / max(self.total, 1))

    def lines(self) -> Iterator[OutputLine]:
        """Every output and error line, in input order (see the module docstring)."""
        cache = PromptCache()
        for index, line in enumerate(_request_lines(content=self.content)):
            if index >= self.ran and not self.expired:
                return
            yield self._answer(index, line, cache)

    def _answer(self, index: int, line: bytes, cache: PromptCache) -> OutputLine:
        parsed = json.loads(line)
        seed = f"{self.batch_id}:{index}"
        line_id = "batch_req_" + stable_hex(seed, 32)
        record: dict[str, Any] = {
            "id": line_id,
            "custom_id": parsed["custom_id"],
            "response": None,
            "error": None,
        }
        if index >= self.ran:
            record["error"] = {"code": "batch_expired", "message": EXPIRED_MESSAGE}
            return OutputLine(True, _jsonl(record))
        request_id = "req_" + stable_hex(seed + ":request", 32)
        try:
            body = stable_ids(
                run_body(self.endpoint, parsed["body"], now=self.answered_at(index), cache=cache), seed
            )
        except ApiError as error:
            record["response"] = {"status_code": error.status, "request_id": request_id, "body": error.body()}
            return OutputLine(True, _jsonl(record))
        record["response"] = {"status_code": 200, "request_id": request_id, "body": body}
        return OutputLine(False, _jsonl(record), line_usage(self.endpoint, body))


def _jsonl(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"
